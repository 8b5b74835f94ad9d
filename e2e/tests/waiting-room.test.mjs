// The waiting room in real Chromium against the real server: knock, hold, admit, reject, cancel,
// hosts in step, lock, and a call with real audio and video.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { startRelay } from "../lib/relay.mjs";
import { keepsScreenOn, launch, openDevices, opener, recordDeviceTracks, recordWakeLocks, screenshot } from "../lib/browser.mjs";
import { crowdJoins } from "../lib/crowd.mjs";
import {
  TIMEOUT, enter, enterAsHost, knock, openPeople, knockerItem, knockerNames,
  remoteVideosPlay, remoteAudioHeard, noPageErrors, noPageErrorsBut, clientIdOf, until,
} from "../lib/flows.mjs";

let server;
let browser;

before(async () => {
  server = await startServer(["--knock-reject-cooldown-secs", "3"]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a host holds a guest with a message, then lets them in; both see and hear each other", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  const guest = await open("guest");

  // Record every tone the host's page plays, to hear the knock chime.
  await host.addInitScript(() => {
    window.tones = [];
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...args) {
      window.tones.push({ frequency: this.frequency.value, state: this.context.state });
      return start.apply(this, args);
    };
  });
  await host.goto(`${meeting.hostRoomUrl}&displayName=Dr%20Host`);
  await host.waitForSelector("#continue");
  await host.waitForFunction(() => document.querySelector(".level-fill")?.style.width !== "0%", null, { timeout: TIMEOUT });
  await screenshot(host, "01-precall-review");
  await host.click("#continue");
  await host.waitForSelector(".screen.call");

  await guest.addInitScript(recordWakeLocks);
  await guest.goto(`${meeting.roomUrl}?displayName=Pat`);
  await guest.waitForSelector("#continue");
  assert.equal(await guest.inputValue("#display-name"), "Pat", "the name is prefilled from displayName");
  await guest.click("#continue");
  await guest.waitForSelector("#knock");
  await screenshot(guest, "02-knock-page");
  assert.equal(await keepsScreenOn(guest), false, "the screen may dim at the door");
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status");
  // Waiting (a phone left on the table must not lock and miss the host), and in the call.
  await until(async () => ((await keepsScreenOn(guest)) ? true : undefined), "the screen kept on while waiting");

  // The host sees the knock at once: a badge, a notice, the screen reader hears it.
  await host.waitForSelector("#people-badge:not([hidden])", { timeout: TIMEOUT });
  assert.equal(await host.textContent("#people-badge"), "1");
  await host.waitForFunction(() => document.getElementById("announcer").textContent.includes("Pat is knocking"));
  assert.match(await host.textContent("#toasts"), /Pat is knocking/);
  assert.match(await host.title(), /^\(1\) waiting/, "the tab's title counts who waits");
  const tones = await host.evaluate(() => window.tones);
  assert.deepEqual(tones.map((t) => t.frequency), [660, 880], "the knock chime plays");
  assert.ok(tones.every((t) => t.state === "running"), `the chime's audio is running: ${JSON.stringify(tones)}`);
  assert.match(await host.getAttribute("link[rel~='icon']", "href"), /^data:image\/png/, "the tab's icon carries the count");
  await openPeople(host);
  assert.deepEqual(await knockerNames(host), ["Pat"]);
  // How long they have waited (kept current while People is open), the time of the knock on hover.
  assert.equal(await knockerItem(host, "Pat").locator(".waited").textContent(), "just now");
  assert.match(await knockerItem(host, "Pat").locator(".waited").getAttribute("title"), /^Knocked at \d{1,2}:\d{2}/);
  // People shows the knock: its notice (which offers to open People) is out of the way, and back
  // if People is closed before the knock is answered.
  assert.equal(await host.locator(".knock-toast").isVisible(), false, "no knock notice over an open People");
  await host.click("#people-toggle");
  assert.equal(await host.locator(".knock-toast").isVisible(), true, "the knock notice is back with People closed");
  await openPeople(host);
  await screenshot(host, "03-host-people-panel");

  await knockerItem(host, "Pat").locator(".knock-message").fill("Running 5 minutes late");
  await knockerItem(host, "Pat").locator(".hold").click();
  // Answered (a hold is an answer): the notice goes; the title still counts Pat, who still waits.
  await host.waitForFunction(() => !document.getElementById("toasts").textContent.includes("Pat is knocking"));
  await guest.waitForSelector("#hold-message:not([hidden])");
  assert.equal(await guest.textContent("#hold-message .hold-text"), "Running 5 minutes late");
  assert.match(await guest.textContent("#hold-message .hold-by"), /Dr Host/);
  await screenshot(guest, "04-waiting-on-hold");
  await host.waitForFunction(() => document.querySelector(".knocker .knock-state")?.textContent.includes("Running 5 minutes late"));

  // A message without a decision: Enter in the person's field, and the send button for everyone.
  await knockerItem(host, "Pat").locator(".knock-message").fill("Nearly there");
  await knockerItem(host, "Pat").locator(".knock-message").press("Enter");
  await host.fill(".message-all", "Thanks for waiting, all");
  await host.click(".all-actions button[type='submit']");
  await guest.waitForFunction(() => {
    const said = document.getElementById("host-messages")?.textContent || "";
    return said.includes("Nearly there") && said.includes("Thanks for waiting, all");
  }, null, { timeout: TIMEOUT });
  assert.equal(await knockerItem(host, "Pat").locator(".knock-message").inputValue(), "", "the field empties once sent");
  assert.match(await guest.textContent("#hold-message .hold-text"), /Running 5 minutes late/, "still on hold: a message is no decision");

  await knockerItem(host, "Pat").locator(".let-in").click();
  await host.waitForFunction(() => !document.title.startsWith("("));
  assert.equal(await host.getAttribute("link[rel~='icon']", "href"), "/assets/favicon.svg");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await guest.getAttribute("#app", "data-screen"), "call", "admitted without a reload");
  await remoteVideosPlay(host, 1);
  await remoteVideosPlay(guest, 1);
  await remoteAudioHeard(host, 1);
  await remoteAudioHeard(guest, 1);
  await screenshot(host, "05-call-host");
  await screenshot(guest, "06-call-guest");
  assert.equal(await keepsScreenOn(guest), true, "the screen kept on in the call");

  // Insights: the guest's browser told the server what its connection carried, every 2 s; the
  // guest's stay has it once the guest has left.
  const guestId = await clientIdOf(guest);
  await guest.waitForTimeout(4500);
  await guest.click("#leave");
  await until(async () => ((await keepsScreenOn(guest)) ? undefined : true), "the screen may dim once out of the call");
  const stay = await server.stayWithSamples(meeting.roomName, guestId);
  t.diagnostic(`Pat's samples: sent ${stay.samples.bitrateSend.join(" ")}; received ${stay.samples.bitrateRecv.join(" ")} bit/s`);
  assert.equal(stay.sampleRateMs, 2000);
  assert.ok(stay.samples.bitrateSend.length >= 2, JSON.stringify(stay.samples));
  assert.ok(stay.samples.bitrateSend.some((bps) => bps > 100_000), `a camera and a voice sent: ${JSON.stringify(stay.samples)}`);
  assert.ok(stay.samples.bitrateRecv.some((bps) => bps > 100_000), `the host's received: ${JSON.stringify(stay.samples)}`);
  assert.ok([...stay.samples.packetLossSend, ...stay.samples.packetLossRecv].every((p) => p >= 0 && p < 5), "next to no loss on loopback");
  noPageErrors(host, guest);
});

