// The room URL: the room name in the path and Whereby's URL parameters in the query.
// https://docs.whereby.com (URL parameters): displayName, roomKey, externalId, metadata, audio, video,
// precallReview, precallCeremony, precallCeremonyCanSkip, skipMediaPermissionPrompt, minimal/embed,
// topToolbar, bottomToolbar, participantCount, floatSelf, locking, people, chat, screenshare,
// leaveButton, background, logo, cameraAccess, lowData, avatarUrl, aec, agc, audioDenoiser, timer,
// precallPermissionHelpLink, pipButton, autoHideSelfView, localization, settingsButton,
// autoSpotlight, reactions, recording, virtualBackgroundUrl, cameraEffect. `lang` is read first, by main.js (the room's title is in it).
// iframeSource, jsApi and `we` are accepted and ignored, as are Whereby's others (embedding.md).

import { BASE, withinBase } from "./base.js";
import { t } from "./i18n.js";
import { BACKGROUNDS } from "./background.js";

const TRUE = new Set(["", "on", "true", "1", "yes"]);
const FALSE = new Set(["off", "false", "0", "no"]);

function flag(query, name, fallback) {
  if (!query.has(name)) return fallback;
  const value = query.get(name).toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  return fallback;
}

export function readParams(location = window.location, base = BASE) {
  const query = new URLSearchParams(location.search);
  const path = withinBase(location.pathname, base);
  const roomName = "/" + decodeURIComponent(path.replace(/^\/+/, "").split("/")[0] || "");
  const minimal = flag(query, "minimal", false) || flag(query, "embed", false);
  return {
    roomName,
    roomKey: query.get("roomKey") || null,
    roomTitle: roomTitle(roomName),
    displayName: query.get("displayName") || "",
    externalId: query.get("externalId") || null,
    avatarUrl: pictureAddress(query.get("avatarUrl"), "avatarUrl"),
    metadata: query.get("metadata") || null,
    audio: flag(query, "audio", true),
    video: flag(query, "video", true),
    // Off: the camera is never asked for nor offered (an audio-only participant).
    cameraAccess: flag(query, "cameraAccess", true),
    // On: the camera is captured, and others' videos asked for, at a lower resolution.
    lowData: flag(query, "lowData", false),
    // The browser's processing of the microphone: echo cancellation, automatic gain, noise
    // suppression. Off for music (a lesson), where they take away what is played.
    aec: flag(query, "aec", true),
    agc: flag(query, "agc", true),
    audioDenoiser: flag(query, "audioDenoiser", true),
    precallReview: flag(query, "precallReview", true),
    precallCeremony: flag(query, "precallCeremony", false),
    precallCeremonyCanSkip: flag(query, "precallCeremonyCanSkip", false),
    skipMediaPermissionPrompt: flag(query, "skipMediaPermissionPrompt", false),
    // The review's language picker.
    localization: flag(query, "localization", true),
    // (Also under the name Whereby's element passed on before, with an s.)
    precallPermissionHelpLink: helpAddress(query.get("precallPermissionHelpLink") || query.get("precallPermissionsHelpLink")),
    // Whereby's minimal: the header and every control but the microphone, camera and People go,
    // unless one is asked for by name (`?minimal&chat=on`, `?minimal&topToolbar=on`).
    minimal,
    // The call's header (title, count, lock, invite link) and its control bar.
    topToolbar: flag(query, "topToolbar", !minimal),
    bottomToolbar: flag(query, "bottomToolbar", true),
    participantCount: flag(query, "participantCount", true),
    // How long one has been in the call, in the header.
    timer: flag(query, "timer", false),
    // The header's picture-in-picture button.
    pipButton: flag(query, "pipButton", true),
    // One's own tile small in the stage's corner, over the others.
    floatSelf: flag(query, "floatSelf", false),
    // With floatSelf: that tile put away behind an arrow at first.
    autoHideSelfView: flag(query, "autoHideSelfView", false),
    locking: flag(query, "locking", !minimal),
    people: flag(query, "people", true),
    chat: flag(query, "chat", !minimal),
    screenshare: flag(query, "screenshare", !minimal),
    leaveButton: flag(query, "leaveButton", !minimal),
    // A host entering puts themself in the spotlight (large on everyone's stage).
    autoSpotlight: flag(query, "autoSpotlight", false),
    // The call's settings: camera, microphone and speaker.
    settingsButton: flag(query, "settingsButton", !minimal),
    // A host's Record button, in a meeting created for local recording.
    recording: flag(query, "recording", !minimal),
    // The control bar's reactions (everyone's are shown either way).
    reactions: flag(query, "reactions", !minimal),
    background: flag(query, "background", true),
    // A picture shown behind the person instead of their room (the camera's background effects).
    virtualBackgroundUrl: pictureAddress(query.get("virtualBackgroundUrl"), "virtualBackgroundUrl"),
    // The background effect to start with, by the names of Whereby's presets (else the one kept
    // from the last call; the picture when virtualBackgroundUrl is given).
    cameraEffect: cameraEffect(query.get("cameraEffect")),
    logo: flag(query, "logo", true),
    // Set by /embed.js: the origin of the page embedding this one, the only one told our events.
    embedOrigin: query.get("embedOrigin") || null,
  };
}

