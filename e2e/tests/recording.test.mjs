// Local recording (Whereby's recording.type "local"): a host records the call in their own
// browser; everyone in the room sees that it is recorded; the file the browser downloads when it
// stops shows the call (everyone's picture, at 1280×720) and carries its sound. The fake camera
// shows a sharp checkerboard and the fake microphone loud speech, so that the file can be judged.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";

import { startServer } from "../lib/server.mjs";
import { OUTPUT, launch, offerMagentaScreen, opener, pageBeside, screenshot } from "../lib/browser.mjs";
import { checkerboardVideo } from "../lib/pictures.mjs";
import { loudSpeech } from "../lib/audio.mjs";
import { TIMEOUT, enter, enterAsHost, hostAndGuest, remoteVideosPlay, noPageErrors, until, videoPicture } from "../lib/flows.mjs";
import { assertAccessible } from "../lib/checks.mjs";
import { embedPageServer } from "../lib/embed.mjs";

const LOCAL = { type: "local", destination: null, startTrigger: "none" };

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch({ videoFile: checkerboardVideo(), audioFile: loudSpeech() });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * Plays a recorded file in `page` and says what it holds: its picture's size, how it looks after a
 * second of playing (videoPicture's measures, `near` a colour to count), and how loud its sound is
 * (the RMS of the samples over that second, 0–1); a screenshot of it is saved as `shot`.
 */
async function played(page, file, shot, near = null) {
  const base64 = (await readFile(file)).toString("base64");
  await page.evaluate(async (data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const video = Object.assign(document.createElement("video"), { id: "played", playsInline: true });
    video.style.cssText = "position:fixed;inset:0;width:640px;height:360px;z-index:100;background:#000";
    video.src = URL.createObjectURL(new Blob([bytes], { type: "video/webm" }));
    document.body.append(video);
    const audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 2048;
    audio.createMediaElementSource(video).connect(analyser);
    await audio.resume();
    await video.play();
    const samples = new Float32Array(analyser.fftSize);
    let sum = 0;
    let count = 0;
    const started = performance.now();
    while (performance.now() - started < 1500) {
      analyser.getFloatTimeDomainData(samples);
      for (const s of samples) sum += s * s;
      count += samples.length;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    video.pause();
    window.playedLoudness = Math.sqrt(sum / count);
  }, base64);
  const picture = await videoPicture(page, "#played", near);
  await page.locator("#played").screenshot({ path: path.join(OUTPUT, `${shot}.png`) });
  const { width, height, loudness } = await page.evaluate(() => {
    const video = document.querySelector("#played");
    return { width: video.videoWidth, height: video.videoHeight, loudness: window.playedLoudness };
  });
  return { width, height, loudness, ...picture };
}

// In a group room the others' sound and pictures come through the media server, in slots that
// move between people: the recording must mix them all the same.
for (const mode of ["normal", "group"]) test(`a host records a local meeting (${mode} room): everyone is told; the file saved on stopping has the call's pictures and sound`, async (t) => {
  const opened = opener(browser, t);
  // In the normal room the guest's computer's clock is ten minutes slow: the badge counts by the
  // server's.
  const open = async (name) => {
    const page = await opened(name);
    if (mode === "normal" && name === "guest") await page.clock.install({ time: Date.now() - 10 * 60_000 });
    return page;
  };
  const meeting = await server.meeting({ isLocked: false, roomMode: mode, recording: LOCAL });
  const { host, guest } = await hostAndGuest(open, meeting);
  assert.equal(await guest.locator("#record-toggle").count(), 0, "a guest has no Record button");
  assert.ok(await guest.locator("#recording-badge").isHidden(), "nothing recorded yet");

  // The host's own microphone off: what the file holds of sound is the guest's, come through the
  // call (the part of the mix that is easy to get wrong).
  await host.click("#microphone-toggle");
  await host.click("#record-toggle");
  await guest.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  await host.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  assert.match(await guest.getAttribute("#recording-badge", "title"), /Dr Host is recording this call/);
  assert.equal(await host.getAttribute("#record-toggle", "aria-pressed"), "true");
  assert.match(await host.getAttribute("#record-toggle", "title"), /Stop recording/);
  // A few seconds of the call, counted on the badge.
  await new Promise((resolve) => setTimeout(resolve, 4000));
  assert.match(await guest.textContent("#recording-badge"), /^Recording0:0[3-6]$/);
  if (mode === "normal") {
    await screenshot(guest, "recording-guest-sees-it");
    await screenshot(host, "recording-host");
    await assertAccessible(guest, "the call while it is recorded");
  }

  const download = host.waitForEvent("download", { timeout: TIMEOUT });
  await host.click("#record-toggle");
  const file = await download;
  assert.match(file.suggestedFilename(), /^anteroom-.+-\d{4}-\d{2}-\d{2}-\d{4}\.webm$/);
  const saved = await file.path();
  const bytes = await readFile(saved);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], "a WebM (Matroska) file");
  assert.ok(bytes.length > 50_000, `${bytes.length} bytes for four seconds`);
  await guest.waitForSelector("#recording-badge", { state: "hidden", timeout: TIMEOUT });
  assert.match(await host.getAttribute("#record-toggle", "title"), /Record/);

  const seen = await played(host, saved, `recording-file-frame-${mode}`);
  assert.equal(`${seen.width}x${seen.height}`, "1280x720", JSON.stringify(seen));
  // Two checkerboards side by side (the host's camera and the guest's), not a blank frame.
  assert.ok(seen.sharpness > 8 && seen.brightness > 40, `the recording shows the call: ${JSON.stringify(seen)}`);
  assert.ok(seen.loudness > 0.01, `the recording carries the guest's voice: ${JSON.stringify(seen)}`);
  noPageErrors(host, guest);
});