test("a rejection shows the host's reason and a cooldown; the camera and microphone close meanwhile, and come back as they were", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  // Sam's devices open with the page; Kit's (skipMediaPermissionPrompt) once Kit turns them on.
  const guests = [];
  for (const [name, query, onReview] of [["Sam", "", async () => {}], ["Kit", "?skipMediaPermissionPrompt=on", (page) => page.getByText("Turn on camera and microphone").click()]]) {
    const guest = await open(name);
    await guest.addInitScript(recordDeviceTracks);
    await enter(guest, `${meeting.roomUrl}${query}`, name, onReview);
    await guest.waitForSelector("#knock", { timeout: TIMEOUT });
    await until(async () => ((await openDevices(guest)).length === 2 ? true : undefined), `${name}'s camera and microphone open`);
    // The guest turns the camera off at the door: it stays off through all that follows.
    await guest.click("#door-camera");
    await guest.click("#knock");
    await guest.waitForSelector("#waiting-status", { timeout: TIMEOUT });
    assert.deepEqual(await openDevices(guest), ["audio"], `${name} waits with the camera turned off`);
    guests.push([guest, name]);
  }
  await openPeople(host);
  for (const [, name] of guests) {
    await knockerItem(host, name).locator(".knock-message").fill("Wrong appointment, sorry");
    await knockerItem(host, name).locator(".reject").click();
  }
  for (const [guest, name] of guests) {
    await guest.waitForSelector("#reject-reason");
    assert.match(await guest.textContent("#reject-reason"), /Wrong appointment, sorry/);
    assert.ok(await guest.isDisabled("#knock-again"), "knocking again waits for the cooldown");
    assert.match(await guest.textContent("#retry-wait"), /in \d+ s/);
    if (name === "Sam") await screenshot(guest, "07-rejected");
    // Turned away, with no picture of themself on the screen, the person's devices are closed.
    await until(async () => ((await openDevices(guest)).length === 0 ? true : undefined), `${name}'s microphone closes on the rejection`);
  }
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 0);
  for (const [guest, name] of guests) {
    await guest.waitForSelector("#knock-again:not([disabled])", { timeout: 6000 });
    await guest.click("#knock-again");
    await guest.waitForSelector("#waiting-status", { timeout: TIMEOUT });
    // (One ask opens both, when both are wanted.)
    await until(async () => ((await openDevices(guest)).includes("audio") ? true : undefined), `${name}'s microphone opens again with the knock`);
    assert.deepEqual(await openDevices(guest), ["audio"], `${name}'s camera stays off as the person left it`);
    await until(async () => ((await knockerNames(host)).includes(name) ? true : undefined), `the host sees ${name}'s knock again`);
  }
  noPageErrors(host, ...guests.map(([guest]) => guest));
});

