// Who is in the call and who waits at its door, as one page knows it: a pure reducer over the
// server's frames, unit-tested (web/test/roster.test.mjs). Every host's list of knockers is the
// server's queue, in its order.

import { t } from "./i18n.js";

/** The roster a `room_joined` starts with. */
export function fromJoined(joined) {
  return {
    selfId: joined.selfId,
    role: joined.role,
    mode: joined.room?.mode || "normal",
    locked: Boolean(joined.room?.isLocked),
    // Whom hosts show large on everyone's stage, in the order put there (a server of before
    // several could be says only `spotlight`).
    spotlights: joined.room?.spotlights ?? (joined.room?.spotlight ? [joined.room.spotlight] : []),
    // A host's browser recording the call ({clientId, startedAt}), or null.
    recording: joined.room?.recording ?? null,
    // Hands up, oldest first: [{clientId, raisedAt}].
    hands: (joined.room?.hands || []).map(({ clientId, raisedAt }) => ({ clientId, raisedAt })),
    capacity: joined.room?.capacity || null,
    clients: (joined.room?.clients || []).map(client),
    knockers: (joined.knockers || []).map(knock),
  };
}

// `away`: their connection dropped and they may come back as themselves (the server's grace).
// `externalId` and `metadata` come to hosts only.
const client = ({ id, displayName, role, audio = true, video = true, screen = false, away = false, externalId = null, metadata = null, avatarUrl = null }) =>
  ({ id, displayName, role, media: { audio, video, screen }, away: Boolean(away), externalId, metadata, avatarUrl });
const knock = (k) => ({ clientId: k.clientId, displayName: k.displayName, state: k.state, holdMessage: k.holdMessage || null, knockedAt: k.knockedAt, externalId: k.externalId || null, avatarUrl: k.avatarUrl || null, away: Boolean(k.away) });

/** A list with the item whose `key` is `id` changed as `change` says (the others as they were). */
const patch = (list, key, id, change) => list.map((item) => (item[key] === id ? { ...item, ...change } : item));

/** The roster after one frame; frames that do not concern it leave it as it is. */
export function apply(roster, kind, p) {
  switch (kind) {
    case "new_client": {
      // Someone back after a drop keeps their place in the list.
      const known = roster.clients.some((c) => c.id === p.client.id);
      const clients = known ? patch(roster.clients, "id", p.client.id, client(p.client)) : [...roster.clients, client(p.client)];
      return { ...roster, clients };
    }
    case "client_away":
      return { ...roster, clients: patch(roster.clients, "id", p.clientId, { away: true }) };
    case "client_left":
      // Their hand goes with them (the server sends nothing more of it).
      return { ...roster, clients: roster.clients.filter((c) => c.id !== p.clientId), hands: roster.hands.filter((x) => x.clientId !== p.clientId) };
    case "hand_changed": {
      const rest = roster.hands.filter((x) => x.clientId !== p.clientId);
      return { ...roster, hands: p.raised ? [...rest, { clientId: p.clientId, raisedAt: p.raisedAt }] : rest };
    }
    case "media_state":
      return { ...roster, clients: patch(roster.clients, "id", p.clientId, { media: { audio: Boolean(p.audio), video: Boolean(p.video), screen: Boolean(p.screen) } }) };
    case "room_locked":
      return { ...roster, locked: Boolean(p.isLocked) };
    case "spotlight_changed":
      return { ...roster, spotlights: p.clientIds ?? (p.clientId ? [p.clientId] : []) };
    case "recording_changed":
      return { ...roster, recording: p.recording ?? null };
    case "room_knocked": {
      const rest = roster.knockers.filter((k) => k.clientId !== p.clientId);
      const at = p.position ? Math.min(p.position - 1, rest.length) : rest.length;
      return { ...roster, knockers: [...rest.slice(0, at), knock(p), ...rest.slice(at)] };
    }
    case "knock_handled":
      if (!p.clientId) return roster;
      if (p.resolution === "held") {
        return { ...roster, knockers: patch(roster.knockers, "clientId", p.clientId, { state: "held", holdMessage: p.message || null }) };
      }
      return { ...roster, knockers: roster.knockers.filter((k) => k.clientId !== p.clientId) };
    case "knocker_away":
    case "knocker_back":
      return { ...roster, knockers: patch(roster.knockers, "clientId", p.clientId, { away: kind === "knocker_away" }) };
    case "knocker_left":
      return { ...roster, knockers: roster.knockers.filter((k) => k.clientId !== p.clientId) };
    default:
      return roster;
  }
}

/** People as hosts and guests read their role. */
/** Those who take part (everyone but viewers): whom the room's capacity counts as participants. */
export const participantsOf = (clients) => clients.filter((c) => c.role !== "viewer");

/** Whether nobody more may be let in: every participant's place, or every place, taken. */
export const roomIsFull = (clients, capacity) =>
  Boolean(capacity) && (participantsOf(clients).length >= capacity.participants || clients.length >= capacity.total);

export const ROLE_LABELS = { host: () => t("Host"), visitor: () => t("Guest"), granted_visitor: () => t("Guest"), viewer: () => t("Viewer") };

/**
 * Two letters for an avatar: the initials of the first and last words that begin with a letter
 * (an emoji or a flag before a name is left out), else of the first and last words. A letter is
 * what a reader sees as one (an accent typed apart, a flag's two codes), upper-cased unless
 * that makes it longer (ß would read SS).
 */
export function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const lettered = words.filter((word) => /^\p{L}/u.test(word));
  const chosen = lettered.length > 0 ? lettered : words;
  const first = initialOf(chosen[0]);
  const last = chosen.length > 1 ? initialOf(chosen[chosen.length - 1]) : "";
  return first + last;
}

const graphemes = typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

function initialOf(word) {
  const letter = graphemes ? graphemes.segment(word)[Symbol.iterator]().next().value.segment : [...word][0];
  const upper = letter.toUpperCase();
  return [...upper].length > [...letter].length ? letter : upper;
}
