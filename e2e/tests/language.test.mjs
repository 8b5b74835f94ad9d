// The room in another language (Whereby's `lang`): the guest's way in and the host's People panel
// in French, with no English text of the catalog left on the screens; the call in German, French,
// Spanish and Dutch at every window size; the device check in four languages on a phone; the
// review's language picker; names and messages in a right-to-left script among our words.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { launch, opener, screenshot } from "../lib/browser.mjs";
import { TIMEOUT, enter, enterAsHost, knock, openPeople, knockerItem, noPageErrors } from "../lib/flows.mjs";
import { SIZES, callFitsSoon } from "../lib/checks.mjs";
import french from "../../web/js/lang/fr.js";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every tile's video is playing (for a screenshot that shows it). */
async function videosPlay(page) {
  await page.waitForFunction(() => [...document.querySelectorAll(".tile:not(.camera-off) video")].every((v) => v.readyState >= 2 && v.currentTime > 0), null, { timeout: TIMEOUT });
}

/** Nothing on the screen is wider than the screen (longer words than English's can push it). */
async function fitsItsScreen(page, what) {
  const overflow = await page.$eval(".screen", (screen) => screen.scrollWidth - screen.clientWidth);
  assert.ok(overflow <= 0, `${what}: the screen's content is ${overflow} px wider than the screen`);
}

/** The catalog's English texts of more than one word that French says otherwise, found on the page. */
async function englishLeft(page) {
  const shown = await page.evaluate(() => {
    const labels = [...document.querySelectorAll("[aria-label], [placeholder], [title]")]
      .map((el) => [el.getAttribute("aria-label"), el.getAttribute("placeholder"), el.getAttribute("title")].join("\n"));
    return [document.body.innerText, ...labels].join("\n");
  });
  return Object.entries(french)
    .filter(([english, translated]) => typeof translated === "string" && translated !== english && /\s/.test(english) && !english.includes("{"))
    .map(([english]) => english)
    .filter((english) => shown.includes(english));
}

test("the server's own address speaks the browser's language, or the link's lang", async (t) => {
  const open = opener(browser, t);
  const german = await open("landing in German", { viewport: { width: 390, height: 844 }, locale: "de-DE" });
  await german.goto(`${server.base}/`);
  await german.waitForSelector("#landing-intro:not(:empty)");
  assert.equal(await german.getAttribute("html", "lang"), "de");
  assert.match(await german.textContent("#landing-intro"), /Warteraum/);
  assert.equal(await german.textContent("#open-room"), "Raum öffnen");
  assert.match(await german.getAttribute("#room", "placeholder"), /raumname/);
  await german.fill("#room", "not a room!");
  await german.click("#open-room");
  assert.match(await german.textContent("#room-error"), /kein Link/);
  await fitsItsScreen(german, "the landing page in German on a phone");
  await screenshot(german, "landing-de-phone");
  const french = await open("landing with lang=fr", { locale: "de-DE" });
  await french.goto(`${server.base}/?lang=fr`);
  await french.waitForSelector("#landing-intro:not(:empty)");
  assert.equal(await french.getAttribute("html", "lang"), "fr");
  assert.equal(await french.textContent("#open-room"), "Ouvrir la salle");
  assert.deepEqual(await englishLeft(french), []);
  noPageErrors(german, french);
});

