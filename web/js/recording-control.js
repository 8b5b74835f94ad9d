// The call's recording (protocol.md, "Local recording"). Who records is the room's word, shown to
// everyone on the stage; a host of a meeting that allows it records from the control bar, and only
// once the room has told everyone (start_recording, then recording_changed): recorder.js does the
// recording in this browser. The file is saved whenever the recording stops, however it stops.

import { language, t } from "./i18n.js";
import { h, iconButton, announce, toast, durationText } from "./dom.js";
import { CallRecorder, recordingFileName, recordingSupported, saveFile } from "./recorder.js";
import { leftRecordings } from "./recording-store.js";
import { serverNow } from "./server-clock.js";

export class RecordingControl {
  /**
   * @param nameOf someone in the room's name, by client id.
   * @param sources, ownAudio what to record (recorder.js).
   * @param offered whether the page offers the button at all (Whereby's `recording` parameter).
   */
  constructor({ signal, bridge, roomTitle, nameOf, sources, ownAudio, offered }) {
    Object.assign(this, { signal, bridge, roomTitle, nameOf, sources, ownAudio });
    this.offered = offered;
    this.supported = recordingSupported();
    // The room's word: `{clientId, startedAt}` of whoever records, or null.
    this.recording = null;
    // This page asked to start and waits for the room to say so.
    this.asked = false;
    this.recorder = null;
    // How long it has been recording, by the room's clock (server-clock.js).
    this.elapsed = h("span", { class: "recording-time", "aria-hidden": "true" });
    // (Said aloud by `announce` as it starts and stops; the badge itself is no live region.)
    this.badge = h("div", { class: "recording-badge", id: "recording-badge", hidden: true },
      h("span", { class: "recording-dot", "aria-hidden": "true" }), h("span", { text: t("Recording") }), this.elapsed);
    this.ticker = setInterval(() => this.showElapsed(), 1000);
    this.button = iconButton({ id: "record-toggle", name: "circle-dot", label: t("Record"), className: "control", pressed: false, onclick: () => this.toggle() });
    // Closing the tab would stop the recording (what is kept waits for the next visit,
    // recording-store.js): the browser asks first.
    this.onUnload = (event) => {
      if (!this.recorder) return;
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", this.onUnload);
  }

  /** On each `room_joined` (a reconnect too): who this person is, and what the room says. */
  entered({ selfId, host, recordingType, recording }) {
    this.selfId = selfId;
    this.allowed = host && recordingType === "local";
    this.button.hidden = !(this.offered && this.supported && this.allowed);
    this.roomSays(recording ?? null);
  }

  /**
   * Starts (`on`) this host's recording, or stops (false) the room's, whoever's it is; undefined:
   * the other way round.
   */
  toggle(on = !this.on) {
    if (on) {
      if (this.recorder || this.asked || !this.allowed) return;
      if (!this.supported) {
        toast(t("This browser cannot record the call."));
        return;
      }
      this.asked = true;
      this.signal.send("start_recording", {});
    } else {
      if (!this.recorder && !this.asked && !this.recording) return;
      this.signal.send("stop_recording", {});
      this.finish();
    }
    this.sync();
  }

  /** The room refused to start (not allowed here, or another host records). */
  refused() {
    this.asked = false;
    this.sync();
  }

  /** The room's word: `room.recording` of a `room_joined`, or a `recording_changed`. */
  roomSays(recording) {
    const before = this.recording;
    this.recording = recording;
    const mine = recording?.clientId === this.selfId;
    if (mine && !this.recorder && !this.starting) {
      // The room counts this page as recording though it is not (a page loaded again, say):
      // it says so, and the room stops it for everyone.
      if (this.asked) this.begin();
      else this.signal.send("stop_recording", {});
    }
    // Stopped by another host, or by the room (it no longer counts this person as recording).
    if (!mine && this.recorder) this.finish();
    if (!mine) this.asked = false;
    if (recording && recording.clientId !== before?.clientId) {
      announce(mine ? t("You are recording this call") : t("{name} is recording this call", { name: this.nameOf(recording.clientId) ?? t("A host") }));
      this.bridge.emit("recording_status_change", { status: "started", clientId: recording.clientId });
    } else if (!recording && before) {
      announce(t("The recording stopped"));
      this.bridge.emit("recording_status_change", { status: "stopped" });
    }
    this.sync();
  }

  async begin() {
    this.asked = false;
    this.starting = true;
    const startedAt = Date.now();
    try {
      const recorder = await CallRecorder.start({ id: startedAt, sources: this.sources, ownAudio: this.ownAudio });
      this.recorder = recorder;
      this.startedAt = startedAt;
      // Stopped, or the page left the call, while it started.
      if (this.recording?.clientId !== this.selfId || this.gone) this.finish();
    } catch (err) {
      console.warn("recording could not start", err);
      toast(t("This browser cannot record the call."));
      this.signal.send("stop_recording", {});
    } finally {
      this.starting = false;
      this.sync();
    }
  }

  /** Stops this page's recording, if it records, and saves the file. */
  async finish() {
    const recorder = this.recorder;
    if (!recorder) return;
    this.recorder = null;
    this.sync();
    const file = await recorder.stop();
    if (file.size === 0) return;
    saveFile(file, recordingFileName(this.roomTitle, this.startedAt));
    recorder.sink.saved();
    toast(t("The recording was saved to your downloads."));
  }

  showElapsed() {
    if (this.recording) this.elapsed.textContent = durationText(serverNow() - this.recording.startedAt);
  }

  sync() {
    this.showElapsed();
    const by = this.recording?.clientId;
    this.badge.hidden = !this.recording;
    this.badge.title = by === this.selfId ? t("You are recording this call") : t("{name} is recording this call", { name: this.nameOf(by) ?? t("A host") });
    const on = this.on;
    this.button.setLabel(on ? "circle-stop" : "circle-dot", on ? t("Stop recording") : t("Record"));
    this.button.setAttribute("aria-pressed", String(on));
    this.button.classList.toggle("recording", Boolean(this.recording));
  }

  /** Whether the room is being recorded, or this page asked to (its button then stops it). */
  get on() {
    return Boolean(this.recorder || this.asked || this.recording);
  }

  /** The call is over for this page: a recording stops and is saved. */
  destroy() {
    this.gone = true;
    clearInterval(this.ticker);
    window.removeEventListener("beforeunload", this.onUnload);
    this.finish();
  }
}

/**
 * Offers to save the recordings a tab of this site began and could not save (it crashed, or was
 * closed while recording), one note each, on the next visit.
 */
export async function offerLeftRecordings() {
  for (const left of await leftRecordings()) {
    const file = await left.file();
    if (file.size === 0) {
      left.discard();
      continue;
    }
    const when = new Date(left.startedAt).toLocaleString(language(), { dateStyle: "medium", timeStyle: "short" });
    toast(t("A recording of {when} was not saved.", { when }), { timeout: 0, actions: [
      { label: t("Save it"), dismiss: true, run: () => {
        saveFile(file, recordingFileName("", left.startedAt));
        left.saved();
      } },
      { label: t("Discard"), dismiss: true, run: () => left.discard() },
    ] });
  }
}