test("a full room: the devices close, and Try again opens them as the person left them", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const crowd = await open("crowd");
  // Four people fill a normal room.
  await crowdJoins(crowd, server.base, meeting.roomName, ["Ann", "Ben", "Cy", "Di"]);
  const guest = await open("guest");
  await guest.addInitScript(recordDeviceTracks);
  await enter(guest, meeting.roomUrl, "Eve", async (page) => {
    await until(async () => ((await openDevices(page)).length === 2 ? true : undefined), "the review opens both");
    assert.ok(await page.locator("#preview-off").isHidden(), "a picture, no words over it");
    await page.click("#precall-camera");
    await page.locator("#preview-off", { hasText: "Your camera is off" }).waitFor();
    assert.ok(await page.locator("video.preview").isHidden());
  });
  await guest.waitForSelector("#rejoin", { timeout: TIMEOUT });
  assert.match(await guest.textContent("#app"), /This room is full/);
  await until(async () => ((await openDevices(guest)).length === 0 ? true : undefined), "the microphone closes on the full room's screen");
  await crowd.evaluate(() => window.crowd.find((ws) => ws.readyState === 1).send(JSON.stringify({ type: "leave_room" })));
  await guest.click("#rejoin");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await until(async () => ((await openDevices(guest)).includes("audio") ? true : undefined), "the microphone opens again in the call");
  assert.deepEqual(await openDevices(guest), ["audio"], "the camera stays off as the person left it on the review");
  assert.match(await guest.textContent("#camera-toggle"), /^Start video/);
  noPageErrors(guest);
});

test("a guest cancels; knocks made before any host wait for the first one", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const early = await open("early guest");
  const canceller = await open("canceller");
  // Nobody is there to see a knock yet, and the pages say so rather than that a host was told.
  await enter(early, meeting.roomUrl, "Early Bird");
  await early.waitForSelector("#knock", { timeout: TIMEOUT });
  assert.match(await early.textContent("#door-hint"), /^No host is here yet/);
  await early.click("#knock");
  await early.waitForSelector("#waiting-status", { timeout: TIMEOUT });
  assert.match(await early.textContent("#waiting-status"), /^No host is here yet/);
  await screenshot(early, "10-waiting-before-any-host");
  await knock(canceller, meeting, "Changed Mind");
  const host = await open("host");
  // The host's computer's clock is ten minutes fast: how long a knocker waited is the server's word.
  await host.clock.install({ time: Date.now() + 10 * 60_000 });
  await enterAsHost(host, meeting);
  await early.waitForFunction(() => document.getElementById("waiting-status").textContent === "A host has been told you are here.");
  await early.waitForFunction(() => document.getElementById("announcer").textContent.includes("A host is here now"));
  await openPeople(host);
  assert.deepEqual(await knockerNames(host), ["Early Bird", "Changed Mind"], "oldest first");
  await canceller.click("#cancel-knock");
  await canceller.waitForSelector("#knock");
  assert.equal(await canceller.textContent("#door-hint"), "Knock, and a host will let you in.");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  assert.deepEqual(await knockerNames(host), ["Early Bird"]);
  // The host's People says how long Early Bird has waited, and keeps it current.
  assert.equal(await host.textContent(".knocker .waited"), "just now");
  await host.clock.fastForward("04:00");
  await host.waitForFunction(() => document.querySelector(".knocker .waited").textContent === "4 min");
  noPageErrors(host, early, canceller);
});

