// The pre-call check, refused permissions, URL parameters, the room's theme on the knock page and
// screen share (the <whereby-embed> element: embed.test.mjs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { startTurn } from "../lib/turn.mjs";
import { png, pictureServer } from "../lib/pictures.mjs";
import { assertAccessible, callFitsSoon } from "../lib/checks.mjs";
import { DEFAULT_VIEWPORT, launch, newPage, offerMagentaScreen, opener, recordDeviceTracks, screenshot } from "../lib/browser.mjs";
import { TIMEOUT, clientIdOf, enter, enterAsHost, knock, openPeople, knockerItem, remoteAudioHeard, remoteTiles, remoteVideosPlay, noPageErrors, noPageErrorsBut, until } from "../lib/flows.mjs";

let server;
let browser;
// People's pictures (avatarUrl), served from this machine: an orange square, and a missing one.
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

test("the pre-call check reports each step; it can be skipped when allowed", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const page = await open("ceremony");
  await page.goto(`${meeting.roomUrl}?displayName=Quinn&precallCeremony=on`);
  await page.waitForSelector(".check");
  for (const picker of ["#camera-picker", "#microphone-picker", "#speaker-picker"]) {
    assert.ok(await page.locator(`${picker} option`).count() > 0, `${picker} lists the devices`);
  }
  assert.ok(await page.isDisabled("#continue"), "the check must finish first");
  assert.equal(await page.locator("#skip-check").isVisible(), false, "not skippable unless allowed");
  // The speaker step asks the person whether they heard the tone.
  await page.waitForSelector("#heard-yes", { timeout: 30000 });
  await screenshot(page, "precall-ceremony-asks");
  await page.click("#heard-yes");
  await page.waitForSelector("#continue:not([disabled])", { timeout: 30000 });
  const steps = await page.$$eval(".check li", (items) => items.map((li) => [li.dataset.step, li.querySelector(".status").textContent]));
  assert.deepEqual(steps, [["camera", "passed"], ["microphone", "passed"], ["speaker", "passed"], ["network", "passed"]]);
  assert.match(await page.textContent('[data-step="camera"] .detail'), /^[1-9]\d*×[1-9]\d*$/, "the camera's real size");
  assert.match(await page.textContent('[data-step="network"] .detail'), /Mbit\/s/);
  await screenshot(page, "10-precall-ceremony");
  await page.click("#continue");
  await page.waitForSelector(".screen.call");

  const skipper = await open("skipper");
  await skipper.goto(`${meeting.roomUrl}?displayName=Rae&precallCeremony=on&precallCeremonyCanSkip=on`);
  await skipper.click("#skip-check");
  await skipper.waitForSelector("#continue:not([disabled])");
  await skipper.click("#continue");
  await skipper.waitForSelector(".screen.call");
  noPageErrors(page, skipper);
});

/** Runs the pre-call check on a room of `target` and returns the network step's status and detail. */
async function networkCheck(page, target) {
  const meeting = await target.meeting({ isLocked: false });
  await page.goto(`${meeting.roomUrl}?displayName=Tess&precallCeremony=on`);
  await page.click("#heard-no", { timeout: 30000 });
  await page.waitForSelector("#continue:not([disabled])", { timeout: 30000 });
  return {
    status: await page.textContent('[data-step="network"] .status'),
    detail: await page.textContent('[data-step="network"] .detail'),
  };
}

test("the network check reaches a real TURN server with the credentials anteroom mints", async (t) => {
  const turn = await startTurn();
  t.after(() => turn.stop());
  const turnUrl = `turn:127.0.0.1:${turn.port}?transport=udp`;
  const good = await startServer(["--turn-url", turnUrl, "--turn-secret", turn.secret]);
  t.after(() => good.stop());
  const open = opener(browser, t);
  const reached = await networkCheck(await open("with TURN"), good);
  assert.equal(reached.status, "passed", reached.detail);
  assert.match(reached.detail, /reached [a-z, ]*relay/, "coturn allocated a relay with our credentials");

  // The same TURN server, credentials minted from the wrong secret: coturn refuses them, the check fails.
  const wrong = await startServer(["--turn-url", turnUrl, "--turn-secret", "not-the-secret-coturn-was-given"]);
  t.after(() => wrong.stop());
  const refused = await networkCheck(await open("wrong TURN secret"), wrong);
  assert.equal(refused.status, "failed", refused.detail);
  assert.match(refused.detail, /no STUN\/TURN server answered/);
});

