// Background effects on one's own camera (Whereby's background blur, and its virtualBackgroundUrl):
// MediaPipe's selfie segmentation (vendored from npm) finds the person in each frame, and the rest
// is blurred or replaced by a picture on a canvas whose stream is what the call shows and sends.
// The camera's own picture is never drawn unprocessed: until the person is found, the whole frame
// is blurred (or the picture shown), so a background the person chose to hide never shows.

import { served } from "./base.js";
import { drawCovering, frameClock } from "./canvas.js";

const VENDOR = served("/assets/vendor/segmentation/");

/**
 * The effects, in the order offered: none, three strengths of blur (named as Whereby's presets),
 * the integrator's picture.
 */
export const BACKGROUNDS = ["none", "slight-blur", "blur", "heavy-blur", "picture"];

/** Blur radius for a 640-pixel-wide frame (scaled with the frame). */
const BLUR = { "slight-blur": 6, blur: 14, "heavy-blur": 24 };
/** Frames a second processed: the camera's own rate, at most. */
const RATE = 30;

/**
 * Whether this browser can run the effects: WebGL 2 (the segmentation's image conversions) and
 * WebAssembly with SIMD (the only build vendored).
 */
export function backgroundsSupported() {
  if (typeof WebAssembly !== "object" || typeof document === "undefined") return false;
  // A module with one SIMD instruction (i8x16.splat): only engines with SIMD validate it.
  const simd = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  try {
    if (!WebAssembly.validate(simd)) return false;
    const gl = document.createElement("canvas").getContext("webgl2");
    // Let the context go at once: a page may hold only a few.
    gl?.getExtension("WEBGL_lose_context")?.loseContext();
    return Boolean(gl);
  } catch {
    return false;
  }
}

let segmenter = null;
/** The processor whose frame the segmenter works on (it has one results listener). */
let working = null;

/** The segmenter, loaded once a page (about 6 MB, only when an effect is first chosen). */
function loadSegmenter() {
  segmenter ??= (async () => {
    if (!window.SelfieSegmentation) {
      await new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = `${VENDOR}selfie_segmentation.js`;
        script.onload = resolve;
        script.onerror = () => reject(new Error("the segmentation script could not be loaded"));
        document.head.append(script);
      });
    }
    const loaded = new window.SelfieSegmentation({ locateFile: (file) => `${VENDOR}${file}` });
    loaded.setOptions({ modelSelection: 1, selfieMode: false });
    loaded.onResults((results) => working?.draw(results));
    await loaded.initialize();
    return loaded;
  })();
  // A failure is not kept: a later choice tries again.
  segmenter.catch(() => { segmenter = null; });
  return segmenter;
}

/** Loads a picture for the background; it must allow other origins to draw it (CORS). */
export async function loadPicture(url) {
  const picture = new Image();
  picture.crossOrigin = "anonymous";
  picture.src = url;
  await picture.decode();
  return picture;
}

/**
 * One camera track seen through an effect. `track` is what to show and send; the camera's own
 * track stays the caller's (it is not stopped here). Dispatches "failed" when the segmentation
 * cannot run in this browser; the effect's frames then stop.
 */
export class BackgroundProcessor extends EventTarget {
  constructor(camera, { effect, picture = null }) {
    super();
    this.effect = effect;
    this.picture = picture;
    this.stopped = false;
    this.video = document.createElement("video");
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.srcObject = new MediaStream([camera]);
    const { width = 640, height = 360 } = camera.getSettings();
    this.canvas = Object.assign(document.createElement("canvas"), { width, height });
    this.context = this.canvas.getContext("2d");
    this.track = this.canvas.captureStream(RATE).getVideoTracks()[0];
    this.run().catch((error) => {
      if (this.stopped) return;
      console.warn("background effect failed:", error);
      this.stop();
      this.dispatchEvent(new CustomEvent("failed", { detail: { error } }));
    });
  }

  async run() {
    await this.video.play();
    const frames = frameClock(RATE);
    try {
      let ready = null;
      for (;;) {
        await frames.next();
        if (this.stopped) return;
        if (this.video.readyState < 2) continue;
        this.fitCanvas();
        ready ??= loadSegmenter();
        const loaded = await Promise.race([ready, null]);
        if (!loaded) {
          // Still loading (or about to fail): the whole frame hidden meanwhile.
          this.paint(this.video, null);
          continue;
        }
        working = this;
        const started = performance.now();
        await loaded.send({ image: this.video });
        // At most half of the page's time: a slow computer gets fewer frames, not a frozen page.
        const resume = performance.now() + (performance.now() - started);
        while (!this.stopped && performance.now() < resume) await frames.next();
      }
    } finally {
      frames.stop();
      if (working === this) working = null;
    }
  }

  /** The canvas follows the camera's size (a camera switched, or turned sideways). */
  fitCanvas() {
    const { videoWidth: width, videoHeight: height } = this.video;
    if (width && height && (this.canvas.width !== width || this.canvas.height !== height)) {
      Object.assign(this.canvas, { width, height });
    }
  }

  draw({ image, segmentationMask }) {
    if (!this.stopped) this.paint(image, segmentationMask);
  }

  /** The person (where `mask` says) over the blurred frame or the picture; no mask: the background only. */
  paint(frame, mask) {
    const { context: ctx, canvas: { width, height } } = this;
    ctx.save();
    if (mask) {
      ctx.globalCompositeOperation = "copy";
      ctx.filter = "blur(2px)"; // a soft edge around the person
      ctx.drawImage(mask, 0, 0, width, height);
      ctx.filter = "none";
      ctx.globalCompositeOperation = "source-in";
      ctx.drawImage(frame, 0, 0, width, height);
      ctx.globalCompositeOperation = "destination-over";
    } else {
      ctx.globalCompositeOperation = "copy";
    }
    if (this.effect === "picture" && this.picture) {
      drawCovering(ctx, this.picture, { x: 0, y: 0, width, height });
    } else {
      const radius = Math.max(2, Math.round(((BLUR[this.effect] ?? BLUR.blur) * width) / 640));
      ctx.filter = `blur(${radius}px)`;
      // Drawn larger than the frame: a blur fades its own edges to transparent (black once sent).
      ctx.drawImage(frame, -2 * radius, -2 * radius, width + 4 * radius, height + 4 * radius);
    }
    ctx.restore();
  }

  stop() {
    this.stopped = true;
    this.track.stop();
    this.video.srcObject = null;
  }
}