test("a knocker looking at another tab is called back: the tab's title says the host's message, then that they are let in", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  const guest = await open("guest");
  await knock(guest, meeting, "Pat");
  const title = await guest.title();
  // The tab is put behind another (as the browser says of a tab not shown).
  const hidden = (yes) => guest.evaluate((yes) => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => yes });
    document.dispatchEvent(new Event("visibilitychange"));
  }, yes);
  await hidden(true);
  await openPeople(host);
  await knockerItem(host, "Pat").locator(".knock-message").fill("Two more minutes");
  await knockerItem(host, "Pat").locator(".hold").click();
  await guest.waitForFunction((title) => document.title === `Dr Host: Two more minutes · ${title}`, title, { timeout: TIMEOUT });
  await hidden(false);
  assert.equal(await guest.title(), title, "looked at, the tab's title is the room's again");
  await hidden(true);
  await knockerItem(host, "Pat").locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await guest.title(), `A host let you in · ${title}`);
  await hidden(false);
  assert.equal(await guest.title(), title);
  noPageErrors(host, guest);
});

test("two hosts: when one decides, the other's list updates", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const first = await open("first host");
  const second = await open("second host");
  await enterAsHost(first, meeting, "Dr One");
  await enterAsHost(second, meeting, "Dr Two");
  const guests = [];
  for (const name of ["Ann", "Ben"]) {
    const guest = await open(name);
    await knock(guest, meeting, name);
    guests.push(guest);
  }
  await openPeople(first);
  await openPeople(second);
  await second.waitForFunction(() => document.querySelectorAll(".knocker").length === 2);
  await knockerItem(first, "Ann").locator(".let-in").click();
  await second.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  assert.deepEqual(await knockerNames(second), ["Ben"]);
  await guests[0].waitForSelector(".screen.call");
  // Admit all, from the other host.
  await second.click("#admit-all");
  await guests[1].waitForSelector(".screen.call");
  await first.waitForFunction(() => document.querySelectorAll(".knocker").length === 0);
  await first.waitForFunction(() => document.querySelectorAll(".participant").length === 4);
  noPageErrors(first, second, ...guests);
});

test("lock and unlock at runtime (unlocked, whoever stands at the door comes in; a knock stays in line); locking=off hides the toggle", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  assert.equal(await host.textContent("#lock-toggle .label"), "Unlock room");
  const atDoor = await open("at the door");
  await enter(atDoor, meeting.roomUrl, "Door");
  await atDoor.waitForSelector("#knock");
  const knocker = await open("knocker");
  await knock(knocker, meeting, "Knocker");
  await host.click("#lock-toggle");
  await host.waitForFunction(() => document.querySelector("#lock-toggle .label").textContent === "Lock room");
  await atDoor.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await knocker.waitForTimeout(500);
  assert.ok(await knocker.locator("#cancel-knock").isVisible(), "the knock waits for a host");
  await openPeople(host);
  assert.deepEqual(await knockerNames(host), ["Knocker"]);
  const walkIn = await open("walk-in");
  await enter(walkIn, meeting.roomUrl, "Walk In");
  await walkIn.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await host.click("#lock-toggle");
  await walkIn.waitForFunction(() => document.getElementById("announcer").textContent.includes("locked"));
  const late = await open("late");
  await enter(late, meeting.roomUrl, "Late");
  await late.waitForSelector("#knock");

  const noLocking = await open("host without lock");
  await enter(noLocking, `${meeting.hostRoomUrl}&locking=off`, "Dr Other");
  await noLocking.waitForSelector(".screen.call");
  assert.equal(await noLocking.locator("#lock-toggle").count(), 0);
  noPageErrors(host, atDoor, knocker, walkIn, late, noLocking);
});

test("three guests in a mesh see each other", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const pages = [];
  for (const name of ["Ada", "Bo", "Cy"]) {
    const page = await open(name);
    await enter(page, meeting.roomUrl, name);
    await page.waitForSelector(".screen.call", { timeout: TIMEOUT });
    pages.push(page);
  }
  await Promise.all(pages.map((page) => remoteVideosPlay(page, 2)));
  await screenshot(pages[2], "08-mesh-of-three");
  // Someone leaves: the others see it live.
  await pages[0].click("#leave");
  await pages[0].waitForSelector(".screen.message");
  await pages[1].waitForFunction(() => document.querySelectorAll(".tile").length === 2);
  await pages[0].waitForSelector("#rejoin");
  noPageErrors(...pages);
  for (const page of pages) await page.context().close();
});