test("a refused camera explains the fix and still lets the guest knock", async (t) => {
  const strict = await launch({ grantMedia: false });
  t.after(() => strict.close());
  const meeting = await server.meeting({ isLocked: true });
  const context = await strict.newContext();
  const guest = await context.newPage();
  const help = "https://help.example.com/camera-and-microphone";
  await guest.goto(`${meeting.roomUrl}?displayName=No%20Camera&precallPermissionHelpLink=${encodeURIComponent(help)}`);
  await guest.waitForSelector(".problem:not([hidden])");
  assert.match(await guest.textContent(".problem"), /blocked the camera and microphone.*allow/);
  // The integrator's own help page, after our advice, opening beside the room.
  assert.deepEqual(await guest.$eval("#permission-help", (a) => [a.href, a.target, a.textContent]), [help, "_blank", "Help me fix this"]);
  await screenshot(guest, "11-permission-denied");
  // Audio only (cameraAccess=off): the advice names the microphone alone.
  const voice = await context.newPage();
  await voice.goto(`${meeting.roomUrl}?displayName=Vo&cameraAccess=off`);
  await voice.waitForSelector(".problem:not([hidden])");
  assert.match(await voice.textContent(".problem"), /^Your browser blocked the microphone\. Click the microphone icon/);
  assert.equal(await voice.locator("#permission-help").count(), 0, "no help link unless given");
  await voice.close();
  await guest.click("#continue");
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status");
  const host = await opener(browser, t)("host");
  await enterAsHost(host, meeting);
  await openPeople(host);
  await knockerItem(host, "No Camera").locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  // In the call its buttons say what the others get (nothing), not what was wished for; turning
  // one on asks again, and says why it still cannot be.
  assert.equal(await guest.getAttribute("#microphone-toggle", "aria-pressed"), "true", "the microphone shows off");
  assert.match(await guest.textContent("#microphone-toggle"), /^Unmute/);
  assert.match(await guest.textContent("#camera-toggle"), /^Start video/);
  await guest.click("#microphone-toggle");
  await guest.locator(".toast", { hasText: "Your browser blocked the microphone. Allow it in the site settings" }).waitFor({ timeout: TIMEOUT });
  assert.match(await guest.textContent("#microphone-toggle"), /^Unmute/, "still off");
  await screenshot(guest, "call-permission-denied");
});

test("a computer with a microphone and no camera: the microphone is heard, the camera's absence is said", async (t) => {
  const cameraless = await launch({ cameras: 0 });
  t.after(() => cameraless.close());
  const meeting = await server.meeting({ isLocked: false });
  const host = await opener(browser, t)("host");
  await enterAsHost(host, meeting);
  const guest = await newPage(cameraless, "no camera");
  t.after(() => guest.context().close().catch(() => {}));
  await guest.goto(`${meeting.roomUrl}?displayName=Mic%20Only`);
  await guest.waitForSelector(".problem:not([hidden])");
  assert.equal(await guest.textContent(".problem"), "No camera was found. Plug one in, then try again.");
  assert.match(await guest.textContent("#precall-camera"), /Turn camera on/, "the camera shows off");
  assert.match(await guest.textContent("#precall-microphone"), /Mute microphone/, "the microphone is on");
  assert.equal(await guest.textContent("#preview-off:not([hidden])"), "Your camera is off", "the picture's place says why it is dark");
  await screenshot(guest, "precall-no-camera");
  await guest.click("#continue");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteAudioHeard(host, 1);
  assert.match(await guest.textContent("#microphone-toggle"), /^Mute/);
  assert.match(await guest.textContent("#camera-toggle"), /^Start video/);
  await guest.click("#camera-toggle");
  await guest.locator(".toast", { hasText: "No camera was found. Plug one in, then try again." }).waitFor({ timeout: TIMEOUT });
  assert.match(await guest.textContent("#camera-toggle"), /^Start video/, "still off");
  noPageErrors(host, guest);
});