test("lang=fr: the pre-call review, the door, waiting, the host's People panel and the call in French", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  // Before its scripts have chosen the language (held back here), the page has no words at all.
  const early = await open("guest before the scripts");
  await early.route("**/assets/js/main.js", () => {});
  await early.goto(`${meeting.roomUrl}?lang=fr`, { waitUntil: "commit" });
  await early.waitForSelector(".loading-spinner", { timeout: TIMEOUT });
  assert.equal((await early.textContent("#app")).trim(), "", "no English before the language is known");
  const guest = await open("guest", { viewport: { width: 390, height: 844 } });
  const catalogs = [];
  guest.on("request", (request) => {
    if (request.url().includes("/js/lang/")) catalogs.push(new URL(request.url()).pathname);
  });
  await guest.goto(`${meeting.roomUrl}?lang=fr&displayName=Lou`);
  await guest.waitForSelector("#continue", { timeout: TIMEOUT });
  assert.equal(await guest.getAttribute("html", "lang"), "fr");
  assert.deepEqual(catalogs, ["/assets/js/lang/fr.js"], "the page fetches its own language's texts alone");
  assert.equal(await guest.textContent("#precall-title"), "Vérifiez votre caméra et votre micro");
  assert.equal(await guest.textContent("#continue"), "Continuer");
  assert.deepEqual(await englishLeft(guest), [], "the review");
  await fitsItsScreen(guest, "the review");
  await guest.click("#continue");
  await guest.waitForSelector("#knock", { timeout: TIMEOUT });
  assert.match(await guest.textContent("#knock"), /Frapper/);
  assert.deepEqual(await englishLeft(guest), [], "the door");
  await fitsItsScreen(guest, "the door");
  await screenshot(guest, "language-fr-door-390x844");
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status", { timeout: TIMEOUT });
  await guest.waitForFunction(() => document.querySelector("#place-in-line")?.textContent === "Vous êtes en tête de la file");
  assert.equal(await guest.textContent("h1"), "En attente d’entrer");

  // The host, in French too: the knock, and the answers to it.
  const host = await open("host", { viewport: { width: 1366, height: 657 } });
  const hostUrl = new URL(meeting.hostRoomUrl);
  hostUrl.searchParams.set("lang", "fr");
  hostUrl.searchParams.set("displayName", "Dr Martin");
  await host.goto(hostUrl.toString());
  await host.click("#continue");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await openPeople(host);
  const card = knockerItem(host, "Lou");
  await card.waitFor({ timeout: TIMEOUT });
  assert.deepEqual((await card.locator(".knock-actions button").allTextContents()).map((s) => s.trim()), ["Faire entrer", "Mettre en attente", "Refuser"]);
  // Longer than English: the answers keep one line, without their icons.
  const answerRows = await card.locator(".knock-actions button").evaluateAll((buttons) => new Set(buttons.map((b) => Math.round(b.getBoundingClientRect().top))).size);
  assert.equal(answerRows, 1, "a knock's three answers on one line");
  assert.equal(await host.textContent("#waiting-title"), "En attente d’entrer (1)");
  assert.deepEqual(await englishLeft(host), [], "the host's call with People open");
  await videosPlay(host);
  await screenshot(host, "language-fr-host-people-1366x657");

  await card.locator(".knock-message").fill("Deux minutes, s’il vous plaît");
  await card.locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])", { timeout: TIMEOUT });
  assert.equal(await guest.textContent("#waiting-status"), "Dr Martin a vu que vous avez frappé.");
  assert.deepEqual(await englishLeft(guest), [], "waiting, on hold");
  await fitsItsScreen(guest, "waiting, on hold");
  await screenshot(guest, "language-fr-on-hold-390x844");

  await card.locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.match(await guest.textContent("#leave"), /Quitter/);
  await guest.waitForFunction(() => document.querySelectorAll(".tile").length === 2);
  assert.deepEqual(await englishLeft(guest), [], "the guest's call");
  await videosPlay(guest);
  await screenshot(guest, "language-fr-call-390x844");
  // The chat's clock is the page's language's (French has no AM/PM; this browser's own locale is American English).
  await guest.click("#chat-toggle");
  await guest.fill("#chat-input", "Bonjour");
  await guest.press("#chat-input", "Enter");
  await guest.waitForSelector("#chat-panel time", { timeout: TIMEOUT });
  assert.match(await guest.textContent("#chat-panel time"), /^\d\d:\d\d$/);

  // Without lang, the browser's language (Chromium here speaks English).
  const plain = await open("plain");
  await plain.goto(`${meeting.roomUrl}?displayName=Sam`);
  await plain.waitForSelector("#continue", { timeout: TIMEOUT });
  assert.equal(await plain.getAttribute("html", "lang"), "en");
  assert.equal(await plain.textContent("#continue"), "Continue");
  noPageErrors(guest, host, plain);
});