test("names and messages people type stay text; their web addresses are links", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const markup = "<img src=x onerror=window.pwned=1>";
  const guest = await open("guest");
  await guest.goto(`${meeting.roomUrl}?displayName=${encodeURIComponent(markup)}`);
  await guest.waitForSelector("#continue");
  // The rules refuse such a name, and say so in plain text.
  await guest.click("#continue");
  assert.match(await guest.textContent("#name-error"), /may not contain “<”/);
  assert.equal(await guest.inputValue("#display-name"), markup, "the name is shown as typed, as text");
  await guest.fill("#display-name", "Eve");
  await guest.click("#continue");
  await guest.click("#knock");
  const host = await open("host");
  await enterAsHost(host, meeting);
  await openPeople(host);
  await knockerItem(host, "Eve").locator(".knock-message").fill(markup);
  await knockerItem(host, "Eve").locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  assert.equal(await guest.textContent("#hold-message .hold-text"), markup);
  // A form to fill in while waiting: its address is a link, opening beside the room.
  await knockerItem(host, "Eve").locator(".knock-message").fill("Please fill in https://clinic.example/form?visit=42 first.");
  await knockerItem(host, "Eve").locator(".hold").click();
  const formLink = guest.locator("#hold-message .hold-text a");
  await formLink.waitFor({ timeout: TIMEOUT });
  assert.deepEqual(await formLink.evaluate((a) => [a.href, a.textContent, a.target, a.rel]),
    ["https://clinic.example/form?visit=42", "https://clinic.example/form?visit=42", "_blank", "noopener noreferrer nofollow"], "the link ends before the full stop");
  await knockerItem(host, "Eve").locator(".let-in").click();
  await guest.waitForSelector(".screen.call");
  await guest.click("#chat-toggle");
  await guest.fill("#chat-input", markup);
  await guest.press("#chat-input", "Enter");
  await host.click("#chat-toggle");
  await host.waitForFunction((text) => [...document.querySelectorAll(".chat-text")].some((p) => p.textContent === text), markup);
  for (const page of [guest, host]) {
    assert.equal(await page.locator(".chat-list img").count(), 0, "no element was made from the text");
    assert.equal(await page.evaluate(() => window.pwned), undefined);
  }
  // Addresses in chat are links (web and mail only: a javascript: text stays text).
  await guest.fill("#chat-input", "Notes: www.example.org/notes (or mail eve@example.org), not javascript:alert(1)");
  await guest.press("#chat-input", "Enter");
  const links = host.locator(".chat-list li:last-child .chat-text a");
  await until(async () => ((await links.count()) === 2 ? true : undefined), "two links in the message");
  assert.deepEqual(await links.evaluateAll((all) => all.map((a) => [a.getAttribute("href"), a.textContent, a.target])),
    [["http://www.example.org/notes", "www.example.org/notes", "_blank"], ["mailto:eve@example.org", "eve@example.org", "_blank"]]);
  assert.equal(await host.textContent(".chat-list li:last-child .chat-text"), "Notes: www.example.org/notes (or mail eve@example.org), not javascript:alert(1)", "the text as written");
  await screenshot(host, "09-chat-markup-as-text");
  noPageErrors(host, guest);
});

test("a long name is cut short where room is short, and shown whole on hover", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const name = "Maximiliana-Alexandrina-Konstantinopolous-Wolfeschlegelsteinhausenbergerdorff-the-Third";
  const host = await open("host");
  await enterAsHost(host, meeting);
  const guest = await open("guest");
  await knock(guest, meeting, name);
  await openPeople(host);
  const cut = (selector) => host.locator(selector).evaluate((el) => ({ title: el.title, cut: el.scrollWidth > el.clientWidth }));
  assert.deepEqual(await cut(".knocker .knocker-name"), { title: name, cut: true });
  await knockerItem(host, name).locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await host.waitForSelector(".participant:nth-child(2) .participant-name");
  assert.deepEqual(await cut(".participant:nth-child(2) .participant-name"), { title: name, cut: true });
  assert.deepEqual(await cut(`.tile:not(.self) .tile-name`), { title: name, cut: true });
  noPageErrors(host, guest);
});

test("a name or message that is one long word (a link) wraps inside its box on a phone", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const word = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaftschaferswessen";
  const link = "https://example.com/a/very/long/path/that/has/no/spaces/anywhere/at/all/to/break/at";
  const phone = { viewport: { width: 390, height: 844 } };
  const host = await open("host", phone);
  await enterAsHost(host, meeting, `Dr ${word}`);
  const guest = await open("guest", phone);
  await knock(guest, meeting, word);
  // How far a box's content spills past its right-hand side (0: none).
  const spill = (page, selector) => page.locator(selector).first().evaluate((el) => el.scrollWidth - el.clientWidth);
  const toast = await host.locator(".knock-toast").evaluate((el) => ({ right: el.getBoundingClientRect().right, button: el.querySelector("button").getBoundingClientRect().right, width: innerWidth }));
  assert.ok(toast.right <= toast.width && toast.button <= toast.width, `the knock's toast and its Open People stay in the window: ${JSON.stringify(toast)}`);
  await openPeople(host);
  await knockerItem(host, word).locator(".knock-message").fill(`Please read ${link} first`);
  await knockerItem(host, word).locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  await host.locator(".knock-state", { hasText: link }).waitFor();
  assert.equal(await spill(host, ".knocker"), 0, "the knock's card holds the name and the hold message");
  assert.equal(await spill(guest, ".door"), 0, "the waiting card holds the host's name and message");
  await screenshot(guest, "waiting-long-words-390x844");
  await knockerItem(host, word).locator(".knock-message").fill(`Not today: ${link}`);
  await knockerItem(host, word).locator(".reject").click();
  await guest.waitForFunction((text) => document.querySelector(".door")?.textContent.includes(text), "Not today");
  assert.equal(await spill(guest, ".door"), 0, "the card of a knock turned down holds the message");
  await host.click("#chat-toggle");
  await host.fill("#chat-input", `See ${link}`);
  await host.press("#chat-input", "Enter");
  await host.waitForSelector(".chat-text");
  assert.equal(await spill(host, ".chat-list"), 0, "chat holds a long name and a link");
  await screenshot(host, "chat-long-words-390x844");
  noPageErrors(host, guest);
});

