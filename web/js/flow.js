// The page's flow as one explicit state machine: pure (no DOM, no sockets, no clocks; time comes in
// with the events), unit-tested with node --test (web/test/flow.test.mjs). `step(state, event)`
// returns the next state and the effects the page must carry out: frames to send, things to say.
//
// Screens: loading → (unavailable | precall) → door → waiting → call, and the ends: left, ended,
// removed, replaced, full. The connection is separate: open, lost (reconnecting), restarting (the
// server said it was going away), or retrying (the server cannot open the room just now: its store
// is away, the room is busy or moving), and every screen survives it. A socket that opens again is
// not yet "back": the connection stays down until the room answers the page's join or preview,
// because a node that cannot reach the room's server yet sends the page away again at once.
// Its words are English keys, in the page's language through i18n.js's `t`.

import { isolated, ordinal, t } from "./i18n.js";
import { nameProblem } from "./params.js";

/** What a refused room or key means to a person, before any device is touched. */
const UNAVAILABLE = {
  room_not_found: () => [t("This room is not available"), t("The meeting does not exist, was cancelled, or has ended.")],
  invalid_room_key: () => [t("This link does not work"), t("The key in the link is not valid. Ask for a new link.")],
  room_key_expired: () => [t("This link has expired"), t("Ask for a new link.")],
  room_key_mismatch: () => [t("This link does not work"), t("The key in the link belongs to another room, or to someone else.")],
  invalid_room_name: () => [t("This link does not work"), t("The address is not one of a room.")],
};

/** Why a knock was refused, in the page's language (the server's message, in English, otherwise). */
const KNOCK_REFUSALS = {
  knock_cooldown: () => t("A host turned your knock away a moment ago."),
  knock_queue_full: () => t("Too many people are waiting. Try again later."),
  rate_limited: () => t("Too many knocks from your network. Wait a minute, then try again."),
  already_knocking: () => t("You are already waiting to be let in."),
};

/**
 * A refused request in the call, in the page's language: what each code means to the person who
 * clicked (the server's English message, which names ids, only for a code the page does not know).
 */
const REFUSALS = {
  knock_not_found: () => t("That person is no longer waiting."),
  client_not_found: () => t("That person is no longer in the room."),
  client_away: () => t("That person is reconnecting. Try again once they are back."),
  forbidden: () => t("You cannot do that in this room."),
  invalid_message: () => t("This message cannot be sent: it is empty or too long."),
  rate_limited: () => t("Too much at once. Wait a moment, then try again."),
  spotlight_full: () => t("Four people are in the spotlight already. Take one out first."),
  room_full: () => t("The room is full. Whoever is still waiting stays in line until someone leaves."),
  recording_unavailable: () => t("This meeting cannot be recorded, or another host is recording it."),
  internal: () => t("Something went wrong. Try again."),
};

/** The connection's states while it is down: the page keeps reconnecting until the room answers. */
const OUTAGE = ["lost", "restarting", "retrying"];
/** The states before the page's first connection: trying, and failing for some seconds. */
const FIRST = ["connecting", "unreachable"];
/** Failed tries in a row (two to four seconds of them) before the page says it cannot reach the server. */
const UNREACHABLE_AFTER = 4;

const ENDINGS = {
  ended_by_host: () => t("A host ended the meeting for everyone."),
  meeting_deleted: () => t("The meeting was cancelled."),
  meeting_expired: () => t("The meeting's time is over."),
};

/** `resumeToken`: the place this tab had in the room before a reload (seat.js), if any. */
export function initial({ roomName, roomKey = null, displayName = "", externalId = null, metadata = null, avatarUrl = null, deviceId = null, grant = null, precallReview = true, resumeToken = null }) {
  return {
    screen: "loading",
    connection: "connecting",
    roomName,
    roomKey,
    grant,
    rejoinKey: null,
    displayName,
    externalId,
    metadata,
    avatarUrl,
    deviceId,
    precallReview,
    preview: null,
    resumeToken,
    knockPage: {},
    wait: null,
    door: { notice: null, cooldownUntil: null },
    // What the door says of the room: a host is in to see a knock (a server that does not say:
    // yes), and the call is being recorded.
    inside: { hostPresent: true, recording: false },
    rejection: null,
    ending: null,
  };
}

/** A frame to send; fields left undefined are left out. */
const send = (type, payload = {}) => ({
  send: [type, Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined))],
});
const say = (text) => ({ announce: text });
const emit = (type, payload = {}) => ({ emit: [type, payload] });

