// The person's own camera and microphone: one MediaStream whose tracks are swapped when devices
// change, a level meter, device lists, and a clear account of a refused permission.

import { t } from "./i18n.js";
import { BACKGROUNDS, BackgroundProcessor, backgroundsSupported, loadPicture } from "./background.js";

export class LocalMedia extends EventTarget {
  /**
   * `cameraAccess` false (Whereby's cameraAccess=off): the camera is never asked for, whatever
   * turns it on. `lowData`: it is captured at a quarter of the usual pixels. `aec`, `agc`,
   * `audioDenoiser` false: the microphone without the browser's echo cancellation, automatic gain
   * or noise suppression. `choices` (choices.js): the devices chosen in an earlier call, tried
   * first, and where a choice made now is kept. `virtualBackgroundUrl`: a picture (CORS-readable)
   * offered among the background effects, and shown behind the person from the start unless
   * `cameraEffect` (one of `BACKGROUNDS`) names another effect to start with.
   */
  constructor({ cameraAccess = true, lowData = false, aec = true, agc = true, audioDenoiser = true, choices = null, virtualBackgroundUrl = null, cameraEffect = null } = {}) {
    super();
    this.cameraAccess = cameraAccess;
    this.lowData = lowData;
    this.processing = { echoCancellation: aec, autoGainControl: agc, noiseSuppression: audioDenoiser };
    this.stream = new MediaStream();
    this.cameraId = null;
    this.microphoneId = null;
    this.speakerId = null;
    this.choices = choices;
    /** The camera's own track while it is open; `videoTrack` is it, or it seen through an effect. */
    this.cameraTrack = null;
    this.backgroundPicture = virtualBackgroundUrl;
    const kept = choices?.get("background");
    const asked = cameraEffect === "picture" && !virtualBackgroundUrl ? null : cameraEffect;
    const wanted = asked ?? (virtualBackgroundUrl ? "picture" : BACKGROUNDS.includes(kept) && kept !== "picture" ? kept : "none");
    /** The background effect: one of `BACKGROUNDS` (background.js). */
    this.background = wanted !== "none" && this.backgroundsSupported ? wanted : "none";
    this.processor = null;
    this.cameraOn = true;
    this.microphoneOn = true;
    /** Set when the browser refused access: "denied", "missing" (no device) or another reason. */
    this.problem = null;
    /** Why a device alone could not be opened, when the other could (or was turned on later). */
    this.unavailable = { audio: null, video: null };
  }

  /**
   * Whether this browser can run the background effects: asked once, when first needed (it makes
   * a WebGL context), not by every page that never offers them (a viewer's).
   */
  get backgroundsSupported() {
    this.supportsBackgrounds ??= backgroundsSupported();
    return this.supportsBackgrounds;
  }

  get videoTrack() {
    return this.stream.getVideoTracks()[0] || null;
  }

  get audioTrack() {
    return this.stream.getAudioTracks()[0] || null;
  }

  /**
   * Asks for the microphone and (when wanted) the camera; never throws: a refusal is kept in
   * `problem`, and a device that alone could not be opened in `unavailable`. A camera that is off
   * is not opened at all, so its light stays off. A device that did not open is off (its button
   * offers to try again), rather than said to be on while nothing is sent.
   */
  async start({ audio = true, video = true } = {}) {
    video &&= this.cameraAccess;
    this.cameraOn = video;
    this.microphoneOn = audio;
    this.unavailable = { audio: null, video: null };
    if (!navigator.mediaDevices?.getUserMedia) {
      this.problem = "unsupported";
      this.cameraOn = false;
      this.microphoneOn = false;
      return this;
    }
    // The integrator's picture is ready before the camera's first frame is shown.
    if (this.background === "picture") await this.setBackground("picture", { keep: false });
    try {
      this.replaceTracks(await this.captureWanted(video));
      this.problem = null;
      await this.useChosenSpeaker();
    } catch (error) {
      this.problem = classify(error);
    }
    this.cameraOn &&= Boolean(this.videoTrack);
    this.microphoneOn &&= Boolean(this.audioTrack);
    this.applyToggles();
    // The browser's answer about permission (no device at all is not an answer about it).
    if (!this.problem || this.problem === "denied") {
      this.dispatchEvent(new CustomEvent("permission", { detail: { granted: !this.problem } }));
    }
    return this;
  }