test("a knocker keeps its place and hold message across a network blip", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  const guest = await open("guest");
  await enterAsHost(host, meeting);
  await knock(guest, meeting, "Flaky Wifi");
  await openPeople(host);
  await knockerItem(host, "Flaky Wifi").locator(".knock-message").fill("Nearly ready");
  await knockerItem(host, "Flaky Wifi").locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  await guest.context().setOffline(true);
  await guest.waitForFunction(() => document.getElementById("waiting-status").textContent.includes("Reconnecting"), null, { timeout: TIMEOUT });
  // The host's card says so, and keeps its place and its hold.
  const card = knockerItem(host, "Flaky Wifi");
  await card.locator(".knock-state", { hasText: "On hold: Nearly ready · reconnecting…" }).waitFor({ timeout: TIMEOUT });
  await screenshot(host, "10-knocker-reconnecting");
  await guest.context().setOffline(false);
  // Back within the grace: the same knock, the same hold message.
  await guest.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting" && !document.getElementById("connection-banner").checkVisibility() && document.getElementById("hold-message").textContent.includes("Nearly ready"), null, { timeout: TIMEOUT });
  assert.deepEqual(await knockerNames(host), ["Flaky Wifi"], "the host never lost the knock");
  await card.locator(".knock-state", { hasText: /^On hold: Nearly ready$/ }).waitFor({ timeout: TIMEOUT });
  await card.locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  noPageErrors(host, guest);
});

test("a page whose connection went silent (no close, no offline: a laptop woken from sleep) notices, and comes back as itself", async (t) => {
  // The guest reaches the server through a relay that can go silent; the host through another.
  // A server of its own that pings every second, so that a silent page notices in 1.5 s.
  const [guestWay, hostWay] = [await startRelay(), await startRelay()];
  const quick = await startServer(["--ws-ping-interval-secs", "1", "--allowed-origins", hostWay.origin], { publicUrl: guestWay.origin });
  for (const way of [guestWay, hostWay]) way.to(quick.backend);
  t.after(async () => {
    await quick.stop();
    await guestWay.stop();
    await hostWay.stop();
  });
  const open = opener(browser, t);
  const meeting = await quick.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, { ...meeting, hostRoomUrl: meeting.hostRoomUrl.replace(guestWay.origin, hostWay.origin) });
  await openPeople(host);
  const guest = await open("guest");
  await knock(guest, meeting, "Sleepy Laptop");
  const card = knockerItem(host, "Sleepy Laptop");
  await card.waitFor({ timeout: TIMEOUT });

  guestWay.cut();
  // The server drops the silent connection (the host sees it), and the page notices on its own.
  await card.locator(".knock-state", { hasText: "reconnecting…" }).waitFor({ timeout: TIMEOUT });
  await guest.waitForFunction(() => document.getElementById("waiting-status").textContent.includes("Reconnecting"), null, { timeout: TIMEOUT });
  guestWay.heal();
  // Back, still in line: the host lets it in.
  await card.locator(".knock-state", { hasText: "reconnecting…" }).waitFor({ state: "detached", timeout: TIMEOUT });
  assert.deepEqual(await knockerNames(host), ["Sleepy Laptop"]);
  await card.locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });

  // In the call the same: gone silent, noticed, back as itself (its tile on the host's screen kept).
  guestWay.cut();
  await guest.waitForSelector("#connection-banner:not([hidden])", { timeout: TIMEOUT });
  guestWay.heal();
  await guest.waitForFunction(() => !document.getElementById("connection-banner").checkVisibility(), null, { timeout: TIMEOUT });
  await host.locator(".participant", { hasText: "Sleepy Laptop" }).waitFor({ timeout: TIMEOUT });
  assert.ok(!(await quick.logs.join("\n").includes("room.client.left")), "the guest never left");
  noPageErrorsBut([/WebSocket/], host, guest);
});

