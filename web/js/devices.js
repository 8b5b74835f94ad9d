// Choosing devices, on the review and in the call's settings: pickers for the camera, microphone
// and speaker that list what the browser has (again whenever a device is plugged in or out), the
// camera's background effect, and a meter of the microphone in use.

import { h } from "./dom.js";
import { t } from "./i18n.js";
import { meterLevel } from "./media.js";

/** Whether this browser lets a page choose where sound plays (Chrome, Edge, Firefox; not Safari). */
export const canChooseSpeaker = () => "setSinkId" in HTMLMediaElement.prototype;

export class DevicePickers {
  /** `camera` / `microphone` false: that picker is never shown (no camera access; a viewer). */
  constructor(media, { camera = media.cameraAccess, microphone = true } = {}) {
    this.media = media;
    this.wanted = { videoinput: camera, audioinput: microphone, audiooutput: canChooseSpeaker() };
    const picker = (id, label, onchange) => {
      const select = h("select", { id, "aria-label": label, onchange: (e) => onchange(e.target.value) });
      return { select, name: label, label: h("label", { class: "picker", hidden: true }, label, select) };
    };
    this.pickers = {
      videoinput: picker("camera-picker", t("Camera"), (id) => media.useDevice("videoinput", id).catch(() => {})),
      audioinput: picker("microphone-picker", t("Microphone"), (id) => media.useDevice("audioinput", id).catch(() => {})),
      audiooutput: picker("speaker-picker", t("Speaker"), (id) => media.setSpeaker(id)),
    };
    this.background = picker("background-picker", t("Background"), (effect) => media.setBackground(effect));
    const effects = { none: t("None"), "slight-blur": t("Slight blur"), blur: t("Blur"), "heavy-blur": t("Heavy blur"), picture: t("Picture") };
    this.background.select.replaceChildren(...Object.entries(effects)
      .filter(([effect]) => effect !== "picture" || media.backgroundPicture)
      .map(([value, text]) => h("option", { value, text })));
    /** The labelled pickers, for the page to place: camera, background, microphone, speaker. */
    this.labels = [this.pickers.videoinput.label, this.background.label, this.pickers.audioinput.label, this.pickers.audiooutput.label];
    this.onChange = () => this.fill();
  }

  /** Lists the devices now, and again whenever they or the tracks in use change, until `stop`. */
  start() {
    navigator.mediaDevices?.addEventListener?.("devicechange", this.onChange);
    this.media.addEventListener("tracks", this.onChange);
    this.media.addEventListener("background", this.onChange);
    return this.fill();
  }

  /**
   * Lists the devices, the ones in use selected. A kind with none (or whose names the browser
   * keeps back before permission is given) hides its picker.
   */
  async fill() {
    const devices = await this.media.devices();
    const current = { videoinput: this.media.cameraId, audioinput: this.media.microphoneId, audiooutput: this.media.speakerId };
    for (const [kind, { select, name, label }] of Object.entries(this.pickers)) {
      const options = devices.filter((d) => d.kind === kind && d.deviceId).map((d, i) =>
        h("option", { value: d.deviceId, selected: d.deviceId === current[kind], text: d.label || `${name} ${i + 1}` }));
      select.replaceChildren(...options);
      label.hidden = !this.wanted[kind] || options.length === 0;
    }
    // Offered with the camera's picker, where this browser can run the effects.
    this.background.label.hidden = this.pickers.videoinput.label.hidden || !this.media.backgroundsSupported;
    this.background.select.value = this.media.background;
    this.onFilled?.();
  }

  /** Whether any picker is shown (after `fill`). */
  anyShown() {
    return this.labels.some((label) => !label.hidden);
  }

  stop() {
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.onChange);
    this.media.removeEventListener("tracks", this.onChange);
    this.media.removeEventListener("background", this.onChange);
  }
}

/**
 * A meter of the microphone in use (it follows a switch to another). `start` and `stop` it while
 * it is shown: measuring costs an audio graph.
 */
export class MicrophoneMeter {
  constructor(media) {
    this.media = media;
    this.fill = h("div", { class: "level-fill" });
    this.element = h("div", { class: "level", role: "meter", "aria-label": t("Microphone level"), "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, this.fill);
    this.metered = undefined;
    this.stopLevel = () => {};
    this.onTracks = () => this.watch();
  }

  start() {
    this.media.addEventListener("tracks", this.onTracks);
    this.watch();
  }

  watch() {
    if (this.metered === this.media.audioTrack) return;
    this.metered = this.media.audioTrack;
    this.stopLevel();
    this.stopLevel = meterLevel(this.metered, (value) => {
      this.fill.style.width = `${Math.round(value * 100)}%`;
      this.element.setAttribute("aria-valuenow", String(Math.round(value * 100)));
    });
  }

  stop() {
    this.media.removeEventListener("tracks", this.onTracks);
    this.stopLevel();
    this.stopLevel = () => {};
    this.metered = undefined;
  }
}