  /**
   * The microphone and (`video`) the camera, in one ask (one prompt). Where that fails for another
   * reason than a refusal (this computer has no camera, or another program holds one), each alone:
   * a computer without a camera still brings its microphone, and the one that could not be opened
   * is kept in `unavailable`. Throws when none could be.
   */
  async captureWanted(video) {
    const ask = (kinds) => this.capture((useKept) => Object.fromEntries(kinds.map((kind) => [kind, this.constraint(kind, { useKept })])));
    try {
      return await ask(video ? ["audio", "video"] : ["audio"]);
    } catch (error) {
      if (!video || classify(error) === "denied") throw error;
      for (const [kind, other] of [["audio", "video"], ["video", "audio"]]) {
        try {
          const stream = await ask([kind]);
          this.unavailable[other] = classify(error);
          return stream;
        } catch {
          // Neither alone either: the first answer says why.
        }
      }
      throw error;
    }
  }

  /** The speaker chosen in an earlier call, if it is still there (names are known once permitted). */
  async useChosenSpeaker() {
    const kept = this.choices?.get("audiooutput");
    if (!kept || this.speakerId) return;
    const outputs = (await this.devices().catch(() => [])).filter((d) => d.kind === "audiooutput");
    if (outputs.some((d) => d.deviceId === kept)) this.setSpeaker(kept, { keep: false });
  }

