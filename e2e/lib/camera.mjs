// Whether a page's own camera keeps delivering frames: Chromium counts them per track
// (MediaStreamTrack.stats.deliveredFrames), whoever shows or sends them.

/** From now on the page notes the longest time its camera (the track `selector`'s video shows) delivered no frame. */
export async function watchCamera(page, selector) {
  await page.evaluate((selector) => {
    const track = document.querySelector(selector)?.srcObject?.getVideoTracks()[0];
    if (!track?.stats) throw new Error(`no camera track with frame counts in ${selector}`);
    let frames = track.stats.deliveredFrames;
    let changedAt = performance.now();
    window.cameraStill = { longest: 0, since: () => performance.now() - changedAt };
    setInterval(() => {
      const now = performance.now();
      if (track.stats.deliveredFrames === frames) return;
      frames = track.stats.deliveredFrames;
      window.cameraStill.longest = Math.max(window.cameraStill.longest, now - changedAt);
      changedAt = now;
    }, 20);
  }, selector);
}

/** The longest the camera has delivered no frame since `watchCamera` (one still going counts), in ms. */
export async function longestCameraStill(page) {
  return page.evaluate(() => Math.round(Math.max(window.cameraStill.longest, window.cameraStill.since())));
}