test("URL parameters shape the screens", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const page = await open("minimal");
  await page.goto(`${meeting.roomUrl}?displayName=Min&precallReview=off&minimal&chat=off&people=off&screenshare=off&leaveButton=off&audio=off&video=off&iframeSource=x&jsApi=1&we=2`);
  await page.waitForSelector(".screen.call", { timeout: TIMEOUT });
  for (const hidden of ["#chat-toggle", "#people-toggle", "#screenshare-toggle", "#leave", ".call-header"]) {
    assert.equal(await page.locator(hidden).count() === 0 || await page.locator(hidden).isHidden(), true, `${hidden} is hidden`);
  }
  assert.equal(await page.textContent("#camera-toggle .label"), "Start video", "video=off starts with the camera off");
  assert.equal(await page.textContent("#microphone-toggle .label"), "Unmute");
  const named = await open("named");
  await named.goto(`${meeting.roomUrl}?displayName=Given%20Name&precallReview=off`);
  await named.waitForSelector(".screen.call");
  await page.waitForFunction(() => [...document.querySelectorAll(".tile-name")].some((c) => c.textContent === "Given Name"));
  // Whereby's minimal: the microphone, the camera and People, and what is asked for by name.
  const controlsOf = (page) => page.$$eval("nav.controls button", (buttons) => buttons.filter((b) => b.offsetParent).map((b) => b.id));
  const small = await server.meeting({ isLocked: false });
  const bareGuest = await open("minimal guest");
  await bareGuest.goto(`${small.roomUrl}?displayName=Mo&precallReview=off&minimal`);
  await bareGuest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.deepEqual(await controlsOf(bareGuest), ["microphone-toggle", "camera-toggle", "people-toggle"]);
  assert.equal(await bareGuest.locator(".call-header").count(), 0, "no header");
  const minimalHost = await open("minimal host");
  await minimalHost.goto(`${small.hostRoomUrl}&displayName=Dr%20Mo&precallReview=off&minimal&chat=on&topToolbar=on&settingsButton=on`);
  await minimalHost.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.deepEqual(await controlsOf(minimalHost), ["microphone-toggle", "camera-toggle", "settings-toggle", "people-toggle", "chat-toggle"], "chat and settings asked for by name; no lock, leave or end");
  assert.equal(await minimalHost.locator(".call-header").count(), 1, "the header asked for by name");
  // Whereby's toolbars: the header and the control bar go, the stage takes the whole frame.
  const bare = await open("bare", { viewport: { width: 1366, height: 657 } });
  await bare.goto(`${meeting.roomUrl}?displayName=Bare&precallReview=off&topToolbar=off&bottomToolbar=off&lang=fr&floatSelf`);
  await bare.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await bare.locator(".call-header").count(), 0, "topToolbar=off: no header");
  assert.equal(await bare.locator("nav.controls").count(), 0, "bottomToolbar=off: no control bar");
  const stage = await bare.locator(".stage").boundingBox();
  assert.ok(stage.height >= 650, `the stage fills the frame: ${JSON.stringify(stage)}`);
  await bare.waitForFunction(() => document.querySelectorAll(".tile").length === 3);
  await screenshot(bare, "call-without-toolbars-1366x657");
  // floatSelf: one's own tile small in the corner, over the others, who keep the stage.
  const phone = await open("phone", { viewport: { width: 390, height: 844 } });
  await phone.goto(`${meeting.roomUrl}?displayName=Phone&precallReview=off&floatSelf=on`);
  await phone.waitForSelector(".screen.call", { timeout: TIMEOUT });
  for (const [floater, width, height] of [[bare, 1366, 657], [phone, 390, 844]]) {
    await floater.waitForFunction(() => document.querySelectorAll(".tile:not([hidden])").length === 4);
    const own = await floater.locator(".tile.self").boundingBox();
    assert.equal(await floater.locator(".tile.self").getAttribute("class").then((c) => c.includes("floating")), true, "one's own tile floats");
    assert.ok(own.width <= width / 2 && own.height <= height / 2, `small: ${JSON.stringify(own)}`);
    const stageBox = await floater.locator(".stage").boundingBox();
    assert.ok(Math.abs(own.x + own.width - (stageBox.x + stageBox.width)) <= 10 && Math.abs(own.y + own.height - (stageBox.y + stageBox.height)) <= 10, `in the stage's bottom right-hand corner: ${JSON.stringify({ own, stageBox })}`);
  }
  await screenshot(phone, "call-float-self-390x844");
  // autoHideSelfView: one's own floating tile starts put away behind an arrow, which brings it back.
  const shy = await open("shy", { viewport: { width: 1366, height: 657 } });
  await shy.goto(`${small.roomUrl}?displayName=Shy&precallReview=off&floatSelf&autoHideSelfView`);
  await shy.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await shy.waitForFunction(() => document.querySelectorAll(".tile:not([hidden])").length === 2);
  assert.equal(await shy.locator(".tile.self").isHidden(), true, "put away at first");
  await screenshot(shy, "call-self-put-away-1366x657");
  await shy.click("#self-reveal");
  await shy.waitForSelector(".tile.self.floating:not([hidden])");
  assert.equal(await shy.locator("#self-reveal").isHidden(), true);
  await screenshot(shy, "call-self-brought-back-1366x657");
  await shy.click("#self-hide");
  await shy.waitForSelector(".tile.self[hidden]", { state: "attached" });
  assert.equal(await shy.locator("#self-reveal").isVisible(), true, "the arrow again");
  // Brought back, it stays so across a reconnect (the call is built again).
  await shy.click("#self-reveal");
  await shy.locator(".tile.self").evaluate((tile) => { tile.dataset.before = "reconnect"; });
  await shy.context().setOffline(true);
  await shy.waitForSelector("#connection-banner:not([hidden])", { timeout: TIMEOUT });
  await shy.context().setOffline(false);
  await shy.waitForSelector(".tile.self:not([data-before])", { state: "attached", timeout: TIMEOUT });
  await shy.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  assert.equal(await shy.locator(".tile.self").isVisible(), true, "still shown after the reconnect");
  assert.equal(await phone.locator("#self-hide").count(), 0, "only with autoHideSelfView");
  await screenshot(bare, "call-float-self-without-toolbars-1366x657");
  assert.equal(await page.locator(".tile.floating").count(), 0, "only with floatSelf");
  // A host's count of people goes with participantCount=off; the rest of the header stays.
  const hosted = await server.meeting({ isLocked: true });
  const counted = await open("host-counted");
  await enterAsHost(counted, hosted);
  assert.equal(await counted.locator("#capacity").isVisible(), true, "a host sees the count by default");
  assert.equal(await counted.locator("#pip-toggle").isVisible(), true, "and a picture-in-picture button");
  assert.equal(await counted.locator("#settings-toggle").isVisible(), true, "and settings");
  const uncounted = await open("host-uncounted");
  await enter(uncounted, `${hosted.hostRoomUrl}&participantCount=off&pipButton=off&settingsButton=off&reactions=off`, "Dr Quiet");
  await uncounted.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await uncounted.locator("#lock-state").isVisible(), true);
  assert.equal(await uncounted.locator("#capacity").isHidden(), true, "participantCount=off hides the count");
  assert.equal(await uncounted.locator("#pip-toggle").count(), 0, "pipButton=off hides it");
  assert.equal(await uncounted.locator("#settings-toggle").count(), 0, "settingsButton=off hides it");
  assert.equal(await counted.locator("#reactions-toggle").isVisible(), true, "a host has reactions by default");
  assert.equal(await uncounted.locator("#reactions-toggle").count(), 0, "reactions=off hides them");
  noPageErrors(page, named, bareGuest, minimalHost, bare, phone, counted, uncounted);
  // Offline, the page may try its socket again before the network is back, as the others that go
  // offline do.
  noPageErrorsBut([/WebSocket connection to .* failed/], shy);
});

