// Local recording (Whereby's `recording.type: "local"`): a host's browser records the call as its
// stage shows it, everyone's picture in one 16:9 frame and everyone's sound mixed, to a WebM file
// that the browser downloads when the recording stops. Nothing of it goes to the server, which only
// tells the room who is recording (recording-control.js).

import { layout } from "./layout.js";
import { drawCovering, frameClock } from "./canvas.js";
import { RecordingSink } from "./recording-store.js";

/** The recording's frame: large enough for a shared screen to be read, small enough to encode live. */
export const RECORDING_SIZE = { width: 1280, height: 720 };
const RATE = 20;
/** About 11 MB a minute (kept on disk as it is made: recording-store.js). */
const VIDEO_BITS = 1_500_000;
const AUDIO_BITS = 96_000;
/** The encoder hands over what it has this often (a stop loses at most this much). */
const SLICE_MS = 1000;
const BACKDROP = "#1b1d23";
const TILE = "#2c2f38";

/** Whether this browser can record the call (MediaRecorder of a canvas's stream, with mixed sound). */
export function recordingSupported() {
  return typeof MediaRecorder !== "undefined" && typeof AudioContext !== "undefined"
    && typeof HTMLCanvasElement !== "undefined" && "captureStream" in HTMLCanvasElement.prototype
    && Boolean(fileType());
}

function fileType() {
  return ["video/webm;codecs=vp8,opus", "video/webm"].find((type) => MediaRecorder.isTypeSupported(type)) ?? "";
}

/** The file's name: the room's title and when the recording started, `anteroom-<room>-<date>-<time>.webm`. */
export function recordingFileName(roomTitle, startedAt) {
  const two = (n) => String(n).padStart(2, "0");
  const d = new Date(startedAt);
  const when = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}`;
  const room = String(roomTitle || "").toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40);
  return `anteroom-${room ? `${room}-` : ""}${when}.webm`;
}

/** Hands `blob` to the browser as a download named `name`. */
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has the blob by then; the page need not keep it.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export class CallRecorder {
  /** Starts recording, its pieces kept as they come by a `RecordingSink` (recording-store.js) named `id`. */
  static async start({ id, sources, ownAudio }) {
    return new CallRecorder({ sources, ownAudio, sink: await RecordingSink.open(id, fileType().split(";")[0]) });
  }

  /**
   * @param sources returns what to show, in the stage's order: `[{id, name, video, showing,
   *   featured, self, screen}]` (`video` the element playing the person's media, `showing` whether
   *   it has a picture to show, `screen` whether that is a shared screen).
   * @param ownAudio returns this person's microphone track, or null (their own tile plays no sound).
   */
  constructor({ sources, ownAudio, sink }) {
    this.sources = sources;
    this.ownAudio = ownAudio;
    this.sink = sink;
    this.canvas = document.createElement("canvas");
    this.canvas.width = RECORDING_SIZE.width;
    this.canvas.height = RECORDING_SIZE.height;
    this.ctx = this.canvas.getContext("2d", { alpha: false });
    // Frames are asked for one by one, as they are drawn.
    this.picture = this.canvas.captureStream(0).getVideoTracks()[0];
    this.audio = new AudioContext();
    this.mix = this.audio.createMediaStreamDestination();
    // Every sound track heard, by track id: its source node in the mix.
    this.heard = new Map();
    this.frame();
    const type = fileType();
    this.recorder = new MediaRecorder(new MediaStream([this.picture, ...this.mix.stream.getAudioTracks()]),
      { mimeType: type, videoBitsPerSecond: VIDEO_BITS, audioBitsPerSecond: AUDIO_BITS });
    this.recorder.addEventListener("dataavailable", (e) => { if (e.data.size > 0) this.sink.add(e.data); });
    this.stopped = new Promise((resolve) => this.recorder.addEventListener("stop", resolve, { once: true }));
    this.recorder.start(SLICE_MS);
    // A page that has not been clicked yet (an embedding page's command) starts its sound suspended.
    this.audio.resume().catch(() => {});
    this.clock = frameClock(RATE);
    this.running = true;
    this.loop();
  }

  async loop() {
    while (this.running) {
      await this.clock.next();
      if (!this.running) break;
      this.frame();
      this.picture.requestFrame?.();
    }
  }

  /** One tick: who is here, asked once, drawn and heard. */
  frame() {
    const all = this.sources();
    this.draw(all);
    this.hear(all);
  }

  /** Everyone's place as the layout gives it at the recording's size. */
  draw(all) {
    const { ctx } = this;
    ctx.fillStyle = BACKDROP;
    ctx.fillRect(0, 0, RECORDING_SIZE.width, RECORDING_SIZE.height);
    const featured = all.flatMap((source, index) => (source.featured ? [index] : []));
    // A shared screen shown large is shown whole, as on the stage.
    const wholeFeatured = featured.length === 1 && all[featured[0]].screen;
    const { tiles } = layout(RECORDING_SIZE, all.length, { featured, wholeFeatured });
    for (const rect of tiles) {
      const source = all[rect.index];
      const video = source.video;
      if (source.showing && video && video.readyState >= 2 && video.videoWidth) {
        if (source.screen) {
          ctx.fillStyle = "#000000";
          ctx.fillRect(rect.x, rect.y, rect.width, rect.height);
        }
        drawCovering(ctx, video, rect, { whole: source.screen });
      } else {
        ctx.fillStyle = TILE;
        ctx.fillRect(rect.x, rect.y, rect.width, rect.height);
      }
      this.label(source.name, rect);
    }
  }

  /** The person's name in the bottom left-hand corner of their place. */
  label(name, rect) {
    const { ctx } = this;
    const size = Math.max(12, Math.min(20, Math.round(rect.height / 14)));
    ctx.font = `${size}px system-ui, sans-serif`;
    const text = String(name || "");
    const width = Math.min(ctx.measureText(text).width, rect.width - 2 * size);
    const pad = size / 2;
    ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
    ctx.fillRect(rect.x + pad, rect.y + rect.height - 2 * size - pad, width + size, 1.6 * size);
    ctx.fillStyle = "#ffffff";
    ctx.fillText(text, rect.x + pad + size / 2, rect.y + rect.height - size - pad / 2 - size * 0.25, width);
  }

  /** The mix follows who is here: each person's sound track in, those gone out. */
  hear(all) {
    const tracks = all
      .filter((source) => !source.self)
      .flatMap((source) => source.video?.srcObject?.getAudioTracks?.() ?? []);
    const own = this.ownAudio();
    if (own) tracks.push(own);
    const now = new Map(tracks.filter((track) => track.readyState === "live").map((track) => [track.id, track]));
    for (const [id, node] of this.heard) {
      if (!now.has(id)) {
        node.disconnect();
        this.heard.delete(id);
      }
    }
    for (const [id, track] of now) {
      if (this.heard.has(id)) continue;
      const node = this.audio.createMediaStreamSource(new MediaStream([track]));
      node.connect(this.mix);
      this.heard.set(id, node);
    }
  }

  /** Stops recording; resolves with the file (a Blob) of what was recorded. Then `sink.saved()`. */
  async stop() {
    if (this.running) {
      this.running = false;
      this.clock.stop();
      if (this.recorder.state !== "inactive") this.recorder.stop();
      await this.stopped;
      this.picture.stop();
      for (const node of this.heard.values()) node.disconnect();
      this.heard.clear();
      this.audio.close().catch(() => {});
    }
    await this.stopped;
    return this.sink.file();
  }
}