  /**
   * `getUserMedia` with the devices chosen in an earlier call (`constraints(true)`), and without
   * them (`constraints(false)`) when that fails for another reason than a refusal: one of them is
   * no longer there, or another program holds it.
   */
  async capture(constraints) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints(true));
    } catch (error) {
      const kept = ["videoinput", "audioinput"].some((kind) => this.choices?.get(kind));
      if (!kept || ["NotAllowedError", "SecurityError"].includes(error?.name)) throw error;
      return navigator.mediaDevices.getUserMedia(constraints(false));
    }
  }

  /**
   * The device chosen now, else the one chosen in an earlier call (exactly: a browser weighs an
   * `ideal` one against the resolution and may take another; `capture` asks again without it when
   * it is gone), else the default. Not the earlier one when it just went away (`useKept` false).
   */
  constraint(kind, { useKept = true } = {}) {
    const id = kind === "video" ? this.cameraId : this.microphoneId;
    const kept = useKept ? this.choices?.get(kind === "video" ? "videoinput" : "audioinput") : null;
    const device = id || kept ? { deviceId: { exact: id || kept } } : {};
    if (kind !== "video") return { ...device, ...this.processing };
    return { ...device, ...(this.lowData ? { width: 320, height: 180 } : { width: 640, height: 360 }) };
  }

  replaceTracks(stream) {
    this.closeTrack("video");
    this.closeTrack("audio");
    for (const track of stream.getTracks()) this.addTrack(track);
    this.cameraId = this.cameraTrack?.getSettings().deviceId || this.cameraId;
    this.microphoneId = this.audioTrack?.getSettings().deviceId || this.microphoneId;
    this.dispatchEvent(new Event("tracks"));
  }

  /** Switches one device, keeping the other track. */
  async useDevice(kind, deviceId) {
    this.choices?.set(kind, deviceId);
    if (kind === "videoinput") this.cameraId = deviceId;
    else this.microphoneId = deviceId;
    if (kind === "videoinput" && !this.cameraOn) return; // used when the camera is turned on
    await this.openTrack(kind === "videoinput" ? "video" : "audio");
  }

  async openTrack(kind, { useKept = true } = {}) {
    const fresh = await this.capture((kept) => ({ [kind]: this.constraint(kind, { useKept: useKept && kept }) }));
    this.closeTrack(kind);
    for (const track of fresh.getTracks()) this.addTrack(track);
    if (kind === "video") this.cameraId = this.cameraTrack?.getSettings().deviceId || this.cameraId;
    else this.microphoneId = this.audioTrack?.getSettings().deviceId || this.microphoneId;
    this.applyToggles();
    this.dispatchEvent(new Event("tracks"));
  }

  /**
   * A track ends on its own when its device goes (unplugged, or taken by the system): the
   * browser's default device of that kind takes its place. `lost` says whether one could.
   */
  addTrack(track) {
    if (track.kind === "video") {
      this.cameraTrack = track;
      this.stream.addTrack(this.throughBackground(track));
    } else {
      this.stream.addTrack(track);
    }
    track.addEventListener("ended", () => {
      // Closed by us (a switch, the camera turned off) is not lost.
      if (!this.stream.getTracks().includes(track) && this.cameraTrack !== track) return;
      const kind = track.kind;
      if (kind === "video") this.cameraId = null;
      else this.microphoneId = null;
      const lost = (replaced) => this.dispatchEvent(new CustomEvent("lost", { detail: { kind, replaced } }));
      this.openTrack(kind, { useKept: false }).then(() => lost(true), () => {
        // None left: off, so that its button offers to turn it on again (once one is plugged in).
        this.closeTrack(kind);
        if (kind === "video") this.cameraOn = false;
        else this.microphoneOn = false;
        this.applyToggles();
        this.dispatchEvent(new Event("tracks"));
        lost(false);
      });
    }, { once: true });
  }

  /** Where others are heard (`setSinkId`); the call follows the "speaker" event. */
  setSpeaker(deviceId, { keep = true } = {}) {
    if (keep) this.choices?.set("audiooutput", deviceId);
    this.speakerId = deviceId;
    this.dispatchEvent(new Event("speaker"));
  }

  closeTrack(kind) {
    const old = kind === "video" ? this.videoTrack : this.audioTrack;
    if (!old) return;
    this.stream.removeTrack(old);
    old.stop();
    if (kind !== "video") return;
    this.processor?.stop();
    this.processor = null;
    this.cameraTrack?.stop();
    this.cameraTrack = null;
  }

  /**
   * The camera's track as it is to be shown: itself, or seen through the background effect. When
   * the effect cannot run here after all, the camera is turned off, saying so ("background-failed").
   */
  throughBackground(camera) {
    this.processor?.stop();
    this.processor = null;
    if (this.background === "none") return camera;
    const processor = new BackgroundProcessor(camera, { effect: this.background, picture: this.loadedPicture });
    processor.addEventListener("failed", () => {
      if (this.processor !== processor) return;
      // The camera goes off rather than show what the person chose to hide (`start` shows it).
      const effect = this.background;
      this.background = "none";
      this.setCamera(false);
      this.dispatchEvent(new CustomEvent("background-failed", { detail: { effect } }));
      this.dispatchEvent(new Event("background"));
    });
    this.processor = processor;
    return processor.track;
  }

  /**
   * Shows the camera through another background effect (`BACKGROUNDS`), kept for the next call
   * unless it is the integrator's picture. The picture is loaded first; one that cannot be
   * (missing, not allowed to other origins, or by the page's policy) gives blur instead, saying so.
   */
  async setBackground(wanted, { keep = true } = {}) {
    if (!BACKGROUNDS.includes(wanted) || (wanted !== "none" && !this.backgroundsSupported)) return;
    let effect = wanted;
    if (effect === "picture") {
      try {
        this.loadedPicture ??= await loadPicture(this.backgroundPicture);
      } catch {
        this.dispatchEvent(new CustomEvent("background-failed", { detail: { effect } }));
        effect = "blur";
      }
    }
    this.background = effect;
    // (Blur standing in for a picture that could not be loaded is not kept either.)
    if (keep && wanted !== "picture") this.choices?.set("background", effect);
    const camera = this.cameraTrack;
    if (!camera) {
      this.dispatchEvent(new Event("background"));
      return;
    }
    const shown = this.videoTrack;
    const next = this.throughBackground(camera);
    this.stream.removeTrack(shown);
    if (shown !== camera) shown.stop();
    this.stream.addTrack(next);
    this.applyToggles();
    this.dispatchEvent(new Event("background"));
    this.dispatchEvent(new Event("tracks"));
  }

  /** Turns the camera on (opening it) or off (closing it: the light goes off). */
  async setCamera(on) {
    this.cameraOn = on && this.cameraAccess;
    if (!on) {
      this.closeTrack("video");
      this.applyToggles();
      this.dispatchEvent(new Event("tracks"));
      return;
    }
    await this.ensureTrack("video");
  }

  /**
   * Unmutes (opening the microphone first where none is open: none was found, or it was refused,
   * before) or mutes the microphone.
   */
  async setMicrophone(on) {
    this.microphoneOn = on;
    if (on) await this.ensureTrack("audio");
    else this.applyToggles();
  }

  /**
   * Opens a track of `kind` when there is none, for a person who turned it on: it may have been
   * plugged in, or allowed, since. One that still cannot be is off again, and a "refused" event
   * says why (`{kind, problem}`).
   */
  async ensureTrack(kind) {
    if ((kind === "video" ? this.videoTrack : this.audioTrack) || !navigator.mediaDevices?.getUserMedia) {
      this.applyToggles();
      return;
    }
    try {
      await this.openTrack(kind);
      this.unavailable[kind] = null;
      this.problem = null;
    } catch (error) {
      if (kind === "video") this.cameraOn = false;
      else this.microphoneOn = false;
      this.unavailable[kind] = classify(error);
      this.applyToggles();
      this.dispatchEvent(new CustomEvent("refused", { detail: { kind, problem: this.unavailable[kind] } }));
    }
  }

  applyToggles() {
    if (this.videoTrack) this.videoTrack.enabled = this.cameraOn;
    if (this.audioTrack) this.audioTrack.enabled = this.microphoneOn;
    this.dispatchEvent(new Event("toggles"));
  }

  /** Whether the others get the microphone's sound now: on, and open (not only wished for). */
  get microphoneLive() {
    return Boolean(this.microphoneOn && this.audioTrack);
  }

  /** Whether the others get the camera's picture now. */
  get cameraLive() {
    return Boolean(this.cameraOn && this.videoTrack);
  }

  /** What the others are told (set_media_state). */
  state(screen = false) {
    return { audio: this.microphoneLive, video: this.cameraLive || screen, screen };
  }

  async devices() {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    return navigator.mediaDevices.enumerateDevices();
  }

  stop() {
    this.closeTrack("video");
    this.closeTrack("audio");
  }
}

