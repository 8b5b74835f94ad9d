// One's own microphone and camera, changed from outside the call's buttons: a device unplugged,
// or a host's request (protocol.md, "A host's requests of microphones and cameras"). Each is said
// in a note and to screen readers. A host turns a microphone or camera off; turning one on is
// only ever the person's own doing, from the note's button.

import { announce, toast } from "./dom.js";
import { t } from "./i18n.js";
import { deviceAdvice } from "./media.js";

/** How long a host's request to turn something on stays offered. */
const ASKED_FOR_MS = 15000;

function say(text, action) {
  toast(text, action ? { actions: [action], timeout: ASKED_FOR_MS } : {});
  announce(text);
}

/** A device was unplugged: the person is told, and which one took its place (`replaced`). */
export function deviceLost(media, { kind, replaced }) {
  const track = kind === "video" ? media.cameraTrack : media.audioTrack;
  say(kind === "video"
    ? (replaced ? t("Your camera was disconnected. Now using {device}.", { device: track?.label || t("another camera") }) : t("Your camera was disconnected."))
    : (replaced ? t("Your microphone was disconnected. Now using {device}.", { device: track?.label || t("another microphone") }) : t("Your microphone was disconnected.")));
}

/** A camera or microphone the person turned on could not be opened: why, and what to do. */
export function deviceRefused({ kind, problem }) {
  say(deviceAdvice(kind, problem));
}

/**
 * A background effect could not be used: the integrator's picture could not be loaded (blur is
 * used instead), or this browser could not run the effect after all (the camera was turned off).
 */
export function backgroundFailed({ effect }) {
  say(effect === "picture"
    ? t("The background picture could not be loaded, so your background is blurred instead.")
    : t("Background effects do not work in this browser, so your camera was turned off."));
}

/**
 * A host (`name`) asked something of this person's microphone or camera (`ask`, as the protocol
 * names it). `setMicrophone(on)` and `setCamera(on)` are the call's own toggles, so the others
 * and an embedding page hear of it as of a click. What is already as asked says nothing.
 */
export function answerMediaAsk(ask, name, { media, setMicrophone, setCamera }) {
  switch (ask) {
    case "mute":
      if (!media.microphoneLive) return;
      setMicrophone(false);
      say(t("{name} turned your microphone off", { name }));
      break;
    case "turn_off_camera":
      if (!media.cameraLive) return;
      setCamera(false);
      say(t("{name} turned your camera off", { name }));
      break;
    case "unmute":
      if (media.microphoneLive) return;
      say(t("{name} asks you to turn your microphone on", { name }), { label: t("Turn microphone on"), run: () => setMicrophone(true), dismiss: true });
      break;
    case "turn_on_camera":
      if (media.cameraLive || !media.cameraAccess) return;
      say(t("{name} asks you to turn your camera on", { name }), { label: t("Turn camera on"), run: () => setCamera(true), dismiss: true });
      break;
    default:
      break;
  }
}