test("the call fits every window in German, French, Spanish and Dutch, whose labels are longer than English's", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const host = await open("host de");
  const hostUrl = new URL(meeting.hostRoomUrl);
  hostUrl.searchParams.set("lang", "de");
  await enter(host, hostUrl.toString(), "Dr Weber");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.match(await host.textContent("#end-meeting"), /Für alle beenden/);
  // French as a host: the longest control bar (lock and End for all besides the rest).
  const guest = await open("host fr");
  await enter(guest, `${meeting.hostRoomUrl}&lang=fr`, "Dr Martin");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const spanish = await open("guest es");
  await enter(spanish, `${meeting.roomUrl}?lang=es`, "Ana");
  await spanish.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.match(await spanish.textContent("#leave"), /Salir/);
  const dutch = await open("guest nl");
  await enter(dutch, `${meeting.roomUrl}?lang=nl`, "Bram");
  await dutch.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.match(await dutch.textContent("#leave"), /Verlaten/);
  for (const size of SIZES) {
    for (const page of [host, guest, spanish, dutch]) await page.setViewportSize({ width: size.width, height: size.height });
    await callFitsSoon(host, `German at ${size.name}`);
    await callFitsSoon(guest, `French at ${size.name}`);
    await callFitsSoon(spanish, `Spanish at ${size.name}`);
    await callFitsSoon(dutch, `Dutch at ${size.name}`);
    await openPeople(host);
    await host.waitForSelector("#people-panel:not([hidden])");
    await callFitsSoon(host, `German at ${size.name}, People open`);
    await videosPlay(host);
    await screenshot(host, `language-de-people-${size.name}`);
    await host.keyboard.press("Escape");
    await host.waitForSelector("#people-panel", { state: "hidden" });
  }
  assert.deepEqual(await englishLeft(guest), [], "the French host's call");
  noPageErrors(host, guest, spanish, dutch);
});