function classify(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "missing";
    case "NotReadableError":
      return "busy";
    default:
      return "failed";
  }
}

/**
 * What to tell a person whose camera or microphone could not be used; `camera` false when only the
 * microphone was asked for (cameraAccess=off).
 */
export function problemAdvice(problem, { camera = true } = {}) {
  switch (problem) {
    case "denied":
      return camera
        ? t("Your browser blocked the camera and microphone. Click the camera icon in the address bar (or open the site settings), allow both, then reload this page. You can also continue without them.")
        : t("Your browser blocked the microphone. Click the microphone icon in the address bar (or open the site settings), allow it, then reload this page. You can also continue without it.");
    case "missing":
      return camera
        ? t("No camera or microphone was found. Plug one in and reload, or continue without them.")
        : t("No microphone was found. Plug one in and reload, or continue without it.");
    case "busy":
      return camera
        ? t("Another application is using your camera or microphone. Close it and reload, or continue without them.")
        : t("Another application is using your microphone. Close it and reload, or continue without it.");
    case "unsupported":
      return camera
        ? t("This browser cannot use a camera here (a secure https:// address is needed). You can continue without one.")
        : t("This browser cannot use a microphone here (a secure https:// address is needed). You can continue without one.");
    default:
      return camera
        ? t("The camera and microphone could not be started. You can continue without them.")
        : t("The microphone could not be started. You can continue without it.");
  }
}

/**
 * What to tell a person whose camera (`kind` "video") or microphone ("audio") alone could not be
 * opened (`problem`, as `unavailable` names it), while the other was, or when they turned it on.
 */
export function deviceAdvice(kind, problem) {
  const camera = kind === "video";
  switch (problem) {
    case "denied":
      return camera
        ? t("Your browser blocked the camera. Allow it in the site settings (the icon in the address bar), then try again.")
        : t("Your browser blocked the microphone. Allow it in the site settings (the icon in the address bar), then try again.");
    case "missing":
      return camera ? t("No camera was found. Plug one in, then try again.") : t("No microphone was found. Plug one in, then try again.");
    case "busy":
      return camera
        ? t("Another application is using your camera. Close it, then try again.")
        : t("Another application is using your microphone. Close it, then try again.");
    default:
      return camera ? t("The camera could not be started.") : t("The microphone could not be started.");
  }
}

/** Meters read amplitude (RMS, full scale 1) times this, so quiet speech moves them visibly. */
const METER_GAIN = 4;
/** A received level older than this is no longer heard. */
const LEVEL_STALE_MS = 500;

/**
 * One audio context for every meter on the page (browsers limit how many a page may open). Meters
 * play nothing: the "playback" hint lets it work in large blocks, far fewer wake-ups a second.
 */
let sharedContext = null;

function audioContext() {
  if (!sharedContext || sharedContext.state === "closed") sharedContext = new AudioContext({ latencyHint: "playback" });
  sharedContext.resume().catch(() => {});
  return sharedContext;
}

/**
 * Measures the loudness of an audio track, 0..1, calling `onLevel` about 10 times a second.
 * Returns a function that stops it.
 */
export function meterLevel(track, onLevel) {
  if (!track) return () => {};
  let ctx;
  try {
    ctx = audioContext();
  } catch {
    return () => {};
  }
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * METER_GAIN));
  }, 100);
  return () => {
    clearInterval(timer);
    source.disconnect();
  };
}

/**
 * How loud the audio a receiver gets is (0..1, the scale of `meterLevel`), from the level its sender
 * put on the latest packet (RFC 6464); 0 when no packet came lately (muted, or silent with DTX).
 */
export function receivedLevel(receiver) {
  const source = receiver.getSynchronizationSources?.()[0];
  if (!source || source.audioLevel === undefined) return 0;
  const age = performance.timeOrigin + performance.now() - source.timestamp;
  return age > LEVEL_STALE_MS ? 0 : Math.min(1, source.audioLevel * METER_GAIN);
}
