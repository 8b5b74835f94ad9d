// Every screen, at every size, photographed for review (e2e/output/screen-*.png, in the order a
// person meets them) and scanned by axe-core; the keyboard rules of the call; an unknown room said
// before any device is touched; the landing page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { launch, opener, screenshot } from "../lib/browser.mjs";
import { TIMEOUT, enter, enterAsHost, knock, openPeople, knockerItem, remoteVideosPlay, noPageErrors, until } from "../lib/flows.mjs";
import { SIZES, assertAccessible, assertReadable } from "../lib/checks.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(["--knock-reject-cooldown-secs", "30"]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Photographs the page at every size (then returns it to the first), after an accessibility scan;
 * the screen's one next step (`primary`, a selector), if it has one, is in view at every size
 * without scrolling.
 */
async function everySize(page, name, primary) {
  // As the person would be looking at it: Chromium defers media in a page that is not in front.
  await page.bringToFront();
  await assertAccessible(page, name);
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.waitForTimeout(80);
    await screenshot(page, `screen-${name}-${size.name}`);
    if (primary) {
      const box = await page.evaluate((selector) => {
        window.scrollTo(0, 0);
        for (const el of document.querySelectorAll("*")) el.scrollTop = 0;
        const { top, bottom } = document.querySelector(selector).getBoundingClientRect();
        return { top, bottom };
      }, primary);
      assert.ok(box.top >= 0 && box.bottom <= size.height, `at ${size.name}, ${primary} on ${name} is out of view (${box.top}–${box.bottom} of ${size.height} px)`);
    }
  }
  await page.setViewportSize({ width: SIZES[2].width, height: SIZES[2].height });
}

test("every screen a guest and a host meet, at every size, with no serious accessibility fault", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });

  const landing = await open("landing");
  await landing.goto(server.base + "/");
  await landing.waitForSelector("#landing-title");
  await everySize(landing, "00-landing");

  const guest = await open("guest");
  await guest.goto(`${meeting.roomUrl}?displayName=Pat%20Doe`);
  await guest.waitForSelector("#continue");
  await guest.waitForFunction(() => document.querySelector(".level-fill")?.style.width !== "0%", null, { timeout: TIMEOUT });
  await everySize(guest, "01-precall", "#continue");
  await guest.click("#continue");
  await guest.waitForSelector("#knock");
  await everySize(guest, "02-door", "#knock");

  const host = await open("host");
  await enterAsHost(host, meeting);
  await guest.click("#knock");
  await guest.waitForSelector("#place-in-line");
  // What the host sees the moment someone knocks, before doing anything.
  await host.waitForSelector("#people-badge:not([hidden])", { timeout: TIMEOUT });
  await everySize(host, "04-host-knock-arrives");
  await openPeople(host);
  await knockerItem(host, "Pat Doe").locator(".knock-message").fill("Two minutes, please");
  await knockerItem(host, "Pat Doe").locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  assert.match(await guest.textContent("#place-in-line"), /next in line/);
  await everySize(guest, "03-waiting", "#cancel-knock");
  await everySize(host, "04-host-people-open");

  await knockerItem(host, "Pat Doe").locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await guest.click("#chat-toggle");
  await guest.fill("#chat-input", "Hello, can you hear me?");
  await guest.press("#chat-input", "Enter");
  await guest.waitForSelector(".chat-text");
  await guest.bringToFront();
  await remoteVideosPlay(guest, 1);
  await everySize(guest, "05-call-guest-chat");

  // Sent back to the door by the host: the guest's waiting room says so.
  await host.locator(".participant", { hasText: "Pat Doe" }).locator(".more").click();
  await host.locator(".participant", { hasText: "Pat Doe" }).locator(".send-back").click();
  await guest.waitForFunction(() => document.querySelector("h1")?.textContent.includes("back in the waiting room"), null, { timeout: TIMEOUT });
  await everySize(guest, "06-sent-back");

  await knockerItem(host, "Pat Doe").locator(".knock-message").fill("Wrong day, sorry");
  await knockerItem(host, "Pat Doe").locator(".reject").click();
  await guest.waitForSelector("#reject-reason");
  await everySize(guest, "07-rejected");

  const unknown = await open("unknown room");
  await unknown.goto(`${server.base}/no-such-room-here`);
  await unknown.waitForSelector("[data-screen='unavailable']");
  await everySize(unknown, "08-unavailable");

  await host.click("#leave");
  await host.waitForSelector("#rejoin");
  await everySize(host, "09-left");
  await host.click("#rejoin");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await host.click("#end-meeting");
  await host.click("#end-meeting");
  await host.waitForSelector("[data-screen='ended']");
  await everySize(host, "10-ended");
  noPageErrors(landing, host, unknown);
});