test("a shared screen is recorded large and whole (not cut to the tile's shape)", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, recording: LOCAL });
  const host = await open("host");
  const guest = await open("guest");
  // The screen the guest shares: 4:3 (a tile is 16:9).
  await offerMagentaScreen(guest, { width: 960, height: 720 });
  await enter(host, meeting.hostRoomUrl, "Dr Host");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await enter(guest, meeting.roomUrl, "Gale");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(host, 1);
  await guest.click("#screenshare-toggle");
  await host.waitForSelector(".tile.shared-screen:not(.self)", { timeout: TIMEOUT });
  await host.click("#record-toggle");
  await guest.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const download = host.waitForEvent("download", { timeout: TIMEOUT });
  await host.click("#record-toggle");
  const seen = await played(host, await (await download).path(), "recording-file-screen", [255, 0, 255]);
  // The screen large: a 4:3 picture in the featured place, all of it (about a third of the frame;
  // cut to a 16:9 place it would fill over half).
  assert.ok(seen.nearShare > 0.25 && seen.nearShare < 0.45, `the screen whole and large: ${JSON.stringify(seen)}`);
  noPageErrors(host, guest);
});

/** A host and a guest in a local meeting, the host recording and the guest told so. */
async function recordingFor(open) {
  const meeting = await server.meeting({ isLocked: false, recording: LOCAL });
  const { host, guest } = await hostAndGuest(open, meeting);
  await host.click("#record-toggle");
  await guest.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  return { meeting, host, guest };
}

test("the recording stops for everyone, and is saved, when its host leaves", async (t) => {
  const open = opener(browser, t);
  const { meeting, host, guest } = await recordingFor(open);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const download = host.waitForEvent("download", { timeout: TIMEOUT });
  await host.click("#leave");
  assert.match((await download).suggestedFilename(), /\.webm$/);
  await guest.waitForSelector("#recording-badge", { state: "hidden", timeout: TIMEOUT });
  noPageErrors(host, guest);
});

test("someone at the door of a call being recorded is told so before knocking, and while waiting", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true, recording: LOCAL });
  const host = await open("host");
  await enterAsHost(host, meeting);
  assert.equal(await host.locator("#may-be-recorded").count(), 0, "a host is not warned of themself");
  await host.click("#record-toggle");
  await host.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  const guest = await open("guest");
  // Before entering: the meeting allows hosts to record.
  await enter(guest, meeting.roomUrl, "Pat", async (review) => {
    assert.equal(await review.textContent("#may-be-recorded"), "A host may record this call.");
    await screenshot(review, "recording-may-be-recorded-precall");
  });
  await guest.waitForSelector("#knock", { timeout: TIMEOUT });
  assert.equal(await guest.textContent("#door-recording"), "This call is being recorded.");
  assert.ok(await guest.locator("#door-recording").isVisible());
  await screenshot(guest, "recording-at-the-door");
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status", { timeout: TIMEOUT });
  assert.ok(await guest.locator("#door-recording").isVisible(), "still said while waiting");
  const download = host.waitForEvent("download", { timeout: TIMEOUT });
  await host.click("#record-toggle");
  await download;
  await guest.waitForSelector("#door-recording", { state: "hidden", timeout: TIMEOUT });
  await guest.waitForFunction(() => document.getElementById("announcer").textContent.includes("no longer being recorded"));
  noPageErrors(host, guest);
});

