// The call's settings panel (Whereby's settingsButton): which camera, microphone and speaker the
// call uses, switched without leaving it, the camera's background effect, and the level of the
// microphone chosen.

import { h, icon } from "./dom.js";
import { t } from "./i18n.js";
import { DevicePickers, MicrophoneMeter, canChooseSpeaker } from "./devices.js";

export class SettingsPanel {
  /** A viewer sends nothing: only where sound plays is theirs to choose. */
  constructor({ media, viewer }) {
    this.pickers = new DevicePickers(media, { camera: media.cameraAccess && !viewer, microphone: !viewer });
    this.meter = viewer ? null : new MicrophoneMeter(media);
    const [camera, background, microphone, speaker] = this.pickers.labels;
    // A viewer's browser may list no speaker: it names devices only to a page allowed a
    // microphone, and a viewer's page never asks for one.
    const nothing = h("p", { class: "settings-nothing", id: "settings-nothing", hidden: true,
      text: t("Sound plays through this device's default speaker: the browser lists no other to choose.") });
    this.pickers.onFilled = () => {
      nothing.hidden = this.pickers.anyShown();
    };
    this.heading = h("h2", { id: "settings-title", tabindex: "-1", text: t("Settings") });
    this.element = h("aside", { class: "panel settings", id: "settings-panel", "aria-labelledby": "settings-title", hidden: true },
      h("header", { class: "panel-header" }, this.heading,
        h("button", { type: "button", class: "icon-only close-panel", "aria-label": t("Close settings"), onclick: () => this.onClose?.() }, icon("x"))),
      h("div", { class: "panel-body settings-body" }, camera, background, microphone, this.meter?.element, speaker, nothing));
  }

  /** Whether there is anything to choose here (a viewer in a browser that cannot pick a speaker has nothing). */
  static useful({ viewer }) {
    return !viewer || canChooseSpeaker();
  }

  shown() {
    this.pickers.start();
    this.meter?.start();
  }

  hidden() {
    this.pickers.stop();
    this.meter?.stop();
  }

  destroy() {
    this.hidden();
  }
}