test("a room's own colours keep its buttons and messages readable: a light primary, a dark secondary", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const room = meeting.roomName.replace(/^\//, "");
  const colors = { primary: "#ffe14d", secondary: "#222222" };
  const { status } = await server.api("PUT", `/v1/rooms/${room}/theme/tokens`, { tokens: { colors }, tokensPreset: "custom" });
  assert.equal(status, 204);
  const host = await open("host");
  await enterAsHost(host, meeting);
  const guest = await open("guest");
  await enter(guest, meeting.roomUrl, "Pat");
  await guest.waitForSelector("#knock", { timeout: TIMEOUT });
  // Text on the room's colours, and the primary as text on the page's cards, must read.
  const themed = "button.primary, button.secondary, blockquote.hold p, .place-in-line";
  const readable = async (page, label) => {
    await assertReadable(page, themed, label);
    await assertAccessible(page, label);
  };
  await readable(guest, "the door in a yellow and black room");
  await guest.click("#knock");
  await host.waitForSelector(".knock-toast button", { timeout: TIMEOUT });
  await readable(host, "a knock's toast in a yellow and black room");
  await openPeople(host);
  await knockerItem(host, "Pat").locator(".knock-message").fill("One moment, please");
  await knockerItem(host, "Pat").locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  await readable(guest, "on hold in a yellow and black room");
  await readable(host, "People in a yellow and black room");
  await screenshot(guest, "themed-yellow-black-waiting");
  await screenshot(host, "themed-yellow-black-people");
  noPageErrors(host, guest);
});

test("in full screen a host still sees a knock's toast and the connection banner, and acts on them", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  await host.click("#fullscreen-toggle");
  // (The button is relabelled on the browser's fullscreenchange, a moment after the element is set.)
  await host.waitForFunction(() => Boolean(document.fullscreenElement)
    && document.querySelector("#fullscreen-toggle").textContent.includes("Exit full screen"), null, { timeout: TIMEOUT });
  // Drawn, not only in the page: what the point at its middle finds is its own.
  const onTop = (selector) => host.locator(selector).evaluate((el) => {
    const r = el.getBoundingClientRect();
    return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
  });
  const guest = await open("guest");
  await knock(guest, meeting, "Pat");
  await host.waitForSelector(".knock-toast", { timeout: TIMEOUT });
  assert.ok(await onTop(".knock-toast button"), "the knock's Open People is seen in full screen");
  await host.click(".knock-toast button");
  await host.waitForSelector("#people-panel:not([hidden])");
  assert.ok(await host.evaluate(() => Boolean(document.fullscreenElement)), "still in full screen");
  await host.context().setOffline(true);
  await host.waitForSelector("#connection-banner:not([hidden])", { timeout: TIMEOUT });
  assert.ok(await onTop("#connection-banner"), "the connection banner is seen in full screen");
  await host.context().setOffline(false);
  await host.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  await host.click("#fullscreen-toggle");
  await host.waitForFunction(() => !document.fullscreenElement);
  noPageErrors(host, guest);
});

test("an unknown room is said before the device check; no camera is asked for", async (t) => {
  const page = await opener(browser, t)("unknown");
  await page.addInitScript(() => {
    window.mediaRequests = 0;
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => {
      window.mediaRequests += 1;
      return getUserMedia(constraints);
    };
  });
  await page.goto(`${server.base}/never-made-room`);
  await page.waitForSelector("[data-screen='unavailable']");
  assert.match(await page.textContent("h1"), /not available/);
  assert.equal(await page.evaluate(() => window.mediaRequests), 0);
  assert.equal(await page.locator("#continue").count(), 0, "no device check for a room that is not there");
  noPageErrors(page);
});