/** A server of its own (started with `args`), a host in with People open, and two knockers in line. */
async function twoInLine(t, args, [first, second]) {
  const short = await startServer(args);
  t.after(() => short.stop());
  const open = opener(browser, t);
  const meeting = await short.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  await openPeople(host);
  const pages = [];
  for (const name of [first, second]) {
    pages.push(await open(name));
    await knock(pages.at(-1), meeting, name);
  }
  await until(async () => ((await knockerNames(host)).join() === `${first},${second}` ? true : undefined), "both in line");
  return { short, host, pages };
}

test("a knocker away longer than its place is kept for is told it lost its place and knocked again, behind those who waited", async (t) => {
  // Its place kept 2 s (120 s by default: a phone that locked its screen a while).
  const { host, pages: [ann, bea] } = await twoInLine(t, ["--knock-away-grace-secs", "2"], ["Ann", "Bea"]);
  await ann.context().setOffline(true);
  await until(async () => ((await knockerNames(host)).join() === "Bea" ? true : undefined), "Ann's knock ends after the grace");
  await ann.context().setOffline(false);
  await ann.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting"
    && document.getElementById("waiting-notice").checkVisibility(), null, { timeout: TIMEOUT });
  assert.equal(await ann.textContent("#waiting-notice"), "Your place in line was lost while you were offline; you knocked again.");
  await until(async () => ((await knockerNames(host)).join() === "Bea,Ann" ? true : undefined), "Ann knocked again, behind Bea");
  await screenshot(ann, "waiting-place-lost");
  noPageErrorsBut([/ERR_INTERNET_DISCONNECTED/], host, ann, bea);
});

test("a knocker who closes the tab leaves the line once a reload would have been back; one who reloads keeps its place while reviewing", async (t) => {
  // A reload grace of 2 s (15 s by default; a phone that locked its screen keeps its place the
  // away grace, 120 s).
  const { short, host, pages: [closer, reloader] } = await twoInLine(t, ["--knock-resume-grace-secs", "2"], ["Closer", "Reloader"]);
  // Closed: gone from the host's list after the reload grace, not two minutes later.
  await closer.close();
  await until(async () => ((await knockerNames(host)).join() === "Reloader" ? true : undefined), "the closed tab's knock ends");
  // Reloaded, and a while at the review (longer than the reload grace): still in line, the same knock.
  await reloader.reload({ waitUntil: "domcontentloaded" });
  await reloader.waitForSelector("#continue", { timeout: TIMEOUT });
  await knockerItem(host, "Reloader").locator(".knock-state", { hasText: "reconnecting…" }).waitFor({ timeout: TIMEOUT });
  await reloader.waitForTimeout(4000);
  assert.deepEqual(await knockerNames(host), ["Reloader"], "kept while reviewing");
  await reloader.click("#continue");
  await reloader.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting", null, { timeout: TIMEOUT });
  await knockerItem(host, "Reloader").locator(".knock-state", { hasText: "reconnecting…" }).waitFor({ state: "detached", timeout: TIMEOUT });
  assert.equal(await reloader.locator("#waiting-notice").isVisible(), false, "no place lost");
  assert.equal(short.logs.filter((line) => line.includes("room.client.knockCancelled")).length, 1, "no knock ended but the closed tab's");
  noPageErrors(host, reloader);
});

test("a page the browser discarded, loaded again, keeps its place: in line where it was, in the call without knocking again; after Leave it starts anew", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  const guest = await open("guest");
  // As a phone's browser killing a tab in the background (or a crash): the page goes without its
  // pagehide (which leaves the room at once, as a tab closed on purpose does).
  await guest.addInitScript(() => {
    const add = window.addEventListener.bind(window);
    window.addEventListener = (type, ...rest) => (type === "pagehide" ? undefined : add(type, ...rest));
  });
  await enterAsHost(host, meeting);
  await knock(guest, meeting, "Reloader");
  await openPeople(host);
  const card = knockerItem(host, "Reloader");
  await card.locator(".knock-message").fill("Two minutes");
  await card.locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  const reload = async () => {
    await guest.reload({ waitUntil: "domcontentloaded" });
    await guest.waitForSelector("#continue", { timeout: TIMEOUT });
    await guest.click("#continue");
  };
  // Waiting, on hold: back in line with the host's message, without knocking again.
  await reload();
  await guest.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting" && document.getElementById("hold-message")?.textContent.includes("Two minutes"), null, { timeout: TIMEOUT });
  assert.deepEqual(await knockerNames(host), ["Reloader"], "one knock, still");
  await card.locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const inside = await clientIdOf(guest);
  // In the call: back in as the same person, no knock.
  await reload();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await clientIdOf(guest), inside, "the same person, back");
  assert.equal(await host.locator(".knocker").count(), 0, "nobody knocked");
  await remoteVideosPlay(host, 1);
  // Left: a reload starts at the door.
  await guest.click("#leave");
  await guest.waitForSelector("[data-screen='left']", { timeout: TIMEOUT });
  assert.equal(await guest.evaluate(() => Object.keys(sessionStorage).some((key) => key.startsWith("anteroom:seat:"))), false, "the place is forgotten");
  await reload();
  await guest.waitForSelector("#knock", { timeout: TIMEOUT });
  noPageErrors(host, guest);
});