test("cameraAccess=off: the camera is never asked for nor offered, the others hear the person; lowData captures and shows less", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);

  const voice = await open("voice", { viewport: { width: 390, height: 844 } });
  await voice.addInitScript(() => {
    window.videoRequests = 0;
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => {
      if (constraints?.video) window.videoRequests += 1;
      return getUserMedia(constraints);
    };
  });
  await voice.goto(`${meeting.roomUrl}?displayName=Vo&cameraAccess=off&precallCeremony=on`);
  await voice.waitForSelector(".check");
  assert.equal(await voice.locator("#precall-camera").count(), 0, "no camera switch on the review");
  assert.equal(await voice.locator("#camera-picker").isVisible(), false, "no camera picker");
  assert.equal(await voice.locator("#microphone-picker").isVisible(), true);
  await voice.click("#heard-yes", { timeout: 30000 });
  await voice.waitForSelector("#continue:not([disabled])", { timeout: 30000 });
  const steps = await voice.$$eval(".check li", (items) => items.map((li) => [li.dataset.step, li.querySelector(".status").textContent]));
  assert.deepEqual(steps, [["microphone", "passed"], ["speaker", "passed"], ["network", "passed"]], "no camera step to fail");
  assert.equal(await voice.locator("video.preview").isVisible(), false, "no empty picture to preview");
  await screenshot(voice, "precall-camera-access-off-390x844");
  await voice.click("#continue");
  await voice.waitForSelector("#knock", { timeout: TIMEOUT });
  assert.equal(await voice.locator("#door-camera").count(), 0, "no camera switch at the door");
  assert.equal(await voice.locator(".self-view-frame").isVisible(), false, "nor an empty picture");
  await voice.click("#knock");
  await voice.waitForSelector("#waiting-status", { timeout: TIMEOUT });
  await screenshot(voice, "waiting-camera-access-off-390x844");
  await openPeople(host);
  await knockerItem(host, "Vo").locator(".let-in").click();
  await voice.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.equal(await voice.locator("#camera-toggle").count(), 0, "no camera button in the call");
  assert.equal(await voice.locator("#microphone-toggle").isVisible(), true);
  await remoteVideosPlay(voice, 1);
  await remoteAudioHeard(host, 1);
  const voiceId = await clientIdOf(voice);
  const heard = (await remoteTiles(host)).find((tile) => tile.clientId === voiceId);
  assert.equal(heard?.width, 0, `the host sees no picture of the person: ${JSON.stringify(heard)}`);
  assert.equal(await voice.evaluate(() => window.videoRequests), 0, "the camera was never asked for");
  await screenshot(voice, "call-camera-access-off-390x844");

  const low = await open("low");
  await enter(low, `${meeting.hostRoomUrl}&lowData`, "Lo");
  await low.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const ownWidth = await low.evaluate(() => document.querySelector(".tile.self video").srcObject.getVideoTracks()[0].getSettings().width);
  assert.ok(ownWidth <= 320, `lowData captures at most 320 px wide: ${ownWidth}`);
  const lowId = await clientIdOf(low);
  await until(async () => (await remoteTiles(host)).find((tile) => tile.clientId === lowId && tile.width > 0), "the host sees the lowData camera");
  const seen = (await remoteTiles(host)).find((tile) => tile.clientId === lowId);
  assert.ok(seen.width <= 320, `and receives it at most 320 px wide: ${JSON.stringify(seen)}`);
  noPageErrors(host, voice, low);
});