test("a browser without WebRTC is told so before anything is asked of it, with the room's link to open elsewhere", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const host = await open("host");
  await enterAsHost(host, meeting);
  const page = await open("no webrtc");
  await page.addInitScript(() => {
    delete window.RTCPeerConnection;
    delete window.webkitRTCPeerConnection;
    window.mediaRequests = 0;
    navigator.mediaDevices.getUserMedia = async () => {
      window.mediaRequests += 1;
      throw new DOMException("not in this test", "NotAllowedError");
    };
  });
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(server.base).origin });
  await page.goto(meeting.hostRoomUrl);
  await page.waitForSelector("[data-screen='unavailable']");
  assert.equal(await page.textContent("h1"), "This browser cannot join calls");
  assert.equal(await page.evaluate(() => window.mediaRequests), 0, "no device is asked for");
  await everySize(page, "11-browser-unsupported", "#copy-room-link");
  await page.setViewportSize({ width: 1366, height: 657 });
  await page.click("#copy-room-link");
  await page.locator(".toast", { hasText: "Link copied" }).waitFor({ timeout: TIMEOUT });
  const link = new URL(await page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(link.origin + link.pathname, meeting.roomUrl, "the room's own link");
  assert.equal(link.searchParams.get("roomKey"), new URL(meeting.hostRoomUrl).searchParams.get("roomKey"), "with the host's key");
  // Passing notes pile up no higher than three: the oldest gives way.
  for (let i = 0; i < 4; i += 1) await page.click("#copy-room-link");
  const copied = () => page.locator(".toast", { hasText: "Link copied" }).count();
  await until(async () => ((await copied()) >= 3 ? true : undefined), "the notes are shown");
  await page.waitForTimeout(500);
  assert.equal(await copied(), 3, "five notes, three shown");
  // Nobody came in: the host is alone.
  await host.waitForTimeout(500);
  assert.equal(await host.locator(".tile").count(), 1);
  noPageErrors(page, host);
});

/** What has focus: its id, class and label, and whether it is a button that sends someone away. */
async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      tag: el.tagName.toLowerCase(),
      id: el.id,
      label: el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40),
      inPeople: Boolean(el.closest("#people-panel")),
      inChat: Boolean(el.closest("#chat-panel")),
      destructive: el.matches(".remove, .reject, .send-back, #leave, #end-meeting"),
      outline: getComputedStyle(el).outlineStyle,
    };
  });
}

/**
 * With two people waiting, People shows both cards whole on a laptop (1366×657) and on a phone,
 * each with its three decisions on one line, and who is in the room below them: no scrolling to
 * reach the second person's buttons, nor to see who is already in.
 */
async function twoKnockersFit(host) {
  for (const size of [SIZES[2], SIZES[4]]) {
    await host.setViewportSize({ width: size.width, height: size.height });
    await host.waitForTimeout(80);
    await screenshot(host, `people-two-knockers-${size.name}`);
    const inRoomSeen = await host.evaluate(() => {
      const view = document.querySelector("#people-panel .panel-body").getBoundingClientRect();
      const box = document.querySelector("#participants .participant").getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    });
    assert.ok(inRoomSeen, `at ${size.name}, the first person in the room is out of the panel's view`);
    assert.equal(await host.locator("#desktop-alerts").isVisible(), true, "the offer of alerts is there too");
    const cards = await host.evaluate(() => {
      const view = document.querySelector("#people-panel .panel-body").getBoundingClientRect();
      return [...document.querySelectorAll(".knocker")].map((card) => ({
        name: card.querySelector(".knocker-name").textContent,
        buttons: [...card.querySelectorAll(".say, .let-in, .hold, .reject")].map((button) => {
          const box = button.getBoundingClientRect();
          return {
            label: button.textContent.trim() || button.getAttribute("aria-label"),
            top: Math.round(box.top),
            seen: box.top >= view.top && box.bottom <= view.bottom,
          };
        }),
      }));
    });
    assert.equal(cards.length, 2);
    for (const card of cards) {
      for (const button of card.buttons) {
        assert.ok(button.seen, `at ${size.name}, ${card.name}'s "${button.label}" is out of the panel's view: ${JSON.stringify(cards)}`);
      }
      const decisions = card.buttons.filter((button) => !button.label.startsWith("Send"));
      assert.equal(decisions.length, 3);
      assert.equal(new Set(decisions.map((button) => button.top)).size, 1, `at ${size.name}, ${card.name}'s decisions are on one line: ${JSON.stringify(decisions)}`);
    }
  }
  await host.setViewportSize({ width: SIZES[2].width, height: SIZES[2].height });
}

