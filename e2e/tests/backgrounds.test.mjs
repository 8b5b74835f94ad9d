// The camera's background effects: blur chosen on the review or in Settings, the integrator's
// picture (virtualBackgroundUrl), and what happens when either cannot be had. The fake camera
// shows a sharp checkerboard, so that the others' view of it says plainly whether it is blurred
// (the segmentation finds no person in it: all of it is background).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import { startServer } from "../lib/server.mjs";
import { launch, opener, pageBeside, screenshot } from "../lib/browser.mjs";
import { checkerboardVideo, png } from "../lib/pictures.mjs";
import { TIMEOUT, clientIdOf, enter, hostAndGuest, remoteVideosPlay, noPageErrors, noPageErrorsBut, until, videoPicture } from "../lib/flows.mjs";
import { assertAccessible, callFitsSoon } from "../lib/checks.mjs";

const ORANGE = [255, 140, 0];

let server;
let browser;
// Background pictures, served from this machine with CORS (as Whereby asks of them).
let pictures;
let picturesOrigin;

before(async () => {
  const picture = png(128, 72, ORANGE);
  pictures = http.createServer((request, response) => {
    if (request.url !== "/orange.png") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "Content-Type": "image/png", "Access-Control-Allow-Origin": "*" });
    response.end(picture);
  });
  await new Promise((resolve) => pictures.listen(0, "127.0.0.1", resolve));
  picturesOrigin = `http://127.0.0.1:${pictures.address().port}`;
  server = await startServer(["--background-origins", picturesOrigin]);
  browser = await launch({ videoFile: checkerboardVideo() });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  pictures?.close();
});

/**
 * The checkerboard as sent measures a sharpness of about 30; blurred, under 1, and grey (the mean
 * of its black and white, where a video yet to show a frame is black).
 */
const sharp = (p) => p.sharpness > 15;
const blurred = (p) => p.sharpness < 2 && p.brightness > 80 && p.brightness < 180;

/** Waits until `page` sees the video `selector` finds as `wanted` says (`what` names it). */
async function looks(page, selector, wanted, what, near = null) {
  let last = null;
  await until(async () => {
    last = await videoPicture(page, selector, near);
    return wanted(last) ? true : undefined;
  }, () => `${page.label}: ${what} (last seen ${JSON.stringify(last)})`);
}

const tileOf = (clientId) => `.tile[data-client-id="${clientId}"] video`;

for (const mode of ["normal", "group"]) {
  test(`blur chosen in Settings reaches the others and is kept for the next call; None undoes it (${mode} room)`, async (t) => {
    const open = opener(browser, t);
    const meeting = await server.meeting({ isLocked: false, roomMode: mode });
    const { host, guest } = await hostAndGuest(open, meeting);
    const guestId = await clientIdOf(guest);
    const guestTile = tileOf(guestId);
    await looks(host, guestTile, sharp, "the guest's camera as it is");

    await guest.click("#settings-toggle");
    await guest.waitForSelector("#background-picker");
    assert.deepEqual(await guest.$$eval("#background-picker option", (options) => options.map((o) => o.value)),
      ["none", "slight-blur", "blur", "heavy-blur"], "no picture offered without virtualBackgroundUrl");
    assert.equal(await guest.$eval("#background-picker", (s) => s.value), "none");
    await guest.selectOption("#background-picker", "blur");
    await looks(host, guestTile, blurred, "the guest's room blurred");
    await looks(guest, ".tile.self video", blurred, "the guest's own view blurred too");
    await remoteVideosPlay(host, 1);
    // The camera turned off and on again (the host seeing new frames) comes back through the effect.
    const offAndOn = async () => {
      await guest.click("#camera-toggle");
      await host.waitForSelector(`.tile.camera-off[data-client-id="${guestId}"]`, { timeout: TIMEOUT });
      await guest.click("#camera-toggle");
      await host.waitForSelector(`.tile:not(.camera-off)[data-client-id="${guestId}"]`, { timeout: TIMEOUT });
      await remoteVideosPlay(host, 1);
    };
    await offAndOn();
    await looks(host, guestTile, blurred, "the guest's room still blurred");
    if (mode === "normal") {
      await screenshot(guest, "background-blur-settings");
      await assertAccessible(guest, "settings with the background picker");
    }

    // The next call in this browser starts blurred, from the review on.
    const next = await pageBeside(guest, "guest's next call");
    const nextCall = await server.meeting({ isLocked: false, roomMode: mode });
    await enter(next, nextCall.roomUrl, "Gale", async (review) => {
      await review.waitForSelector("#background-picker");
      assert.equal(await review.$eval("#background-picker", (s) => s.value), "blur", "the review offers the effect kept");
      await looks(review, ".preview-box video", blurred, "the review's preview blurred");
    });
    await next.waitForSelector(".screen.call", { timeout: TIMEOUT });
    noPageErrors(next);
    await next.close();

    await guest.selectOption("#background-picker", "none");
    await looks(host, guestTile, sharp, "the guest's camera as it is again");
    // Off and on again: still as chosen (none).
    await offAndOn();
    await looks(host, guestTile, sharp, "the camera back, without effect");
    noPageErrors(host, guest);
  });
}