test("a viewer is never asked for a camera or microphone: the review says why, the call and its settings need none", async (t) => {
  const open = opener(browser, t);
  // Made for local recording: a viewer, neither seen nor heard, is not told a host may record them.
  const meeting = await server.meeting({ isLocked: true, recording: { type: "local" }, fields: ["hostRoomUrl", "viewerRoomUrl"] });
  const host = await open("host");
  await enterAsHost(host, meeting);

  const viewer = await open("viewer", { viewport: { width: 390, height: 844 } });
  await viewer.addInitScript(recordDeviceTracks);
  await viewer.goto(`${meeting.viewerRoomUrl}&precallCeremony=on`);
  await viewer.waitForSelector(".check");
  assert.equal(await viewer.textContent("#precall-title"), "Join as a viewer");
  assert.match(await viewer.textContent("#viewer-note"), /Nobody will see or hear you/);
  for (const absent of ["video.preview", "#precall-camera", "#precall-microphone", "#camera-picker", "#microphone-picker", "#may-be-recorded"]) {
    assert.equal(await viewer.locator(absent).count(), 0, `no ${absent} on a viewer's review`);
  }
  await viewer.click("#heard-yes", { timeout: 30000 });
  await viewer.waitForSelector("#continue:not([disabled])", { timeout: 30000 });
  const steps = await viewer.$$eval(".check li", (items) => items.map((li) => [li.dataset.step, li.querySelector(".status").textContent]));
  assert.deepEqual(steps, [["speaker", "passed"], ["network", "passed"]], "only what a viewer uses is checked");
  await viewer.fill("#display-name", "Vic");
  await assertAccessible(viewer, "a viewer's review");
  await screenshot(viewer, "precall-viewer-390x844");
  await viewer.click("#continue");
  // A viewer's key lets them in past the lock, without knocking.
  await viewer.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(viewer, 1);
  // (Nor the invite link: the guest link it copies would let in, as a participant, whoever the
  // viewer gave it to.)
  for (const absent of ["#microphone-toggle", "#camera-toggle", "#screenshare-toggle", ".tile.self", "#copy-invite"]) {
    assert.equal(await viewer.locator(absent).count(), 0, `no ${absent} in a viewer's call`);
  }
  await viewer.click("#settings-toggle");
  await viewer.waitForSelector("#speaker-picker", { state: "visible" });
  assert.equal(await viewer.locator("#settings-nothing").isVisible(), false);
  assert.equal(await viewer.evaluate(() => window.deviceRequests), 0, "the camera and microphone were never asked for");
  await screenshot(viewer, "call-viewer-settings-390x844");

  // Straight into the call (no review), in a browser that names no device to a page that was
  // never allowed a microphone (as browsers do; this one names them all): settings says why it
  // offers no speaker, rather than showing nothing.
  const unnamed = await open("viewer without device names");
  await unnamed.addInitScript(recordDeviceTracks);
  await unnamed.addInitScript(() => {
    const enumerate = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
    navigator.mediaDevices.enumerateDevices = async () => (await enumerate()).map((d) => ({ kind: d.kind, deviceId: "", groupId: "", label: "" }));
  });
  await unnamed.goto(`${meeting.viewerRoomUrl}&precallReview=off&displayName=Una`);
  await unnamed.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(unnamed, 1);
  await unnamed.click("#settings-toggle");
  await unnamed.waitForSelector("#settings-nothing", { state: "visible" });
  assert.equal(await unnamed.locator("#speaker-picker").isVisible(), false);
  assert.equal(await unnamed.evaluate(() => window.deviceRequests), 0, "no review: still never asked for");
  await screenshot(unnamed, "call-viewer-settings-no-device-names");
  noPageErrors(host, viewer, unnamed);
});

test("a viewer come before anyone is told the meeting will show there, until someone joins", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true, roomMode: "group", fields: ["hostRoomUrl", "viewerRoomUrl"] });
  const viewer = await open("early viewer", { viewport: { width: 390, height: 844 } });
  await viewer.goto(`${meeting.viewerRoomUrl}&precallReview=off&displayName=Vic`);
  await viewer.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await viewer.waitForSelector("#stage-empty", { state: "visible" });
  assert.equal(await viewer.textContent("#stage-empty"), "The meeting will show here when someone joins.");
  await screenshot(viewer, "call-viewer-alone-390x844");
  const host = await open("host");
  await enterAsHost(host, meeting);
  await viewer.waitForSelector("#stage-empty", { state: "hidden", timeout: TIMEOUT });
  await remoteVideosPlay(viewer, 1);
  noPageErrors(host, viewer);
});

