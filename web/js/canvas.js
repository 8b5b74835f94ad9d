// What the pictures the page draws itself share (a camera's background effect, a recording of the
// call): frames paced by a worker's clock, and a picture cut to fill a place.

/**
 * Draws `source` (an image or a playing video) over `rect` of the canvas, cut to its shape, as
 * CSS's `object-fit: cover`; `whole`: all of it, as large as fits, in the middle (`contain`, for a
 * shared screen).
 */
export function drawCovering(ctx, source, rect, { whole = false } = {}) {
  const width = source.videoWidth || source.naturalWidth;
  const height = source.videoHeight || source.naturalHeight;
  if (!width || !height) return;
  if (whole) {
    const scale = Math.min(rect.width / width, rect.height / height);
    const [w, h] = [width * scale, height * scale];
    ctx.drawImage(source, rect.x + (rect.width - w) / 2, rect.y + (rect.height - h) / 2, w, h);
    return;
  }
  const scale = Math.max(rect.width / width, rect.height / height);
  // The middle of the source, as much of it as fits the place's shape.
  const sw = rect.width / scale;
  const sh = rect.height / scale;
  ctx.drawImage(source, (width - sw) / 2, (height - sh) / 2, sw, sh, rect.x, rect.y, rect.width, rect.height);
}

/**
 * Ticks `rate` times a second from a worker (frame-clock.js): a page's own timers are slowed to
 * once a second when its tab is hidden, which would all but stop a picture drawn on a canvas while
 * the person looks at another tab. `await clock.next()` waits for the next tick.
 */
export function frameClock(rate) {
  const worker = new Worker(new URL("./frame-clock.js", import.meta.url));
  worker.postMessage(1000 / rate);
  let waiting = [];
  worker.onmessage = () => {
    const resolved = waiting;
    waiting = [];
    for (const resolve of resolved) resolve();
  };
  return {
    next: () => new Promise((resolve) => waiting.push(resolve)),
    stop: () => {
      worker.terminate();
      for (const resolve of waiting) resolve();
    },
  };
}
