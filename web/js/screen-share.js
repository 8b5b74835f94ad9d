// Sharing one's screen: its picture goes out in place of the camera until it stops, from the
// button, the embedding page (`toggleScreenshare`), or the browser's own "Stop sharing". It
// outlives a reconnect: the call's new media path is given the screen's track.

import { t } from "./i18n.js";
import { announce, toast } from "./dom.js";

export class ScreenShare {
  /** `path()`: the call's media path now; `changed()`: the picture sent changed. */
  constructor({ path, media, bridge, changed }) {
    this.path = path;
    this.media = media;
    this.bridge = bridge;
    this.changed = changed;
    this.stream = null;
    this.starting = false;
  }

  get sharing() {
    return Boolean(this.stream);
  }

  get track() {
    return this.stream?.getVideoTracks()[0] ?? null;
  }

  /** `enabled` absent: the other way round (the button); true or false: so (the embedding page). */
  async toggle(enabled) {
    const sharing = this.sharing || this.starting;
    if (enabled === undefined ? sharing : !enabled) {
      this.stop();
      return;
    }
    if (sharing) return;
    this.starting = true;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = stream.getVideoTracks()[0];
      this.stream = stream;
      this.path().screenTrack = track;
      track.addEventListener("ended", () => this.stop());
      await this.path().useVideoTrack(track);
      this.changed();
      announce(t("You are sharing your screen"));
      this.bridge.emit("screenshare_toggle", { enabled: true });
    } catch {
      toast(t("Screen sharing was not started."));
    } finally {
      this.starting = false;
    }
  }

  stop() {
    const stream = this.stream;
    if (!stream) return;
    this.stream = null;
    this.path().screenTrack = null;
    for (const track of stream.getTracks()) track.stop();
    this.path().useVideoTrack(this.media.videoTrack);
    this.changed();
    this.bridge.emit("screenshare_toggle", { enabled: false });
  }
}
