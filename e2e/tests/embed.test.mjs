// The <whereby-embed> element on a page of another origin: its events out and commands in, the
// connection's state, refused devices and the pre-call check as Whereby reports them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { pictureServer } from "../lib/pictures.mjs";
import { launch, newPage, opener, screenshot, stallableBrowser } from "../lib/browser.mjs";
import { TIMEOUT, enter, knock, remoteVideosPlay, noPageErrors, until } from "../lib/flows.mjs";
import { embedPageServer } from "../lib/embed.mjs";

let server;
let browser;
// A person's picture (avatarUrl) the element passes on.
let pictures;

before(async () => {
  pictures = await pictureServer();
  server = await startServer(["--avatar-origins", pictures.origin]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  pictures?.close();
});

test("<whereby-embed> on another origin: events out, commands in, for guests and hosts", async (t) => {
  const open = opener(browser, t);
  const pages = await embedPageServer();
  t.after(() => pages.close());
  const origin = `http://127.0.0.1:${pages.address().port}`;
  assert.notEqual(origin, new URL(server.base).origin);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host integrator");
  const guest = await open("guest integrator");
  const events = (page, type) => page.evaluate((t) => window.events.filter((e) => e.type === t), type);
  const waitEvent = (page, type) => page.waitForFunction((t) => window.events.some((e) => e.type === t), type, { timeout: TIMEOUT });

  const room = (page) => page.frameLocator("iframe");

  await host.goto(`${origin}/?room=${encodeURIComponent(meeting.hostRoomUrl)}&name=Embedded%20Host`);
  await waitEvent(host, "join");
  await waitEvent(host, "grant_device_permission");
  assert.deepEqual((await events(host, "grant_device_permission"))[0].detail, { granted: true });
  const picture = `${pictures.origin}/pat.png`;
  await guest.goto(`${origin}/?room=${encodeURIComponent(meeting.roomUrl)}&name=Embedded%20Guest&attrs=${encodeURIComponent(`precallReview=off,externalId=patient-21,avatarUrl=${picture}`)}`);
  await waitEvent(guest, "ready");
  assert.equal(await guest.getAttribute("iframe", "title"), "Video calling component", "the frame has a name");
  // The guest's door shows; the integrator's own button knocks through the element, and can
  // take the knock back.
  await room(guest).locator("#knock").waitFor({ timeout: TIMEOUT });
  await guest.evaluate(() => document.getElementById("room").knock());
  await waitEvent(guest, "knock");
  await room(guest).locator("#cancel-knock").waitFor({ timeout: TIMEOUT });
  await guest.evaluate(() => document.getElementById("room").cancelKnock());
  await waitEvent(guest, "cancel_knock");
  await room(guest).locator("#knock").waitFor({ timeout: TIMEOUT });
  await host.waitForFunction(() => window.events.some((e) => e.type === "knock_resolved" && e.detail.resolution === "cancelled"), null, { timeout: TIMEOUT });
  await guest.evaluate(() => document.getElementById("room").knock());

  await host.waitForFunction(() => window.events.filter((e) => e.type === "knock_received").length === 2, null, { timeout: TIMEOUT });
  const received = (await events(host, "knock_received")).at(-1);
  assert.equal(received.detail.displayName, "Embedded Guest");
  assert.equal(received.detail.avatarUrl, picture, "the knocker's picture, for the integrator's own host panel");
  // The integrator's own host panel lets them in.
  await host.evaluate((id) => document.getElementById("room").admit(id), received.detail.clientId);
  await waitEvent(guest, "join");
  await waitEvent(host, "participant_join");
  const resolved = (await events(host, "knock_resolved")).at(-1);
  assert.equal(resolved.detail.resolution, "accepted");
  assert.equal(resolved.detail.clientId, received.detail.clientId);

  // The integrator opens and closes the room's panels, and hears when they open and close.
  const panels = async () => (await host.evaluate(() => window.events.filter((e) => e.type.endsWith("_toggle") && e.type !== "camera_toggle")))
    .map((e) => `${e.type} ${e.detail.open}`);
  await host.evaluate(() => document.getElementById("room").togglePeople());
  await room(host).locator("#people-panel").waitFor({ timeout: TIMEOUT });
  await host.evaluate(() => document.getElementById("room").toggleChat(true));
  await room(host).locator("#chat-panel").waitFor({ timeout: TIMEOUT });
  assert.equal(await room(host).locator("#people-panel").isVisible(), false, "one panel at a time");
  await host.evaluate(() => document.getElementById("room").toggleChat(false));
  await room(host).locator("#chat-panel").waitFor({ state: "hidden", timeout: TIMEOUT });
  assert.deepEqual(await panels(), ["people_toggle true", "people_toggle false", "chat_toggle true", "chat_toggle false"]);
  // A panel open across a reconnect stays open, and the integrator hears nothing of it: to them it
  // never closed. (The page builds the call afresh on the way back: the panel is a new element.)
  await host.evaluate(() => document.getElementById("room").togglePeople());
  await room(host).locator("#people-panel").evaluate((panel) => { panel.dataset.before = "reconnect"; });
  const hostStatuses = () => host.evaluate(() => window.events.filter((e) => e.type === "connection_status_change").length);
  await host.context().setOffline(true);
  await host.waitForFunction(() => window.events.some((e) => e.type === "connection_status_change"), null, { timeout: TIMEOUT });
  await host.context().setOffline(false);
  await room(host).locator("#people-panel:not([data-before])").waitFor({ timeout: TIMEOUT });
  await until(async () => ((await hostStatuses()) === 2 ? true : undefined), "the host's page says its connection is stable again");
  assert.deepEqual(await panels(), ["people_toggle true", "people_toggle false", "chat_toggle true", "chat_toggle false", "people_toggle true"]);
  await host.evaluate(() => document.getElementById("room").togglePeople());
  await room(host).locator("#people-panel").waitFor({ state: "hidden", timeout: TIMEOUT });
  assert.deepEqual((await panels()).slice(-2), ["people_toggle true", "people_toggle false"]);
  // Whereby's openSettings opens the room's settings.
  await host.evaluate(() => document.getElementById("room").openSettings());
  await room(host).locator("#settings-panel").waitFor({ timeout: TIMEOUT });
  await room(host).locator("#settings-panel .close-panel").click();
  await room(host).locator("#settings-panel").waitFor({ state: "hidden", timeout: TIMEOUT });

  // Picture in picture: the host's window shows the guest (whom the stage features), and the
  // integrator hears it open and close.
  await room(host).locator("#pip-toggle").click();
  await waitEvent(host, "pip_toggle");
  const inWindow = await room(host).locator("body").evaluate(() => {
    const shown = document.pictureInPictureElement;
    const guestTile = document.querySelector(".tile:not(.self) video");
    return { shown: Boolean(shown), guest: Boolean(guestTile?.srcObject) && shown?.srcObject === guestTile.srcObject, pressed: document.getElementById("pip-toggle").getAttribute("aria-pressed") };
  });
  assert.deepEqual(inWindow, { shown: true, guest: true, pressed: "true" });
  await room(host).locator("#pip-toggle").click();
  await host.waitForFunction(() => window.events.filter((e) => e.type === "pip_toggle").length === 2, null, { timeout: TIMEOUT });
  assert.deepEqual((await events(host, "pip_toggle")).map((e) => e.detail), [{ open: true }, { open: false }]);

  // toggleScreenshare(true) starts sharing, and again keeps it; false stops it (Whereby's).
  const guestRoom = guest.frames().find((frame) => frame !== guest.mainFrame());
  await guestRoom.evaluate(() => {
    navigator.mediaDevices.getDisplayMedia = async () => Object.assign(document.createElement("canvas"), { width: 640, height: 360 }).captureStream(5);
  });
  const shares = async () => (await events(guest, "screenshare_toggle")).map((e) => e.detail.enabled);
  await guest.evaluate(() => document.getElementById("room").toggleScreenshare(true));
  await until(async () => ((await shares()).length === 1 ? true : undefined), "sharing starts");
  await guest.evaluate(() => document.getElementById("room").toggleScreenshare(true));
  await room(guest).locator('#screenshare-toggle[aria-pressed="true"]').waitFor({ timeout: TIMEOUT });
  await guest.evaluate(() => document.getElementById("room").toggleScreenshare(false));
  await room(guest).locator('#screenshare-toggle[aria-pressed="false"]').waitFor({ timeout: TIMEOUT });
  // (The page's events reach the integrator by message, a moment after the room's own button.)
  await until(async () => ((await shares()).length >= 2 ? true : undefined), "the share stops");
  assert.deepEqual(await shares(), [true, false], "asked twice to share, it shared once");
  // The integrator's own host panel mutes the guest: the guest's page turns its microphone off,
  // says who did, and tells its integrator.
  await host.evaluate((id) => document.getElementById("room").muteParticipants([id]), received.detail.clientId);
  await room(guest).locator(".toast", { hasText: "Embedded Host turned your microphone off" }).waitFor({ timeout: TIMEOUT });
  await until(async () => ((await events(guest, "microphone_toggle")).some((e) => e.detail.enabled === false) ? true : undefined), "the guest's page says its microphone went off");
  await guest.evaluate(() => document.getElementById("room").toggleCamera(false));
  await waitEvent(guest, "camera_toggle");
  assert.deepEqual((await events(guest, "camera_toggle"))[0].detail, { enabled: false });
  await screenshot(guest, "13-embedded-guest");

  // The guest's network goes away and comes back: the page says its connection is unstable, then
  // stable again.
  const statuses = async () => (await events(guest, "connection_status_change")).map((e) => e.detail.status);
  await guest.context().setOffline(true);
  await guest.waitForFunction(() => window.events.some((e) => e.type === "connection_status_change"), null, { timeout: TIMEOUT });
  await guest.context().setOffline(false);
  await guest.waitForFunction(() => window.events.filter((e) => e.type === "connection_status_change").length === 2, null, { timeout: TIMEOUT });
  assert.deepEqual(await statuses(), ["unstable", "stable"]);

  await guest.evaluate(() => document.getElementById("room").leaveRoom());
  await waitEvent(guest, "leave");
  assert.deepEqual((await events(guest, "leave"))[0].detail, { reason: "left", removed: false });
  await waitEvent(host, "participant_leave");
  // Who left, as their participant_join said: with the externalId they came with (this is a
  // host's page).
  const [came] = await events(host, "participant_join");
  const [gone] = await events(host, "participant_leave");
  for (const { detail } of [came, gone]) {
    const { id, displayName, role, externalId, avatarUrl } = detail.participant;
    assert.deepEqual({ id, displayName, role, externalId, avatarUrl }, { id: received.detail.clientId, displayName: "Embedded Guest", role: "granted_visitor", externalId: "patient-21", avatarUrl: picture });
  }
  assert.equal(gone.detail.participantId, received.detail.clientId);
  // How many were in the room, each time that changed: the host alone, with the guest, alone again
  // (the host's reconnect told nothing new); the guest's page, from its entry until it left.
  const counts = (page) => page.evaluate(() => window.events.filter((e) => e.type === "participantupdate").map((e) => e.detail.count));
  let told;
  await until(async () => (JSON.stringify(told = await counts(host)) === "[1,2,1]" ? true : undefined), () => `the host's page was told counts ${JSON.stringify(told)}`);
  assert.deepEqual(await counts(guest), [2]);
  assert.deepEqual(await events(guest, "meeting_end"), [], "leaving does not end the meeting");

  // The host's integrator ends the meeting for everyone.
  await host.evaluate(() => document.getElementById("room").endMeeting());
  await waitEvent(host, "meeting_end");
  await waitEvent(host, "leave");
  assert.deepEqual((await events(host, "leave"))[0].detail, { reason: "ended_by_host", removed: false });
  noPageErrors(host, guest);
});

test("<whereby-embed>: a page whose media stops getting through says its connection is unstable, then stable", async (t) => {
  const pages = await embedPageServer();
  t.after(() => pages.close());
  const meeting = await server.meeting({ isLocked: false });
  const host = await opener(browser, t)("embedded host");
  const guestBrowser = await stallableBrowser(t, "embed-stall");
  const guest = await newPage(guestBrowser.browser, "stalled guest");
  await host.goto(`http://127.0.0.1:${pages.address().port}/?room=${encodeURIComponent(meeting.hostRoomUrl)}&name=Embedded%20Host`);
  await host.waitForFunction(() => window.events.some((e) => e.type === "join"), null, { timeout: TIMEOUT });
  await enter(guest, meeting.roomUrl, "Ada Byron");
  await remoteVideosPlay(guest, 1);
  const statuses = () => host.evaluate(() => window.events.filter((e) => e.type === "connection_status_change").map((e) => e.detail.status));
  assert.deepEqual(await statuses(), [], "stable from the start: nothing to say");

  // The only peer stops answering (its signalling holds): the host page's every link is down.
  assert.ok(guestBrowser.stall() > 0, "the guest browser's renderers were found");
  await host.waitForFunction(() => window.events.some((e) => e.type === "connection_status_change"), null, { timeout: 25000 });
  assert.deepEqual(await statuses(), ["unstable"]);
  guestBrowser.go();
  await host.waitForFunction(() => window.events.filter((e) => e.type === "connection_status_change").length === 2, null, { timeout: TIMEOUT });
  assert.deepEqual(await statuses(), ["unstable", "stable"]);
  noPageErrors(host);
});

test("<whereby-embed>: a browser that refuses the camera and microphone is reported", async (t) => {
  const strict = await launch({ grantMedia: false });
  t.after(() => strict.close());
  const pages = await embedPageServer();
  t.after(() => pages.close());
  const meeting = await server.meeting({ isLocked: true });
  const page = await (await strict.newContext()).newPage();
  await page.goto(`http://127.0.0.1:${pages.address().port}/?room=${encodeURIComponent(meeting.roomUrl)}&name=Nia&attrs=precallReview=on`);
  await page.waitForFunction(() => window.events.some((e) => e.type === "deny_device_permission"), null, { timeout: TIMEOUT });
  const told = await page.evaluate(() => window.events.filter((e) => e.type.endsWith("_device_permission")));
  assert.deepEqual(told, [{ type: "deny_device_permission", detail: { denied: true } }]);
});

test("<whereby-embed>: the pre-call check's result, or that it was skipped, in Whereby's shape", async (t) => {
  const open = opener(browser, t);
  const pages = await embedPageServer();
  t.after(() => pages.close());
  const meeting = await server.meeting({ isLocked: false });
  const page = (name) => `http://127.0.0.1:${pages.address().port}/?room=${encodeURIComponent(meeting.roomUrl)}&name=${name}`
    + "&attrs=precallReview=on,precallCeremony=on,precallCeremonyCanSkip=on";
  const events = (p, type) => p.evaluate((t) => window.events.filter((e) => e.type === t), type);

  const skipper = await open("embedded skipper");
  await skipper.goto(page("Sky"));
  await skipper.frameLocator("iframe").locator("#skip-check").click({ timeout: TIMEOUT });
  await skipper.waitForFunction(() => window.events.some((e) => e.type === "precall_check_skipped"), null, { timeout: TIMEOUT });
  assert.deepEqual(await events(skipper, "precall_check_completed"), []);

  const checker = await open("embedded checker");
  await checker.goto(page("Cass"));
  await checker.frameLocator("iframe").locator("#heard-yes").click({ timeout: 30000 });
  await checker.waitForFunction(() => window.events.some((e) => e.type === "precall_check_completed"), null, { timeout: 30000 });
  const [{ detail }] = await events(checker, "precall_check_completed");
  assert.equal(detail.status, "passed", JSON.stringify(detail));
  assert.deepEqual(Object.keys(detail.steps), ["camera", "microphone", "speaker", "bandwidth"]);
  assert.ok(Object.values(detail.steps).every((step) => step.status === "passed"));
  assert.match(detail.steps.bandwidth.detail, /Mbit\/s/);
  assert.deepEqual(await events(checker, "precall_check_skipped"), []);
  noPageErrors(skipper, checker);
});
