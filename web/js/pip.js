// Picture in picture (Whereby's pipButton): the person the stage features, in the browser's small
// window over every other, so a host can read notes elsewhere and still see the guest. A video of
// its own rather than a tile's: the window follows whoever the stage features, and a tile drawn
// again (a reconnect) does not close it.

import { h, iconButton, releaseVideo } from "./dom.js";
import { t } from "./i18n.js";

/** How often an open window checks whom it should show. */
const FOLLOW_MS = 1000;

export class PictureInPicture {
  static supported() {
    return Boolean(document.pictureInPictureEnabled);
  }

  /** `source()` gives the stream to show now; `onToggle(open)` hears the window open and close. */
  constructor({ source, onToggle }) {
    this.source = source;
    this.timer = null;
    this.video = h("video", { class: "pip-source", autoplay: true, playsInline: true, muted: true, "aria-hidden": "true" });
    document.body.append(this.video);
    this.button = iconButton({ id: "pip-toggle", name: "picture-in-picture-2", label: t("Picture in picture"), className: "secondary", pressed: false, onclick: () => this.toggle() });
    this.video.addEventListener("enterpictureinpicture", () => this.opened(true, onToggle));
    this.video.addEventListener("leavepictureinpicture", () => this.opened(false, onToggle));
  }

  get open() {
    return document.pictureInPictureElement === this.video;
  }

  async toggle() {
    if (this.open) {
      await document.exitPictureInPicture().catch(() => {});
      return;
    }
    this.follow();
    // Nobody to show (a viewer alone): no window, rather than waiting for a picture that never comes.
    if (!this.video.srcObject) return;
    try {
      // Metadata first: a video that has not loaded any may not go into a window.
      if (this.video.readyState < HTMLMediaElement.HAVE_METADATA) {
        await new Promise((resolve) => this.video.addEventListener("loadedmetadata", resolve, { once: true }));
      }
      await this.video.requestPictureInPicture();
    } catch (error) {
      console.warn("picture in picture refused", error);
    }
  }

  opened(open, onToggle) {
    this.button.setAttribute("aria-pressed", String(open));
    clearInterval(this.timer);
    this.timer = open ? setInterval(() => this.follow(), FOLLOW_MS) : null;
    onToggle(open);
  }

  /** Shows whoever the stage features now. */
  follow() {
    const stream = this.source();
    if (stream && this.video.srcObject !== stream) this.video.srcObject = stream;
  }

  destroy() {
    clearInterval(this.timer);
    if (this.open) document.exitPictureInPicture().catch(() => {});
    releaseVideo(this.video);
    this.video.remove();
  }
}