/** The longest picture address the server takes. */
export const AVATAR_URL_MAX = 2048;

/**
 * A picture address as the server takes it (meeting/text.rs): https://, or http:// on this machine,
 * with no user name or password; else null (and a word in the console naming the parameter), so
 * that an address the server would refuse leaves the person without a picture rather than outside
 * the room.
 */
export function pictureAddress(raw, param) {
  const text = (raw || "").trim();
  if (!text) return null;
  const url = absoluteUrl(text);
  const local = url?.protocol === "http:" && ["localhost", "127.0.0.1"].includes(url.hostname);
  const usable = url && (url.protocol === "https:" || local) && !url.username && !url.password && [...text].length <= AVATAR_URL_MAX;
  if (!usable) {
    console.warn(`${param} ignored: ${text.slice(0, 80)} is not an https:// address without a user name`);
    return null;
  }
  return url.href;
}

/** A help page's address: http(s) only (a `javascript:` link would run in the room's page); else null. */
export function helpAddress(raw) {
  const url = absoluteUrl((raw || "").trim());
  return url && (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
}

/**
 * Whereby's camera effect presets we have: `none`, `slight-blur`, `blur`, `heavy-blur`, and
 * `image-custom` (the virtualBackgroundUrl picture, "picture" here); else null, said in the console.
 */
export function cameraEffect(raw) {
  if (!raw) return null;
  const effect = raw === "image-custom" ? "picture" : raw;
  if (BACKGROUNDS.includes(effect)) return effect;
  console.warn(`cameraEffect ignored: ${raw.slice(0, 40)} is none of none, slight-blur, blur, heavy-blur, image-custom`);
  return null;
}

/** `text` as an absolute URL, or null. */
function absoluteUrl(text) {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** Whereby's display-name rule: at most 100 characters, none of $!<>:; and no control characters. */
export const NAME_MAX = 100;
export const NAME_FORBIDDEN = "$!<>:;";

/** Direction marks and overrides, and tag characters: they make a name read as another (the server refuses them). */
const INVISIBLE = /[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069\u{E0000}-\u{E007F}]/u;

/** What is wrong with a name, in the page's language, as the server's rules (meeting/text.rs) say; null if nothing. */
export function nameProblem(name) {
  if (INVISIBLE.test(name)) return t("Names may not contain invisible characters that change how text reads.");
  const trimmed = name.trim();
  if (!trimmed) return t("Please enter your name.");
  if ([...trimmed].length > NAME_MAX) return t("Names are at most {max} characters.", { max: NAME_MAX });
  const bad = [...trimmed].find((c) => NAME_FORBIDDEN.includes(c) || c.charCodeAt(0) < 32);
  if (bad) return t("Names may not contain “{bad}” (nor any of {forbidden}).", { bad, forbidden: NAME_FORBIDDEN });
  return null;
}

/**
 * The room's name as people read it: the prefix the integrator chose, without the random part
 * ("/dr-lee-3f2a…" → "Dr lee"); a short name is shown as it is.
 */
export function roomTitle(roomName) {
  const name = String(roomName || "").replace(/^\/+/, "");
  const uuid = /-?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  if (!uuid.test(name)) return name || t("Meeting room");
  const prefix = name.replace(uuid, "").replace(/-+/g, " ").trim();
  return prefix ? prefix[0].toUpperCase() + prefix.slice(1) : t("Meeting room");
}

/**
 * Keeps the room key out of the address bar (and so out of screenshots, history and shared
 * screens): it moves to this tab's session storage, where a reload finds it again.
 */
export function keepKeyOutOfAddressBar(params, { location = window.location, history = window.history, storage = window.sessionStorage } = {}) {
  const slot = `anteroom:key:${params.roomName}`;
  try {
    if (params.roomKey) storage.setItem(slot, params.roomKey);
    else params.roomKey = storage.getItem(slot);
  } catch {
    return params; // storage refused (private mode): the key stays in the address
  }
  const url = new URL(location.href);
  if (url.searchParams.has("roomKey")) {
    url.searchParams.delete("roomKey");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }
  return params;
}

/** A random id this browser keeps, so a host's rejection holds back this device, not a whole office. */
export function deviceId(storage = window.localStorage) {
  try {
    let id = storage.getItem("anteroom:device");
    if (!id) {
      id = crypto.randomUUID();
      storage.setItem("anteroom:device", id);
    }
    return id;
  } catch {
    return null;
  }
}