test("the device check's steps keep their columns apart in Spanish, German, Italian and Portuguese on a phone, either way up", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  for (const [lang, width, height] of [["es", 390, 844], ["es", 844, 390], ["de", 390, 844], ["it", 390, 844], ["pt", 390, 844]]) {
    const page = await open(`check ${lang} ${width}x${height}`, { viewport: { width, height } });
    await page.goto(`${meeting.roomUrl}?lang=${lang}&displayName=Ana&precallCeremony=on`);
    // The speaker step asks whether a tone was heard: every column has something in it.
    await page.waitForSelector("#heard-yes", { timeout: 30000 });
    const clashes = await page.$$eval(".check li", (rows) => rows.flatMap((row) => {
      // A word wider than its column spills out of its box: its box's scroll width says so.
      const cells = [...row.children];
      const [name, status, detail] = cells.map((el) => el.getBoundingClientRect());
      const clash = cells.filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${row.dataset.step}: "${el.textContent}" spills out of its column`);
      if (name.right > status.left + 0.5) clash.push(`${row.dataset.step}: name runs into state`);
      if (status.right > detail.left + 0.5) clash.push(`${row.dataset.step}: state runs into detail`);
      return clash;
    }));
    assert.deepEqual(clashes, [], `${lang} at ${width}x${height}`);
    // Nor does what the screen holds grow wider than the screen (its right margin would go, and
    // what is beyond the window with it).
    await fitsItsScreen(page, `${lang} at ${width}x${height}`);
    await screenshot(page, `language-${lang}-device-check-${width}x${height}`);
    noPageErrors(page);
  }
});

test("the review's language picker shows the room again in the language chosen, the name typed kept; localization=off hides it", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const page = await open("picker", { viewport: { width: 390, height: 844 } });
  await page.goto(meeting.roomUrl);
  await page.waitForSelector("#language-picker", { timeout: TIMEOUT });
  assert.equal(await page.inputValue("#language-picker"), "en", "the browser's language");
  await page.fill("#display-name", "Joana");
  await page.selectOption("#language-picker", "pt");
  await page.waitForFunction(() => document.documentElement.lang === "pt", null, { timeout: TIMEOUT });
  await page.waitForSelector("#precall-title", { timeout: TIMEOUT });
  assert.equal(await page.textContent("#precall-title"), "Verifique sua câmera e seu microfone");
  assert.equal(await page.inputValue("#display-name"), "Joana", "the name typed is kept");
  assert.equal(await page.inputValue("#language-picker"), "pt");
  await fitsItsScreen(page, "the picker on a phone");
  await screenshot(page, "language-picker-pt-390x844");
  const fixed = await open("fixed");
  await fixed.goto(`${meeting.roomUrl}?lang=fr&localization=off`);
  await fixed.waitForSelector("#precall-title", { timeout: TIMEOUT });
  assert.equal(await fixed.locator("#language-picker").count(), 0, "localization=off: no picker");
  noPageErrors(page, fixed);
});

test("a name and a message in a right-to-left script keep their digits and stay apart from our words", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const name = "سارة أحمد 2";
  const host = await open("host");
  await enterAsHost(host, meeting, "ד״ר כהן");
  const guest = await open("guest", { viewport: { width: 390, height: 844 } });
  await knock(guest, meeting, name);
  // Isolated inside our sentence: unisolated, its "2" read as the sentence's ("2 سارة أحمد is knocking").
  await host.locator(".knock-toast").waitFor({ timeout: TIMEOUT });
  assert.match(await host.textContent(".knock-toast"), new RegExp(`^\u2068${name}\u2069 is knocking`));
  await openPeople(host);
  // The name reads right to left, and stays beside its avatar (on the left) all the same.
  const nameAt = await host.locator(".knocker-name").evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return [Math.round(range.getBoundingClientRect().left), Math.round(el.getBoundingClientRect().left)];
  });
  assert.ok(Math.abs(nameAt[0] - nameAt[1]) <= 1, `the knocker's name starts where its box does: ${nameAt}`);
  await knockerItem(host, name).locator(".knock-message").fill("لحظة من فضلك 5");
  await knockerItem(host, name).locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  assert.equal(await guest.getAttribute("#hold-message .hold-text", "dir"), "auto", "the host's words read in their own direction");
  assert.equal(await guest.textContent("#hold-message footer"), "— \u2068ד״ר כהן\u2069");
  await knockerItem(host, name).locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await guest.click("#chat-toggle");
  await guest.fill("#chat-input", "مرحبا 123");
  await guest.press("#chat-input", "Enter");
  await host.click("#chat-toggle");
  const line = host.locator("#chat-list li").first();
  await line.waitFor({ timeout: TIMEOUT });
  // The sender's name is one box, its "2" inside it, and the time after it (unisolated, the
  // name's "2" and the time's digits made one run: "2 09:12 سارة أحمد").
  const boxes = await line.evaluate((li) => {
    const nameBox = li.querySelector(".chat-name");
    return { nameRects: nameBox.getClientRects().length, nameRight: nameBox.getBoundingClientRect().right, timeLeft: li.querySelector("time").getBoundingClientRect().left };
  });
  assert.equal(boxes.nameRects, 1, "the name is not split around the time");
  assert.ok(boxes.timeLeft >= boxes.nameRight, `the time follows the name: ${JSON.stringify(boxes)}`);
  assert.equal(await line.locator(".chat-text").evaluate((p) => getComputedStyle(p).direction), "rtl", "an Arabic message reads right to left");
  await screenshot(host, "rtl-names-chat-1366x657");
  noPageErrors(host, guest);
});
