// When things happen in a page, by the page's own clock: a click as the page saw it, and how long
// its camera delivered no frame (Chromium counts a track's frames, MediaStreamTrack.stats,
// whoever shows or sends them).
import assert from "node:assert/strict";

import { TIMEOUT } from "./flows.mjs";

/** From now on the page notes the longest time its camera (the track `selector`'s video shows) delivered no frame. */
export async function watchCamera(page, selector) {
  await page.waitForFunction((selector) => document.querySelector(selector)?.srcObject?.getVideoTracks().length > 0, selector, { timeout: TIMEOUT });
  await page.evaluate((selector) => {
    const track = document.querySelector(selector)?.srcObject?.getVideoTracks()[0];
    if (!track?.stats) throw new Error(`no camera track with frame counts in ${selector}`);
    // The camera's frames come at most this often: what tells the camera standing still from this
    // page's own main thread standing still (the page looks every 20 ms, but entering a call it
    // has long tasks of its own, some 0.5 s on a loaded machine, while the camera goes on).
    const frameMs = 1000 / (track.getSettings().frameRate || 30);
    let frames = track.stats.deliveredFrames;
    let changedAt = performance.now();
    window.cameraStill = { longest: 0, since: () => performance.now() - changedAt };
    setInterval(() => {
      const now = performance.now();
      const delivered = track.stats.deliveredFrames;
      if (delivered === frames) return;
      // The frames delivered since the last look came one frame time apart at the most, so the
      // first of them came no later than this.
      const firstCame = now - (delivered - frames - 1) * frameMs;
      window.cameraStill.longest = Math.max(window.cameraStill.longest, firstCame - changedAt);
      frames = delivered;
      changedAt = now;
    }, 20);
  }, selector);
}

/** The longest the camera has delivered no frame since `watchCamera` (one still going counts), in ms. */
export async function longestCameraStill(page) {
  return page.evaluate(() => Math.round(Math.max(window.cameraStill.longest, window.cameraStill.since())));
}

/**
 * From now on the page notes when it sees a click on `selector`: the product's time starts at the
 * click as the page saw it, not when the robot began waiting for the control to be clickable.
 */
export async function timeClicks(page, selector) {
  await page.evaluate((selector) => {
    window.clickedAt ??= {};
    document.addEventListener("click", (event) => {
      if (event.target.closest(selector)) window.clickedAt[selector] = Date.now();
    }, { capture: true });
  }, selector);
}

/** When the page last saw a click on `selector` (see `timeClicks`). */
export async function lastClick(page, selector) {
  const at = await page.evaluate((selector) => window.clickedAt?.[selector], selector);
  assert.ok(Number.isFinite(at), `the page saw the click on ${selector}`);
  return at;
}