/** The join_room that gets this person in as what it may be: the grant or key it holds, else none. */
function join(state, extra = {}) {
  return send("join_room", {
    roomName: state.roomName,
    roomKey: state.grant || state.rejoinKey || state.roomKey || undefined,
    displayName: state.displayName || undefined,
    externalId: state.externalId || undefined,
    metadata: state.metadata || undefined,
    avatarUrl: state.avatarUrl || undefined,
    deviceId: state.deviceId || undefined,
    ...extra,
  });
}

/** A join that takes back this page's place in the room, if it has one (its resume token). */
function joinAgain(state) {
  return join(state, { resumeToken: state.resumeToken || undefined });
}

/** The room's door, for the review; with this page's resume token, if it had a place (a reload),
 * so that a knock it left waiting keeps its place while the person reviews their devices. */
function preview(state) {
  return send("preview_room", { roomName: state.roomName, roomKey: state.roomKey || undefined, resumeToken: state.resumeToken || undefined });
}

/**
 * @param state the current state
 * @param event {type: "open" | "lost" | "failed" | "frame" | "precall_done" | "knock" | "cancel" | "leave" | "rejoin", ...}
 * @returns {{state, effects: object[]}}
 */
export function step(state, event) {
  switch (event.type) {
    case "open":
      return opened(state);
    case "lost":
      // Already said (or the server said it was going away): one notice per outage, not per try.
      if (OUTAGE.includes(state.connection)) return { state, effects: [] };
      return { state: { ...state, connection: "lost" }, effects: [say(t("Connection lost. Reconnecting…"))] };
    case "failed":
      // The first connection has failed a few times in a row (some seconds): the loading screen
      // says the server cannot be reached, rather than "Connecting…" for ever.
      if (state.connection !== "connecting" || event.tries < UNREACHABLE_AFTER) return { state, effects: [] };
      // (The loading screen's status line says it, to screen readers too.)
      return { state: { ...state, connection: "unreachable" }, effects: [] };
    case "frame":
      return answered(frame({ ...state }, event.kind, event.payload || {}, event.now ?? 0), event.kind, event.payload || {});
    case "precall_done":
      // (With the place this tab had before a reload, if any: back in the call, or in line.)
      return { state: { ...state, screen: "loading", displayName: event.displayName }, effects: [joinAgain({ ...state, displayName: event.displayName })] };
    case "knock":
      // At a door a host unlocked meanwhile (this person stopped waiting, then pressed Knock
      // again), knocking would wait for nothing: in, as anyone now would.
      if (state.inside?.locked === false) return { state, effects: [joinAgain(state)] };
      return { state, effects: [send("knock_room", { displayName: state.displayName || undefined })] };
    case "cancel":
      return {
        state: { ...state, screen: "door", wait: null },
        effects: [send("cancel_room_knock"), emit("cancel_knock")],
      };
    case "leave":
      return { state, effects: [send("leave_room")] };
    case "rejoin":
      return { state: { ...state, screen: "loading", ending: null }, effects: [join(state)] };
    case "unsupported":
      // No WebRTC here (turned off, or an app's browser without it): in the room the person
      // would see and hear nobody, and be a silent tile to the others. Said before anything is
      // asked for, with the link to open elsewhere.
      return end(state, "unavailable", t("This browser cannot join calls"),
        t("Video calls need WebRTC, which this browser lacks or has turned off. Open the room's link in an up-to-date Chrome, Edge, Firefox or Safari; in an app, choose to open it in your browser."),
        "browser_unsupported");
    default:
      return { state, effects: [] };
  }
}

/**
 * The socket is (back) up: say again who we are, as far as we had got. The first time, the
 * connection is open at once; after a drop it is back only when the room answers (`answered`).
 */
function opened(state) {
  const { state: next, effects } = rejoin(state);
  const asked = effects.some((e) => e.send);
  if (FIRST.includes(state.connection) || !asked) return back(next, effects);
  return { state: next, effects };
}

/** What the page asks on a fresh socket, for the screen it is on. */
function rejoin(state) {
  switch (state.screen) {
    case "loading":
    case "precall":
      if (!state.preview) return { state, effects: [preview(state)] };
      if (state.screen === "precall") return { state, effects: [] };
      return { state, effects: [joinAgain(state)] };
    case "call":
      // After the room moved (a server restart or failover), its resume token takes this person's
      // place back without a key or a knock; otherwise the key does.
      return { state, effects: [joinAgain(state)] };
    case "waiting":
      // A knock whose connection dropped is taken back with its resume token.
      return { state: { ...state, resuming: true }, effects: [joinAgain(state)] };
    case "door":
    case "rejected":
      return { state, effects: [join(state)] };
    default:
      return { state, effects: [] };
  }
}