test("a room opened at an address the server does not take its rooms at says so, and leads to the room at the server's own", async (t) => {
  // "lan.test" is this machine too (loopback), under a name the server was not told of: as a
  // server reached by its network address while its public URL names another.
  const elsewhere = await launch({ args: ["--host-resolver-rules=MAP lan.test 127.0.0.1"] });
  t.after(() => elsewhere.close());
  const meeting = await server.meeting({ isLocked: true });
  const page = await opener(elsewhere, t)("host elsewhere");
  const address = new URL(meeting.hostRoomUrl);
  address.hostname = "lan.test";
  await page.goto(address.href);
  await page.waitForSelector("[data-screen='unavailable']", { timeout: TIMEOUT });
  assert.equal(await page.textContent("h1"), "This room is at another address");
  const there = new URL(await page.getAttribute("#room-elsewhere", "href"));
  assert.equal(there.origin, new URL(server.base).origin);
  assert.equal(there.pathname, address.pathname);
  assert.equal(there.searchParams.get("roomKey"), address.searchParams.get("roomKey"), "the host's key goes along");
  await everySize(page, "room-elsewhere", "#room-elsewhere");
  await page.click("#room-elsewhere");
  await page.waitForSelector("#continue", { timeout: TIMEOUT });
  await page.fill("#display-name", "Dr Host");
  await page.click("#continue");
  await page.waitForSelector("#end-meeting", { timeout: TIMEOUT });
  noPageErrors(page);
});

test("a page whose WebSocket never gets through (a proxy that drops upgrades) says it cannot reach the room, and goes on once it can", async (t) => {
  const page = await opener(browser, t)("blocked");
  let blocked = true;
  // Every upgrade is taken and closed before the server's hello, as a proxy that passes no
  // WebSocket through, until the way is open again.
  await page.routeWebSocket(/\/v1\/signal/, (ws) => {
    if (blocked) ws.close();
    else ws.connectToServer();
  });
  const meeting = await server.meeting({ isLocked: true });
  await page.goto(meeting.roomUrl);
  const status = page.locator("p.loading[role='status']");
  await status.filter({ hasText: "Cannot reach" }).waitFor({ timeout: TIMEOUT });
  assert.equal(await status.textContent(), "Cannot reach Meeting room. Trying again…");
  await everySize(page, "unreachable");
  blocked = false;
  await page.waitForSelector("#continue", { timeout: TIMEOUT });
  noPageErrors(page);
});

test("keyboard: focus moves into panels and back, Escape closes, never onto a destructive button by surprise", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  // As a desktop Chrome that has not yet been asked (headless Chromium has said no already): the
  // panel offers its alerts until the host answers.
  await host.addInitScript(() => Object.defineProperty(Notification, "permission", { get: () => "default" }));
  await enterAsHost(host, meeting);
  const arrived = await focused(host);
  assert.notEqual(arrived.tag, "body", "entering the call puts focus somewhere, not on <body>");
  assert.equal(arrived.tag, "h1");

  const guests = [];
  for (const name of ["Ann Lee", "Bob Ray"]) {
    const guest = await open(name);
    await knock(guest, meeting, name);
    guests.push(guest);
  }
  // The panel is closed; the tab's title counts who waits (the list is drawn as the panel opens).
  await host.waitForFunction(() => document.title.startsWith("(2)"), null, { timeout: TIMEOUT });
  await host.focus("#people-toggle");
  await host.keyboard.press("Enter");
  const opened = await focused(host);
  assert.ok(opened.inPeople, `opening People moves focus into it: ${JSON.stringify(opened)}`);
  await twoKnockersFit(host);

  await host.locator(".knocker", { hasText: "Ann Lee" }).locator(".let-in").focus();
  assert.equal((await focused(host)).outline, "solid", "keyboard focus is visible");
  await host.keyboard.press("Enter");
  await guests[0].waitForSelector(".screen.call", { timeout: TIMEOUT });
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  const afterAdmit = await focused(host);
  assert.ok(afterAdmit.inPeople && !afterAdmit.destructive, `after "Let in", focus stays in the panel on something safe: ${JSON.stringify(afterAdmit)}`);
  assert.match(afterAdmit.label, /Let in|People/, "on the next person's Let in, or the heading");
  await host.keyboard.press("Tab");
  const next = await focused(host);
  assert.ok(!next.destructive, `the Tab after admitting lands on ${JSON.stringify(next)}`);
  // Going on through the panel, nothing sends the person just admitted away without a second step.
  for (let i = 0; i < 10; i++) {
    await host.keyboard.press("Tab");
    const later = await focused(host);
    assert.ok(!(later.destructive && /Ann Lee/.test(later.label)), `Tab lands on ${JSON.stringify(later)}`);
  }

  await host.keyboard.press("Escape");
  await host.waitForSelector("#people-panel", { state: "hidden" });
  assert.equal((await focused(host)).id, "people-toggle", "closing gives focus back to the button");

  await host.focus("#chat-toggle");
  await host.keyboard.press("Enter");
  assert.ok((await focused(host)).inChat, "chat takes focus when it opens");
  for (let i = 0; i < 4 && (await focused(host)).id !== "chat-input"; i++) await host.keyboard.press("Tab");
  assert.equal((await focused(host)).id, "chat-input", "the message field is a few Tabs into the panel");
  await host.keyboard.type("Typed with the keyboard");
  await host.keyboard.press("Enter");
  await guests[0].waitForFunction(() => [...document.querySelectorAll(".chat-text")].some((p) => p.textContent === "Typed with the keyboard"), null, { timeout: TIMEOUT });
  await host.keyboard.press("Escape");
  assert.equal((await focused(host)).id, "chat-toggle");
  noPageErrors(host, ...guests);
});