test("a recording whose tab closed (or crashed) while recording is offered for saving on the next visit", async (t) => {
  const open = opener(browser, t);
  const { meeting, host, guest } = await recordingFor(open);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // Gone without a word: no pagehide, no stop, no download.
  await host.close({ runBeforeUnload: false });
  // The room stops the recording once the host's place lapses.
  await guest.waitForSelector("#recording-badge", { state: "hidden", timeout: 3 * TIMEOUT });

  const again = await pageBeside(host, "host, next visit");
  await enter(again, meeting.hostRoomUrl, "Dr Host");
  const offer = again.locator(".toast", { hasText: "was not saved" });
  await offer.waitFor({ timeout: TIMEOUT });
  await screenshot(again, "recording-left-offered");
  const download = again.waitForEvent("download", { timeout: TIMEOUT });
  await offer.getByRole("button", { name: "Save it" }).click();
  const file = await download;
  const bytes = await readFile(await file.path());
  assert.deepEqual([...bytes.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], "a WebM file");
  assert.ok(bytes.length > 30_000, `${bytes.length} bytes of three seconds`);
  const seen = await played(again, await file.path(), "recording-left-frame");
  assert.equal(`${seen.width}x${seen.height}`, "1280x720", JSON.stringify(seen));
  assert.ok(seen.sharpness > 8, `what was recorded shows the call: ${JSON.stringify(seen)}`);
  // Saved: not offered again.
  const later = await pageBeside(host, "host, a later visit");
  await enter(later, meeting.hostRoomUrl, "Dr Host");
  await later.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(await later.locator(".toast", { hasText: "was not saved" }).count(), 0, "offered once");
  noPageErrors(again, later, guest);
});

test("no Record button where the meeting was not made for local recording, or the page asks for none", async (t) => {
  const open = opener(browser, t);
  const plain = await server.meeting({ isLocked: false });
  const host = await open("host");
  await enter(host, plain.hostRoomUrl, "Dr Host");
  // (The bar drawn: its Mute button shows. Then no Record button among its buttons.)
  await host.waitForSelector("#microphone-toggle", { timeout: TIMEOUT });
  assert.equal(await host.locator("#record-toggle:visible").count(), 0, "not a local meeting");
  const guest = await open("guest");
  await enter(guest, plain.roomUrl, "Gale", async (review) => {
    assert.equal(await review.locator("#may-be-recorded").count(), 0, "no word of recording in a meeting that has none");
  });

  const local = await server.meeting({ isLocked: false, recording: LOCAL });
  const other = await open("host, recording=off");
  await enter(other, `${local.hostRoomUrl}&recording=off`, "Dr Other");
  await other.waitForSelector("#microphone-toggle", { timeout: TIMEOUT });
  assert.equal(await other.locator("#record-toggle:visible").count(), 0, "recording=off");
  noPageErrors(host, other, guest);
});

test("<whereby-embed>: the integrator's startRecording and stopRecording record a host's call (the room's button hidden), the file downloaded, with recording_status_change", async (t) => {
  const open = opener(browser, t);
  const pages = await embedPageServer();
  t.after(() => pages.close());
  const meeting = await server.meeting({ isLocked: false, recording: LOCAL });
  const host = await open("host integrator");
  // The integrator drives the recording itself: the room's own button is hidden (recording=off).
  const attrs = encodeURIComponent("precallReview=off,recording=off");
  await host.goto(`http://127.0.0.1:${pages.address().port}/?room=${encodeURIComponent(meeting.hostRoomUrl)}&name=Embedded%20Host&attrs=${attrs}`);
  const events = (type) => host.evaluate((t) => window.events.filter((e) => e.type === t).map((e) => e.detail), type);
  await host.waitForFunction(() => window.events.some((e) => e.type === "join"), null, { timeout: TIMEOUT });
  const guest = await open("guest");
  await enter(guest, meeting.roomUrl, "Gale");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(guest, 1);

  assert.equal(await host.frameLocator("iframe").locator("#record-toggle:visible").count(), 0, "no Record button in the room");
  // No click in the room: the integrator's own button calls the element.
  await host.evaluate(() => document.getElementById("room").startRecording());
  await guest.waitForSelector("#recording-badge:not([hidden])", { timeout: TIMEOUT });
  await until(async () => ((await events("recording_status_change")).length === 1 || undefined), "recording_status_change started");
  const [started] = await events("recording_status_change");
  assert.equal(started.status, "started");
  assert.equal(typeof started.clientId, "string");
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const download = host.waitForEvent("download", { timeout: TIMEOUT });
  await host.evaluate(() => document.getElementById("room").stopRecording());
  const file = await download;
  assert.match(file.suggestedFilename(), /\.webm$/);
  assert.ok((await readFile(await file.path())).length > 10_000, "the file has the recording");
  await guest.waitForSelector("#recording-badge", { state: "hidden", timeout: TIMEOUT });
  await until(async () => ((await events("recording_status_change")).length === 2 || undefined), "recording_status_change stopped");
  assert.deepEqual((await events("recording_status_change"))[1], { status: "stopped" });
  noPageErrors(host, guest);
});