test("the integrator's picture (virtualBackgroundUrl) or effect (cameraEffect) is there from the start; a picture that cannot be loaded gives blur, saying so", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const host = await open("host");
  await enter(host, meeting.hostRoomUrl, "Dr Host");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });

  const beach = await open("pictured guest");
  await enter(beach, `${meeting.roomUrl}?virtualBackgroundUrl=${encodeURIComponent(`${picturesOrigin}/orange.png`)}`, "Bea", async (review) => {
    await review.waitForSelector("#background-picker");
    assert.equal(await review.$eval("#background-picker", (s) => s.value), "picture", "the picture is chosen from the start");
    await looks(review, ".preview-box video", (p) => p.nearShare > 0.8, "the review's preview shows the picture", ORANGE);
    await screenshot(review, "background-picture-review");
  });
  await beach.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await looks(host, tileOf(await clientIdOf(beach)), (p) => p.nearShare > 0.8, "the host sees the picture behind Bea", ORANGE);

  // An effect by the name of Whereby's preset.
  const blurry = await open("guest with heavy blur");
  await enter(blurry, `${meeting.roomUrl}?cameraEffect=heavy-blur`, "Hal");
  await blurry.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await looks(host, tileOf(await clientIdOf(blurry)), blurred, "the host sees Hal's room blurred");
  await blurry.click("#settings-toggle");
  await blurry.waitForSelector("#background-picker");
  assert.equal(await blurry.$eval("#background-picker", (s) => s.value), "heavy-blur");
  noPageErrors(blurry);
  await blurry.close();

  // Missing, and from an origin the server does not list (localhost is another origin than
  // 127.0.0.1): blur instead, and the person is told.
  for (const [label, url] of [["missing", `${picturesOrigin}/gone.png`], ["not listed", `${picturesOrigin.replace("127.0.0.1", "localhost")}/orange.png`]]) {
    const guest = await open(`guest whose picture is ${label}`);
    await enter(guest, `${meeting.roomUrl}?virtualBackgroundUrl=${encodeURIComponent(url)}`, `Guest ${label}`);
    await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
    await guest.waitForSelector(".toast:has-text('The background picture could not be loaded, so your background is blurred instead.')", { timeout: TIMEOUT });
    await looks(host, tileOf(await clientIdOf(guest)), blurred, `the host sees the room of the guest whose picture is ${label} blurred`);
    await guest.click("#settings-toggle");
    await guest.waitForSelector("#background-picker");
    assert.equal(await guest.$eval("#background-picker", (s) => s.value), "blur");
    noPageErrorsBut([/Failed to load resource|blocked by CORS policy|Content Security Policy/], guest);
    await guest.close();
  }
  noPageErrors(host, beach);
});

test("an effect this browser cannot run turns the camera off rather than show the room", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false });
  const host = await open("host");
  await enter(host, meeting.hostRoomUrl, "Dr Host");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const guest = await open("guest");
  // The segmentation cannot be loaded (as where WebAssembly or WebGL fails).
  await guest.route("**/assets/vendor/segmentation/**", (route) => route.abort());
  await enter(guest, meeting.roomUrl, "Gale");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(host, 1);
  const guestId = await clientIdOf(guest);

  await guest.click("#settings-toggle");
  await guest.waitForSelector("#background-picker");
  await guest.selectOption("#background-picker", "blur");
  await guest.waitForSelector(".toast:has-text('Background effects do not work in this browser, so your camera was turned off.')", { timeout: TIMEOUT });
  await guest.waitForSelector("#camera-toggle[title='Start video']", { timeout: TIMEOUT });
  await host.waitForSelector(`.tile.camera-off[data-client-id="${guestId}"]`, { timeout: TIMEOUT });
  assert.equal(await guest.$eval("#background-picker", (s) => s.value), "none");
  // Turned on again, the camera is shown as it is (the person chose to, having been told).
  await guest.click("#camera-toggle");
  await host.waitForSelector(`.tile:not(.camera-off)[data-client-id="${guestId}"]`, { timeout: TIMEOUT });
  await looks(host, tileOf(guestId), sharp, "the camera as it is");
  // (Once the note has gone: on a phone it lies over the panel's top for its few seconds.)
  await guest.waitForSelector(".toast", { state: "detached", timeout: TIMEOUT });
  for (const [width, height] of [[1366, 657], [390, 844]]) {
    await guest.setViewportSize({ width, height });
    await callFitsSoon(guest, `settings with the background picker at ${width}x${height}`);
  }
  noPageErrorsBut([/Failed to load resource|background effect failed/], guest);
  noPageErrors(host);
});
