// Devices during the call: the Settings panel switches the camera, microphone and speaker without
// leaving it (the others go on seeing and hearing the person, now through the device chosen), and
// a device that goes away (unplugged) gives way to the browser's default, saying so; the next call
// in the same browser starts with the devices chosen. In a normal room (peer to peer) and a group
// room (the media server).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer } from "../lib/server.mjs";
import { launch, opener, pageBeside, recordPeerConnections, screenshot } from "../lib/browser.mjs";
import { TIMEOUT, clientIdOf, enter, remoteAudioHeard, remoteVideosPlay, noPageErrors, until } from "../lib/flows.mjs";
import { assertAccessible, callFitsSoon } from "../lib/checks.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  // Cameras to choose between. Chromium's second fake camera (fake_device_1) gives 16-bit depth
  // frames, which a page can show but no video encoder takes: the test switches to the third.
  browser = await launch({ cameras: 3 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The label of each kind of track the page sends on its open connections. */
function sentLabels(page) {
  return page.evaluate(() => Object.fromEntries(window.peerConnections
    .filter((pc) => pc.connectionState !== "closed")
    .flatMap((pc) => pc.getSenders())
    .filter((sender) => sender.track)
    .map((sender) => [sender.track.kind, sender.track.label])));
}

/** Waits until the page sends a track of `kind` from the device labelled `label`. */
async function sends(page, kind, label) {
  await until(async () => ((await sentLabels(page))[kind] === label ? true : undefined),
    async () => `${page.label} sends ${kind} from ${label}`);
}

const pickedLabel = (page, picker) => page.$eval(picker, (select) => select.selectedOptions[0]?.textContent);

for (const mode of ["normal", "group"]) {
  test(`settings switch the camera, microphone and speaker during the call; an unplugged device gives way (${mode} room)`, async (t) => {
    const open = opener(browser, t);
    const meeting = await server.meeting({ isLocked: false, roomMode: mode });
    const host = await open("host");
    await host.context().addInitScript(recordPeerConnections);
    await enter(host, meeting.hostRoomUrl, "Dr Host");
    await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
    const guest = await open("guest");
    await enter(guest, meeting.roomUrl, "Gale");
    await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
    await Promise.all([remoteVideosPlay(host, 1), remoteVideosPlay(guest, 1)]);
    await sends(host, "video", "fake_device_0");

    await host.click("#settings-toggle");
    await host.waitForSelector("#settings-panel:not([hidden])");
    assert.equal(await host.getAttribute("#settings-toggle", "aria-expanded"), "true");
    assert.equal(await host.evaluate(() => document.activeElement?.id), "settings-title", "focus goes to the panel");
    // (The panel lists what the browser says it has: a moment after it opens.)
    await host.waitForFunction(() => document.querySelectorAll("#camera-picker option").length > 0);
    assert.deepEqual(await host.$$eval("#camera-picker option", (options) => options.map((o) => o.textContent)), ["fake_device_0", "fake_device_1", "fake_device_2"]);
    assert.equal(await pickedLabel(host, "#camera-picker"), "fake_device_0", "the camera in use is the one picked");
    assert.ok(await host.locator("#microphone-picker option").count() >= 2, "the microphones are listed");

    // The camera: the guest now sees the other one, and the host's own tile shows it too.
    await host.selectOption("#camera-picker", { label: "fake_device_2" });
    await sends(host, "video", "fake_device_2");
    assert.equal(await host.$eval(".tile.self video", (v) => v.srcObject.getVideoTracks()[0]?.label), "fake_device_2");
    await remoteVideosPlay(guest, 1);

    // The microphone: the guest hears the one chosen; the panel's meter moves with it.
    await host.selectOption("#microphone-picker", { label: "Fake Audio Input 1" });
    await sends(host, "audio", "Fake Audio Input 1");
    await remoteAudioHeard(guest, 1);
    await until(async () => (Number(await host.getAttribute("#settings-panel [role=meter]", "aria-valuenow")) > 0 ? true : undefined),
      "the microphone's meter moves");

    // The speaker: the others' sound plays there.
    const output = await host.$eval("#speaker-picker", (select) => [...select.options].find((o) => o.textContent === "Fake Audio Output 1")?.value);
    assert.ok(output, "the speakers are listed");
    await host.selectOption("#speaker-picker", output);
    await until(async () => ((await host.$$eval(".tile:not(.self) video", (videos) => videos.map((v) => v.sinkId))).every((id) => id === output) ? true : undefined),
      "the others' sound goes to the speaker chosen");

    if (mode === "normal") {
      // The next call in this browser starts with the devices chosen here (a room of its own).
      const nextCall = await server.meeting({ isLocked: false });
      const next = await pageBeside(host, "host's next call");
      await enter(next, nextCall.roomUrl, "Dr Host");
      await next.waitForSelector(".screen.call", { timeout: TIMEOUT });
      await until(async () => ((await next.$eval(".tile.self video", (v) => v.srcObject?.getVideoTracks()[0]?.label)) === "fake_device_2" ? true : undefined),
        "the next call's camera is the one chosen");
      assert.equal(await next.$eval(".tile.self video", (v) => v.srcObject.getAudioTracks()[0]?.label), "Fake Audio Input 1", "and its microphone");
      await next.click("#settings-toggle");
      await next.waitForFunction(() => document.querySelectorAll("#speaker-picker option").length > 0);
      assert.equal(await next.$eval("#speaker-picker", (select) => select.value), output, "and its speaker");
      noPageErrors(next);
      await next.close();
      // A camera chosen then that is no longer there: the call starts with the browser's default.
      const unplugged = await pageBeside(host, "host's call after unplugging");
      await unplugged.addInitScript(() => localStorage.setItem("anteroom:devices", JSON.stringify({ videoinput: "a-camera-unplugged-since" })));
      await enter(unplugged, nextCall.roomUrl, "Dr Host");
      await unplugged.waitForSelector(".screen.call", { timeout: TIMEOUT });
      await until(async () => ((await unplugged.$eval(".tile.self video", (v) => v.srcObject?.getVideoTracks()[0]?.label)) === "fake_device_0" ? true : undefined),
        "the default camera, the one chosen being gone");
      noPageErrors(unplugged);
      await unplugged.close();

      for (const [width, height] of [[1366, 657], [390, 844]]) {
        await host.setViewportSize({ width, height });
        await callFitsSoon(host, `settings open at ${width}x${height}`);
        await screenshot(host, `call-settings-${width}x${height}`);
        await assertAccessible(host, `settings open at ${width}x${height}`);
      }
      await host.setViewportSize({ width: 1366, height: 657 });
    }

    // The camera in use is unplugged (its track ends on its own): the default one takes over,
    // the person is told which, and the guest sees it.
    await host.$eval(".tile.self video", (v) => v.srcObject.getVideoTracks()[0].dispatchEvent(new Event("ended")));
    await host.waitForSelector(".toast:has-text('Your camera was disconnected. Now using fake_device_0.')", { timeout: TIMEOUT });
    await sends(host, "video", "fake_device_0");
    await until(async () => ((await pickedLabel(host, "#camera-picker")) === "fake_device_0" ? true : undefined), "the picker shows the camera now in use");
    await remoteVideosPlay(guest, 1);
    // The microphone too.
    await host.$eval(".tile.self video", (v) => v.srcObject.getAudioTracks()[0].dispatchEvent(new Event("ended")));
    await host.waitForSelector(".toast:has-text('Your microphone was disconnected. Now using')", { timeout: TIMEOUT });
    await until(async () => ((await sentLabels(host)).audio?.startsWith("Fake Default Audio Input") ? true : undefined), "the default microphone is sent");
    await remoteAudioHeard(guest, 1);

    await host.keyboard.press("Escape");
    await host.waitForSelector("#settings-panel", { state: "hidden" });
    assert.equal(await host.evaluate(() => document.activeElement?.id), "settings-toggle", "focus back on the button");
    if (mode === "normal") {
      // Unplugged with no other camera to take over (the browser finds none): the camera goes
      // off, the person is told, and the guest sees it off.
      await host.evaluate(() => {
        window.plugged = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Requested device not found", "NotFoundError"));
      });
      const hostId = await clientIdOf(host);
      await host.$eval(".tile.self video", (v) => v.srcObject.getVideoTracks()[0].dispatchEvent(new Event("ended")));
      await host.locator(".toast span", { hasText: /^Your camera was disconnected\.$/ }).waitFor({ timeout: TIMEOUT });
      await host.waitForSelector("#camera-toggle[title='Start video']", { timeout: TIMEOUT });
      await guest.waitForSelector(`.tile.camera-off[data-client-id="${hostId}"]`, { timeout: TIMEOUT });
      assert.equal(await host.$eval(".tile.self video", (v) => v.srcObject.getVideoTracks().length), 0, "no camera left in the call");
      // One plugged in again: Start video turns it on, and the guest sees it.
      await host.evaluate(() => { navigator.mediaDevices.getUserMedia = window.plugged; });
      await host.click("#camera-toggle");
      await guest.waitForSelector(`.tile:not(.camera-off)[data-client-id="${hostId}"]`, { timeout: TIMEOUT });
      await remoteVideosPlay(guest, 1);
      noPageErrors(host, guest);
      return;
    }
    // A viewer sends nothing: their settings choose only where sound plays.
    const viewer = await open("viewer");
    await enter(viewer, meeting.viewerRoomUrl, "Vic");
    await viewer.waitForSelector(".screen.call", { timeout: TIMEOUT });
    await viewer.click("#settings-toggle");
    await viewer.waitForSelector("#speaker-picker", { timeout: TIMEOUT });
    assert.deepEqual(await viewer.$$eval("#settings-panel select", (selects) => selects.filter((s) => s.checkVisibility()).map((s) => s.id)), ["speaker-picker"]);
    assert.equal(await viewer.locator("#settings-panel [role=meter]").count(), 0, "no microphone to meter");
    noPageErrors(host, guest, viewer);
  });
}