/** The connection counts as open; after a drop, that is said. */
function back(state, effects) {
  if (state.connection === "open") return { state, effects };
  const again = !FIRST.includes(state.connection);
  return { state: { ...state, connection: "open" }, effects: again ? [...effects, say(t("Connected again"))] : effects };
}

/**
 * A frame that answers the page's join or preview ends an outage. A refusal to come back now
 * (`server_shutting_down`) does not: the page goes on reconnecting.
 */
function answered(result, kind, p) {
  if (!OUTAGE.includes(result.state.connection)) return result;
  const answer = kind === "room_joined" || kind === "room_preview"
    || (kind === "error" && ["join_room", "preview_room"].includes(p.requestType) && p.code !== "server_shutting_down");
  if (!answer) return result;
  const { state, effects } = back(result.state, []);
  return { state, effects: [...effects, ...result.effects] };
}

function frame(state, kind, p, now) {
  switch (kind) {
    case "room_preview":
      return {
        state: { ...state, preview: p, knockPage: p.knockPage || {}, screen: state.precallReview ? "precall" : "loading" },
        effects: state.precallReview ? [emit("ready")] : [emit("ready"), joinAgain(state)],
      };
    case "room_joined":
      return joined(state, p, now);
    case "knock_sent": {
      // What the door had to say goes on to the waiting screen (a place lost while offline: the
      // person is told, not silently sent to the back of the line).
      const notice = state.door.notice;
      return {
        state: { ...state, screen: "waiting", wait: { hold: null, position: null, messages: [], sentBack: false, notice }, door: { notice: null, cooldownUntil: null } },
        effects: [emit("knock"), say(notice || t("You knocked. Waiting for a host."))],
      };
    }
    case "knock_page_updated":
      return { state: { ...state, knockPage: p }, effects: [] };
    case "door_changed": {
      const inside = insideOf(p);
      // Unlocked while this person stands at the door, not knocking: in, as anyone would come now.
      // (A knock stays in line: a host decides it.)
      const opened = state.screen === "door" && state.inside?.locked && !inside.locked;
      return { state: { ...state, inside }, effects: [...doorNews(state, inside), ...(opened ? [joinAgain(state)] : [])] };
    }
    case "knock_position":
      if (!state.wait) return { state, effects: [] };
      return { state: { ...state, wait: { ...state.wait, position: p.position } }, effects: [say(placeText(p.position))] };
    case "host_message":
      if (!state.wait) return { state, effects: [] };
      return {
        state: { ...state, wait: { ...state.wait, messages: [...state.wait.messages, { message: p.message, host: p.hostDisplayName }] } },
        effects: [say(`${isolated(p.hostDisplayName)}: ${isolated(p.message)}`)],
      };
    case "sent_to_waiting_room":
      return {
        state: { ...state, screen: "waiting", grant: null, rejoinKey: null, wait: { hold: { message: p.message || null, host: p.hostDisplayName }, position: 1, messages: [], sentBack: true } },
        effects: [left("sent_to_waiting_room"), say(p.message ? t("{host} asked you to wait outside: {message}", { host: p.hostDisplayName, message: p.message }) : t("{host} asked you to wait outside", { host: p.hostDisplayName }))],
      };
    case "knock_handled":
      return verdict(state, p, now);
    case "knock_expired":
      return {
        state: { ...state, screen: "door", wait: null, door: { notice: p.message, cooldownUntil: null } },
        effects: [say(p.message)],
      };
    case "room_left":
      return { state: { ...state, screen: "left" }, effects: [left("left"), say(t("You left the room"))] };
    case "client_kicked":
      return end(state, "removed", t("You were removed from the room"), t("A host removed you."), "kicked");
    case "room_ended":
      if (p.reason === "server_shutdown") {
        return { state: { ...state, connection: "restarting", rejoinKey: p.rejoinKey || state.rejoinKey }, effects: [say(t("The server is restarting. Reconnecting…"))] };
      }
      return withEffect(end(state, "ended", t("The meeting has ended"), ENDINGS[p.reason]?.() ?? null, p.reason), emit("meeting_end"));
    case "error":
      return error(state, p, now);
    default:
      return { state, effects: [] };
  }
}

/** What the door says of the room (a server that does not say has a host in, not recording, locked). */
const insideOf = (p) => ({ hostPresent: p.hostPresent !== false, recording: p.isRecording === true, locked: p.isLocked !== false });