test("a guest who reloads the page keeps their place in line, and once let in is back in the call without knocking, the chat as it was", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  const guest = await open("guest");
  await enterAsHost(host, meeting);
  await knock(guest, meeting, "Reloader");
  await openPeople(host);
  await knockerItem(host, "Reloader").locator(".knock-message").fill("One moment");
  await knockerItem(host, "Reloader").locator(".hold").click();
  await guest.waitForSelector("#hold-message:not([hidden])");
  await guest.reload({ waitUntil: "domcontentloaded" });
  await guest.waitForSelector("#continue", { timeout: TIMEOUT });
  await guest.click("#continue");
  await guest.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting" && document.getElementById("hold-message")?.textContent.includes("One moment"), null, { timeout: TIMEOUT });
  assert.deepEqual(await knockerNames(host), ["Reloader"], "one knock, still");
  await knockerItem(host, "Reloader").locator(".knock-state", { hasText: /^On hold: One moment$/ }).waitFor({ timeout: TIMEOUT });
  await knockerItem(host, "Reloader").locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const inside = await clientIdOf(guest);
  await host.click("#chat-toggle");
  await host.fill("#chat-input", "Try reloading the page");
  await host.press("#chat-input", "Enter");
  await guest.click("#chat-toggle");
  await guest.fill("#chat-input", "Reloading now");
  await guest.press("#chat-input", "Enter");
  const lines = (page) => page.$$eval("#chat-list li", (items) => items.map((li) => `${li.querySelector(".chat-name").textContent}: ${li.querySelector(".chat-text").textContent}`));
  await until(async () => ((await lines(guest)).length === 2 ? true : undefined), "both messages on the guest's page");
  // (The page leaves as it goes, and comes back by its token.)
  await guest.reload({ waitUntil: "domcontentloaded" });
  await guest.waitForSelector("#continue", { timeout: TIMEOUT });
  await guest.click("#continue");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await clientIdOf(guest), inside, "the same person");
  assert.equal(await host.locator(".knocker").count(), 0, "nobody knocked");
  await remoteVideosPlay(host, 1);
  await remoteVideosPlay(guest, 1);
  // The chat as it was, read (no unread count), one's own message still one's own to remove.
  assert.equal(await guest.locator("#chat-badge:not([hidden])").count(), 0, "nothing unread");
  await guest.click("#chat-toggle");
  assert.deepEqual(await lines(guest), ["Dr Host: Try reloading the page", "Reloader: Reloading now"]);
  assert.equal(await guest.locator("#chat-list li.mine .remove-message").count(), 1, "one's own, removable");
  // Leaving forgets it.
  await guest.click("#leave");
  await guest.waitForSelector("[data-screen='left']", { timeout: TIMEOUT });
  assert.deepEqual(await guest.evaluate(() => Object.keys(sessionStorage).filter((key) => /^anteroom:(chat|seat):/.test(key))), [], "nothing of the call kept");
  noPageErrors(host, guest);
});

test("removing a participant and ending the meeting for all", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const host = await open("host");
  await enterAsHost(host, meeting);
  const guests = [];
  for (const name of ["Stay", "Go"]) {
    const page = await open(name);
    await enter(page, meeting.roomUrl, name);
    await page.waitForSelector(".screen.call");
    guests.push(page);
  }
  await openPeople(host);
  await host.locator(".participant", { hasText: "Go" }).locator(".more").click();
  const remove = host.locator(".participant", { hasText: "Go" }).locator(".remove");
  await remove.click();
  assert.match(await remove.getAttribute("aria-label"), /Confirm: remove Go/, "removal asks first");
  await remove.click();
  await guests[1].waitForSelector(".screen.message");
  assert.match(await guests[1].textContent(".screen.message h1"), /removed/);
  await host.click("#end-meeting");
  await host.click("#end-meeting");
  for (const page of [host, guests[0]]) {
    await page.waitForSelector(".screen.message");
    assert.match(await page.textContent(".screen.message h1"), /ended/);
  }
  noPageErrors(host, ...guests);
});