test("the room key leaves the address bar once read; a reload of the tab still knows it", async (t) => {
  const host = await opener(browser, t)("host");
  const meeting = await server.meeting({ isLocked: true });
  await enterAsHost(host, meeting);
  assert.ok(host.url().startsWith(meeting.roomUrl), host.url());
  assert.ok(!host.url().includes("roomKey"), `no key in ${host.url()}`);
  assert.ok(!(await host.evaluate(() => document.body.innerHTML.includes("roomKey"))));
  await host.reload();
  await host.waitForSelector("#continue");
  await host.click("#continue");
  await host.waitForSelector("#end-meeting", { timeout: TIMEOUT });
  noPageErrors(host);
});

test("the call is told five minutes and one minute before its room closes (an hour after the end date), in a note and to screen readers", async (t) => {
  const open = opener(browser, t);
  const endDate = new Date(Date.now() + 60_000);
  const closesAt = endDate.getTime() + 60 * 60_000;
  const meeting = await server.meeting({ endDate: endDate.toISOString() });
  const host = await open("host");
  // The page's clock, moved on by the test: the server's own closing is an hour away.
  await host.clock.install();
  await enterAsHost(host, meeting);
  const noted = () => host.locator(".toast.closing").allTextContents();
  assert.deepEqual(await noted(), [], "nothing said an hour before");
  const toWithin = async (msBefore) => host.clock.fastForward(closesAt - msBefore - await host.evaluate(() => Date.now()));
  await toWithin(5 * 60_000 - 1000);
  await host.waitForSelector(".toast.closing");
  assert.deepEqual(await noted(), ["This meeting ends in 5 minutes."]);
  await host.waitForFunction(() => document.getElementById("announcer").textContent === "This meeting ends in 5 minutes.");
  await screenshot(host, "closing-soon");
  await toWithin(60_000 - 1000);
  await host.waitForFunction(() => [...document.querySelectorAll(".toast.closing")].some((note) => note.textContent === "This meeting ends in 1 minute."));
  // (The first note went after its 30 s; the second is said once.)
  assert.deepEqual(await noted(), ["This meeting ends in 1 minute."]);
  assert.ok(await host.locator(".screen.call").isVisible(), "still in the call");
  noPageErrors(host);
});

test("in a contrast theme (forced colours) every icon is drawn in the system's colours, and an open panel's button is marked", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await host.emulateMedia({ forcedColors: "active" });
  await enterAsHost(host, meeting);
  await host.click("#people-toggle");
  await host.waitForSelector("#people-panel:not([hidden])");
  // An icon is a mask painted with its background colour: it shows only if that colour is the
  // system's text colour of what it is in (in a button, the button's text; elsewhere, the page's).
  const unseen = await host.evaluate(() => [...document.querySelectorAll(".icon")].filter((icon) => icon.offsetParent).flatMap((icon) => {
    const holder = icon.closest("button, a") ?? document.body;
    const drawn = getComputedStyle(icon).backgroundColor;
    return drawn === getComputedStyle(holder).color ? [] : [`${holder.id || holder.className}: ${drawn} on ${getComputedStyle(holder).color}`];
  }));
  assert.deepEqual(unseen, [], "every icon in the system's text colour");
  assert.equal(await host.locator("#people-toggle").evaluate((b) => getComputedStyle(b).outlineStyle), "solid", "the open panel's button is marked");
  // A tile's edge is a colour of its own, forced away: without a picture it had none.
  assert.equal(await host.locator(".tile").first().evaluate((tile) => getComputedStyle(tile).outlineStyle), "solid", "a tile has an edge");
  await screenshot(host, "call-forced-colors");
  await host.emulateMedia({ forcedColors: "active", colorScheme: "dark" });
  await screenshot(host, "call-forced-colors-dark");
  noPageErrors(host);
});
