// The room URL: the room name in the path and Whereby's URL parameters in the query.
// https://docs.whereby.com (URL parameters): displayName, roomKey, externalId, metadata, audio, video,
// precallReview, precallCeremony, precallCeremonyCanSkip, skipMediaPermissionPrompt, minimal/embed,
// locking, people, chat, screenshare, leaveButton, background, logo. iframeSource, jsApi and `we` are
// accepted and ignored.

const TRUE = new Set(["", "on", "true", "1", "yes"]);
const FALSE = new Set(["off", "false", "0", "no"]);

function flag(query, name, fallback) {
  if (!query.has(name)) return fallback;
  const value = query.get(name).toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  return fallback;
}

export function readParams(location = window.location) {
  const query = new URLSearchParams(location.search);
  const roomName = "/" + decodeURIComponent(location.pathname.replace(/^\/+/, "").split("/")[0] || "");
  const minimal = flag(query, "minimal", false) || flag(query, "embed", false);
  return {
    roomName,
    roomKey: query.get("roomKey") || null,
    displayName: query.get("displayName") || "",
    externalId: query.get("externalId") || null,
    metadata: query.get("metadata") || null,
    audio: flag(query, "audio", true),
    video: flag(query, "video", true),
    precallReview: flag(query, "precallReview", true),
    precallCeremony: flag(query, "precallCeremony", false),
    precallCeremonyCanSkip: flag(query, "precallCeremonyCanSkip", false),
    skipMediaPermissionPrompt: flag(query, "skipMediaPermissionPrompt", false),
    minimal,
    locking: flag(query, "locking", true),
    people: flag(query, "people", true),
    chat: flag(query, "chat", true),
    screenshare: flag(query, "screenshare", true),
    leaveButton: flag(query, "leaveButton", true),
    background: flag(query, "background", true),
    logo: flag(query, "logo", true),
    // Set by /embed.js: the origin of the page embedding this one, the only one told our events.
    embedOrigin: query.get("embedOrigin") || null,
  };
}

/** Whereby's display-name rule: at most 100 characters, none of $!<>:; and no control characters. */
export const NAME_MAX = 100;
export const NAME_FORBIDDEN = "$!<>:;";

export function nameProblem(name) {
  const trimmed = name.trim();
  if (!trimmed) return "Please enter your name.";
  if ([...trimmed].length > NAME_MAX) return `Names are at most ${NAME_MAX} characters.`;
  const bad = [...trimmed].find((c) => NAME_FORBIDDEN.includes(c) || c.charCodeAt(0) < 32);
  if (bad) return `Names may not contain “${bad}” (nor any of ${NAME_FORBIDDEN}).`;
  return null;
}