test("avatarUrl: the person's picture at the door and in the room; an address the server would refuse is left out", async (t) => {
  const open = opener(browser, t);
  const address = `${pictures.origin}/pat.png`;
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  await enterAsHost(host, meeting);
  const pat = await open("pat");
  await knock(pat, { roomUrl: `${meeting.roomUrl}?video=off&avatarUrl=${encodeURIComponent(address)}` }, "Pat");
  const bad = await open("bad");
  await knock(bad, { roomUrl: `${meeting.roomUrl}?video=off&avatarUrl=${encodeURIComponent("http://tracker.example.com/p.png")}` }, "Bea Bad");
  // The same picture by another origin (localhost is not 127.0.0.1): not listed, left out.
  const unlisted = await open("unlisted");
  await knock(unlisted, { roomUrl: `${meeting.roomUrl}?video=off&avatarUrl=${encodeURIComponent(address.replace("127.0.0.1", "localhost"))}` }, "Una Listed");
  const gone = await open("gone");
  await knock(gone, { roomUrl: `${meeting.roomUrl}?video=off&avatarUrl=${encodeURIComponent(address.replace("pat.png", "missing.png"))}` }, "Cy");
  await openPeople(host);
  const shown = (item) => item.locator(".avatar img").evaluate((img) => img.complete && img.naturalWidth);
  await until(async () => (await shown(knockerItem(host, "Pat"))) || undefined, "the knocker's picture loads in the People panel");
  assert.equal(await shown(knockerItem(host, "Pat")), 64);
  assert.equal(await knockerItem(host, "Bea Bad").locator(".avatar").textContent(), "BB", "no picture: initials");
  assert.equal(await knockerItem(host, "Una Listed").locator(".avatar").textContent(), "UL", "an origin not listed: initials");
  await until(async () => (await knockerItem(host, "Cy").locator(".avatar").textContent()) === "C" || undefined, "a picture that does not load: initials");
  // The list is drawn again (a hold): the picture that did not load is not asked for again.
  await knockerItem(host, "Cy").locator(".hold").click();
  await host.waitForFunction(() => [...document.querySelectorAll(".knocker .knock-state")].some((s) => /hold/i.test(s.textContent)));
  assert.equal(await knockerItem(host, "Cy").locator(".avatar").textContent(), "C");
  assert.equal(pictures.asked.get("/missing.png"), 1, "asked for once");
  await screenshot(host, "people-knocker-picture-1366x657");
  await knockerItem(host, "Pat").locator(".let-in").click();
  await pat.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const patId = await clientIdOf(pat);
  for (const page of [host, pat]) {
    const tile = page.locator(`.tile[data-client-id="${patId}"]`);
    await until(async () => (await shown(tile)) || undefined, `${page.label}: Pat's tile shows the picture`);
    assert.equal(await tile.locator(".avatar").isVisible(), true, `${page.label}: camera off, picture shown`);
  }
  await screenshot(host, "call-picture-1366x657");
  // (The browser reports the missing picture once, as a failed load.)
  noPageErrorsBut([/404 \(Not Found\) http:\/\/127\.0\.0\.1:\d+\/missing\.png/], host, pat, bad, unlisted, gone);
});

test("aec, agc and audioDenoiser off: the microphone comes without the browser's processing", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const processing = async (query) => {
    const page = await open(`processing${query}`);
    await page.goto(`${meeting.roomUrl}${query}`);
    await page.waitForSelector("#continue");
    await page.waitForFunction(() => document.querySelector("video.preview")?.srcObject?.getAudioTracks().length > 0);
    const settings = await page.evaluate(() => {
      const { echoCancellation, autoGainControl, noiseSuppression } = document.querySelector("video.preview").srcObject.getAudioTracks()[0].getSettings();
      return { echoCancellation, autoGainControl, noiseSuppression };
    });
    noPageErrors(page);
    return settings;
  };
  assert.deepEqual(await processing(""), { echoCancellation: true, autoGainControl: true, noiseSuppression: true });
  assert.deepEqual(await processing("?aec=off&agc=off&audioDenoiser=off"), { echoCancellation: false, autoGainControl: false, noiseSuppression: false });
  assert.deepEqual(await processing("?aec=off"), { echoCancellation: false, autoGainControl: true, noiseSuppression: true });
});

test("lowData in a group room asks the server for smaller layers", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  const asked = new Map();
  const pages = [];
  for (const [name, query] of [["Full", ""], ["Low", "?lowData"]]) {
    const page = await open(name);
    asked.set(page, []);
    page.on("websocket", (socket) => socket.on("framesent", ({ payload }) => {
      if (typeof payload === "string" && payload.includes('"sfu_view"')) asked.get(page).push(JSON.parse(payload).payload.width);
    }));
    await enter(page, `${meeting.roomUrl}${query}`, name);
    await page.waitForSelector(".screen.call", { timeout: TIMEOUT });
    pages.push(page);
  }
  const [full, low] = pages;
  await remoteVideosPlay(full, 1);
  await remoteVideosPlay(low, 1);
  // The same window, the same layout (the other person large): the lowData page asks for half.
  const widest = (page) => Math.max(0, ...asked.get(page));
  await until(async () => (widest(full) > 0 && widest(low) > 0) || undefined, "both pages say how wide they show the other");
  assert.ok(Math.abs(widest(low) - widest(full) / 2) <= 16, `half as wide: full ${asked.get(full)}, low ${asked.get(low)}`);
  noPageErrors(full, low);
});

async function putImage(meeting, part, image) {
  const form = new FormData();
  form.append("image", new Blob([image], { type: "image/png" }), "image.png");
  const response = await fetch(`${server.base}/v1/rooms${meeting.roomName}/theme/${part}`, {
    method: "PUT", headers: { Authorization: `Bearer ${server.key}` }, body: form,
  });
  assert.equal(response.status, 204, await response.text());
}