/** What is said aloud as the room changes behind the door. */
function doorNews(state, inside) {
  if (state.screen !== "door" && state.screen !== "waiting") return [];
  const news = [];
  if (inside.recording !== state.inside.recording) news.push(say(inside.recording ? t("This call is being recorded.") : t("This call is no longer being recorded.")));
  if (inside.hostPresent !== state.inside.hostPresent && state.screen === "waiting" && !state.wait?.hold) {
    news.push(say(inside.hostPresent ? t("A host is here now and can see your knock.") : t("No host is in the room now. Your knock keeps its place.")));
  }
  return news;
}

function joined(state, p, now) {
  if (p.error === "room_full") return end(state, "full", t("This room is full"), t("Try again when someone has left."), "room_full");
  if (p.error === "room_locked") {
    const cooldownUntil = p.knockCooldownSeconds ? now + p.knockCooldownSeconds * 1000 : null;
    const next = { ...state, resumeToken: p.resumeToken, knockPage: p.knockPage || {}, inside: insideOf(p), grant: null, rejoinKey: null };
    if (p.knock) {
      const hold = p.knock.state === "held" ? { message: p.knock.message || null, host: p.knock.hostDisplayName || null } : null;
      return { state: { ...next, resuming: false, screen: "waiting", wait: { hold, position: state.wait?.position ?? null, messages: state.wait?.messages || [], sentBack: false } }, effects: [] };
    }
    if (state.resuming && state.screen === "waiting") {
      // The knock was lost (the server restarted, or the grace ran out): knock again at once.
      return {
        state: { ...next, resuming: false, screen: "door", door: { notice: t("Your place in line was lost while you were offline; you knocked again."), cooldownUntil } },
        effects: [send("knock_room", { displayName: state.displayName || undefined })],
      };
    }
    return { state: { ...next, resuming: false, screen: "door", door: { notice: state.door.notice, cooldownUntil } }, effects: [] };
  }
  return {
    state: { ...state, screen: "call", wait: null, rejection: null, resumeToken: p.resumeToken || state.resumeToken },
    effects: [emit("join", { selfId: p.selfId, role: p.role }), say(t("You are in the room"))],
  };
}

function verdict(state, p, now) {
  if (p.clientId) return { state, effects: [] }; // a host's copy: the call's lists take it
  switch (p.resolution) {
    case "held": {
      const wait = state.wait || { position: null, messages: [], sentBack: false };
      return {
        state: { ...state, screen: "waiting", wait: { ...wait, hold: { message: p.message || null, host: p.hostDisplayName || null } } },
        effects: [say(`${isolated(p.hostDisplayName || t("The host"))}: ${isolated(p.message || t("please wait a moment"))}`)],
      };
    }
    case "accepted": {
      const next = { ...state, grant: p.roomKey, screen: "loading" };
      return { state: next, effects: [say(t("A host let you in")), join(next)] };
    }
    case "rejected":
      return {
        state: {
          ...state,
          screen: "rejected",
          wait: null,
          rejection: { message: p.message || null, host: p.hostDisplayName || null, retryAt: now + (p.retryAfterSeconds || 0) * 1000 },
        },
        effects: [say(p.message ? t("The host did not let you in: {message}", { message: p.message }) : t("The host did not let you in"))],
      };
    default:
      return { state, effects: [] };
  }
}

function error(state, p, now) {
  const code = p.code;
  if (code === "replaced") return end(state, "replaced", t("You joined from somewhere else"), t("This window left the room because you joined again from another window."), "replaced");
  // The page was opened at an address whose pages may not connect (the server's own is elsewhere).
  if (code === "origin_not_allowed") {
    return end(state, "unavailable", t("This room is at another address"), t("The server does not open its rooms at this address."), code, { address: p.publicUrl || null });
  }
  if (code === "server_shutting_down") return comeBack(state, p);
  if (UNAVAILABLE[code] && (p.requestType === "preview_room" || (p.requestType === "join_room" && state.screen !== "call"))) {
    const [title, text] = UNAVAILABLE[code]();
    return end(state, "unavailable", title, text, code);
  }
  if (p.requestType === "join_room" && code === "invalid_display_name") {
    return end(state, "unavailable", t("Your name cannot be used"), nameRefusal(state), code);
  }
  if (p.requestType === "knock_room") {
    // A cooldown, a full queue, too many from this address, a name refused: say why at the door.
    const seconds = p.retryAfterSeconds || 0;
    const cooldownUntil = code === "knock_cooldown" && seconds ? now + seconds * 1000 : state.door.cooldownUntil;
    const notice = code === "invalid_display_name" ? nameRefusal(state) : (KNOCK_REFUSALS[code]?.() ?? p.message);
    return { state: { ...state, screen: "door", door: { notice, cooldownUntil } }, effects: [say(notice)] };
  }
  // The media signalling the page sends by itself: a refusal (the peer just left or is
  // reconnecting) is for the console, not a message to the person.
  // A reaction the room refused (too many in it at once) is logged, and the picker says so.
  if (p.requestType === "send_reaction") return { state, effects: [{ log: `${p.requestType}: ${p.message}` }, ...(code === "rate_limited" ? [{ reactionRefused: true }] : [])] };
  if (p.requestType === "start_recording") return { state, effects: [{ toast: REFUSALS[code]?.() ?? p.message }, { recordingRefused: true }] };
  if (MEDIA_SIGNALLING.includes(p.requestType)) return { state, effects: [{ log: `${p.requestType}: ${p.message}` }] };
  return { state, effects: [{ toast: REFUSALS[code]?.() ?? p.message }] };
}

/** Why the server refused the page's name, in the page's words: the rule it broke (a blank name is never refused). */
function nameRefusal(state) {
  return nameProblem(state.displayName || "") ?? t("This name cannot be used. Try another.");
}

// (A group room's, `sfu_*`, refused in a race: the page was sent out of the room meanwhile.)
const MEDIA_SIGNALLING = ["ready_to_receive_offer", "sdp_offer", "sdp_answer", "ice_candidate", "ice_end_of_candidates", "sfu_offer", "sfu_answer", "sfu_view"];

/** `more`: what the end page needs besides its words (the room's own address). */
function end(state, screen, title, text, reason, more = {}) {
  return {
    state: { ...state, screen, ending: { title, text, reason, ...more } },
    effects: [{ close: true }, left(reason), say(title)],
  };
}

/** Whereby's `leave` event: `removed` when a host took this person out of the room. */
function left(reason) {
  return emit("leave", { reason, removed: REMOVALS.includes(reason) });
}

const REMOVALS = ["kicked", "sent_to_waiting_room"];

/**
 * The server asks the page to come back shortly. Sent unasked, it is going away (a restart); in
 * answer to the page's join or preview, it cannot open the room just now. Said once per outage,
 * not at each try.
 */
function comeBack(state, p) {
  const connection = p.requestType ? "retrying" : "restarting";
  if (state.connection === connection) return { state, effects: [] };
  const text = connection === "retrying" ? t("The room cannot be reached right now. Reconnecting…") : t("The server is restarting. Reconnecting…");
  return { state: { ...state, connection }, effects: [say(text)] };
}

function withEffect(result, effect) {
  return { ...result, effects: [effect, ...result.effects] };
}

/** What the door tells a waiting person (a host's verdict or message, a knock that lapsed, being sent back to wait). */
const NEWS_OF_A_KNOCK = ["knock_handled", "host_message", "knock_expired", "sent_to_waiting_room"];

/**
 * What a step told the person of their knock (the words said to screen readers), for a page in a
 * tab they are not looking at to call them back with; null when it told them nothing of it. (A
 * host's copy of a verdict, with its `clientId`, is not news of their own.)
 */
export function newsOfTheKnock(before, event, effects) {
  if (event.type !== "frame" || !NEWS_OF_A_KNOCK.includes(event.kind) || event.payload?.clientId) return null;
  if (event.kind !== "sent_to_waiting_room" && before.screen !== "waiting") return null;
  return effects.find((effect) => effect.announce)?.announce ?? null;
}

/** Whether the page's connection to the server is down, or has not got through yet for some seconds (it keeps trying). */
export function connectionDown(state) {
  return OUTAGE.includes(state.connection) || state.connection === "unreachable";
}

/**
 * This page's room (with its parameters, and its key, which the page took out of the address bar)
 * at the server's own address, if that is a web address: as the server makes room URLs, the
 * address (a proxy's path in it too) and the room's name.
 */
export function roomElsewhere(address, roomName, location, roomKey = null) {
  try {
    const base = new URL(address);
    const there = new URL(`${base.href.replace(/\/$/, "")}${roomName}${location.search}${location.hash}`);
    if (roomKey && !there.searchParams.has("roomKey")) there.searchParams.set("roomKey", roomKey);
    return ["http:", "https:"].includes(there.protocol) ? there.href : null;
  } catch {
    return null;
  }
}

export function placeText(position) {
  return position === 1 ? t("You are next in line") : t("You are {ordinal} in line", { ordinal: ordinal(position) });
}