test("externalId and metadata travel with the knock; skipMediaPermissionPrompt asks for no devices up front", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  const host = await open("host");
  const knocks = [];
  host.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => {
    const frame = JSON.parse(payload);
    if (frame.type === "room_knocked") knocks.push(frame.payload);
  }));
  await enterAsHost(host, meeting);

  const guest = await open("guest");
  await guest.addInitScript(recordDeviceTracks);
  await guest.goto(`${meeting.roomUrl}?displayName=Kim&externalId=patient-17&metadata=visit-42&skipMediaPermissionPrompt=on`);
  await guest.waitForSelector("#continue");
  assert.equal(await guest.evaluate(() => window.deviceRequests), 0, "no permission prompt before the person asks");
  assert.ok(await guest.getByText("Turn on camera and microphone").isVisible(), "the person can turn devices on");
  await guest.click("#continue");
  // At the door, the switches say what would reach the room: nothing is open.
  await guest.waitForSelector("#knock");
  assert.match(await guest.textContent("#door-microphone"), /Unmute microphone/);
  assert.match(await guest.textContent("#door-camera"), /Turn camera on/);
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status");
  assert.equal(await guest.evaluate(() => window.deviceRequests), 0, "knocking needs no devices either");

  await openPeople(host);
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1, null, { timeout: TIMEOUT });
  assert.equal(knocks.length, 1);
  assert.equal(knocks[0].displayName, "Kim");
  assert.equal(knocks[0].externalId, "patient-17");
  assert.equal(knocks[0].metadata, "visit-42");
  // In the call without devices, its buttons say so; unmuting opens the microphone, and is heard.
  await knockerItem(host, "Kim").locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  assert.match(await guest.textContent("#microphone-toggle"), /^Unmute/);
  assert.match(await guest.textContent("#camera-toggle"), /^Start video/);
  await guest.click("#microphone-toggle");
  await remoteAudioHeard(host, 1);
  assert.match(await guest.textContent("#microphone-toggle"), /^Mute/);
  assert.equal(await guest.evaluate(() => window.deviceRequests), 1, "the microphone alone was asked for");
  noPageErrors(host, guest);
});

test("the knock page shows the room's background and logo, updated live", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  await putImage(meeting, "room-knock-page-background", png(320, 180, [200, 30, 30]));
  const guest = await open("guest");
  await enter(guest, meeting.roomUrl, "Looker");
  await guest.waitForSelector("#knock");
  assert.match(await guest.evaluate(() => document.body.style.backgroundImage), /room-knock-page-background/);
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status");
  const before = await guest.evaluate(() => document.body.style.backgroundImage);
  await putImage(meeting, "room-knock-page-background", png(320, 180, [30, 30, 200]));
  await putImage(meeting, "logo", png(64, 64, [255, 255, 255]));
  await guest.waitForFunction((old) => document.body.style.backgroundImage !== old, before, { timeout: TIMEOUT });
  await guest.waitForSelector("#room-logo:not([hidden])");
  const loaded = await guest.evaluate(() => document.getElementById("room-logo").complete && document.getElementById("room-logo").naturalWidth);
  assert.equal(loaded, 64, "the logo image loads from the server");
  await screenshot(guest, "12-knock-page-themed");

  // background=off and logo=off leave the room's look out.
  const plain = await open("plain guest");
  await enter(plain, `${meeting.roomUrl}?background=off&logo=off`, "Plain");
  await plain.waitForSelector("#knock");
  assert.equal(await plain.evaluate(() => document.body.style.backgroundImage), "");
  assert.ok(await plain.locator("#room-logo").isHidden());
  noPageErrors(guest, plain);
});

/** The average colour of what a remote tile's video shows right now, read by the test. */
async function pictureOf(page) {
  return page.evaluate(() => {
    const video = document.querySelector(".tile:not(.self) video");
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 36;
    const g = canvas.getContext("2d", { willReadFrequently: true });
    g.drawImage(video, 0, 0, 64, 36);
    const { data } = g.getImageData(0, 0, 64, 36);
    const sum = [0, 0, 0];
    for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += data[i + c];
    return { width: video.videoWidth, height: video.videoHeight, rgb: sum.map((v) => Math.round(v / (data.length / 4))) };
  });
}

// In a normal room the screen replaces the camera on the peer connection; in a group room it goes to
// the media server as a track of its own, which the watcher is given in a slot of kind "screen".
for (const mode of ["normal", "group"]) test(`screen share replaces the camera for the others (${mode} room): the picture changes, shown whole and unmirrored`, async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: mode });
  const sharer = await open("sharer");
  const watcher = await open("watcher");
  const slotKinds = [];
  watcher.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => {
    if (typeof payload === "string" && payload.includes('"sfu_slots"')) slotKinds.push(JSON.parse(payload).payload.slots.filter((slot) => slot.clientId).map((slot) => slot.kind));
  }));
  // The screen offered to share: magenta (a fake camera is green), so the watcher can tell which
  // one it receives.
  await offerMagentaScreen(sharer);
  for (const [page, name] of [[sharer, "Sharer"], [watcher, "Watcher"]]) {
    await enter(page, meeting.roomUrl, name);
    await page.waitForSelector(".screen.call");
  }
  await remoteVideosPlay(watcher, 1);
  const camera = await pictureOf(watcher);
  assert.ok(camera.rgb[1] > camera.rgb[0] + 40, `the camera's green picture first: ${JSON.stringify(camera)}`);
  await sharer.click("#screenshare-toggle");
  await sharer.waitForFunction(() => document.getElementById("screenshare-toggle").getAttribute("aria-pressed") === "true", null, { timeout: TIMEOUT });
  await watcher.waitForFunction(() => document.querySelector(".tile:not(.self)")?.classList.contains("shared-screen"), null, { timeout: TIMEOUT });
  const deadline = Date.now() + TIMEOUT;
  let shared = await pictureOf(watcher);
  while (!(shared.rgb[0] > 200 && shared.rgb[2] > 200 && shared.rgb[1] < 60) && Date.now() < deadline) {
    await watcher.waitForTimeout(300);
    shared = await pictureOf(watcher);
  }
  assert.ok(shared.rgb[0] > 200 && shared.rgb[2] > 200 && shared.rgb[1] < 60, `the watcher sees the shared screen: ${JSON.stringify(shared)}`);
  const style = await watcher.evaluate(() => {
    const video = document.querySelector(".tile.shared-screen video");
    const tile = video.closest(".tile");
    return { fit: getComputedStyle(video).objectFit, transform: getComputedStyle(video).transform, featured: tile.classList.contains("featured") };
  });
  assert.deepEqual(style, { fit: "contain", transform: "none", featured: true }, "a screen is shown whole, unmirrored, on the large stage");
  const own = await sharer.evaluate(() => getComputedStyle(document.querySelector(".tile.self video")).transform);
  assert.equal(own, "none", "the sharer's own preview of the screen is not mirrored");
  await screenshot(watcher, mode === "normal" ? "screen-share-watcher" : "screen-share-watcher-group");
  // On a large window the screen takes the large area's width, drawn where the stage placed it
  // (the app's rule for its screens, precall to call, once applied to the tile too: at most 960
  // px wide, inside a margin).
  await watcher.setViewportSize({ width: 1920, height: 969 });
  // The stage lays itself out again once it has seen the new size (a ResizeObserver, then a
  // frame; on a loaded machine later than the first look).
  await watcher.waitForFunction(() => document.querySelector(".tile.shared-screen.featured").getBoundingClientRect().width > 1200, null, { timeout: 3000 }).catch(() => {});
  const wide = await watcher.evaluate(() => document.querySelector(".tile.shared-screen.featured").getBoundingClientRect().width);
  assert.ok(wide > 1200, `the shared screen is ${wide} px wide at 1920x969`);
  await callFitsSoon(watcher, `a shared screen at 1920x969 (${mode} room)`);
  if (mode === "normal") await screenshot(watcher, "screen-share-watcher-1920x969");
  // On a phone held upright, tiles may be taller than the video (cropped), but the shared screen,
  // shown whole, keeps its aspect.
  await watcher.setViewportSize({ width: 390, height: 844 });
  await watcher.waitForFunction(() => {
    const tile = document.querySelector(".tile.shared-screen.featured");
    return tile && tile.clientWidth < 390 && Math.abs(tile.clientWidth / tile.clientHeight - 16 / 9) < 0.1;
  }, null, { timeout: 3000 });
  if (mode === "group") await screenshot(watcher, "screen-share-watcher-phone");
  await watcher.setViewportSize(DEFAULT_VIEWPORT);
  // The sharer's network drops and comes back: the share goes on, not the camera in its place.
  await sharer.context().setOffline(true);
  await sharer.waitForSelector("#connection-banner:not([hidden])", { timeout: TIMEOUT });
  await sharer.context().setOffline(false);
  await sharer.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  const magenta = ({ rgb }) => rgb[0] > 200 && rgb[2] > 200 && rgb[1] < 60;
  await until(async () => {
    const seen = await watcher.evaluate(() => Boolean(document.querySelector(".tile.shared-screen:not(.self) video")?.srcObject));
    const picture = seen ? await pictureOf(watcher) : null;
    return picture && magenta(picture) ? true : undefined;
  }, "the watcher sees the screen again after the sharer's reconnect");
  assert.equal(await sharer.getAttribute("#screenshare-toggle", "aria-pressed"), "true", "still sharing");
  await sharer.click("#screenshare-toggle");
  await sharer.waitForFunction(() => document.getElementById("screenshare-toggle").getAttribute("aria-pressed") === "false");
  await watcher.waitForFunction(() => !document.querySelector(".tile.shared-screen"), null, { timeout: TIMEOUT });
  if (mode === "group") {
    assert.ok(slotKinds.some((kinds) => kinds.includes("screen") && kinds.includes("video")), `the screen came in a slot of its own, beside the camera: ${JSON.stringify(slotKinds)}`);
  }
  // The camera again, once sharing stops.
  const back = Date.now() + TIMEOUT;
  let picture = await pictureOf(watcher);
  while (!(picture.rgb[1] > picture.rgb[0] + 40) && Date.now() < back) {
    await watcher.waitForTimeout(300);
    picture = await pictureOf(watcher);
  }
  assert.ok(picture.rgb[1] > picture.rgb[0] + 40, `the camera's picture is back: ${JSON.stringify(picture)}`);
  noPageErrorsBut([/WebSocket connection to .* failed/], sharer);
  noPageErrors(watcher);
});
