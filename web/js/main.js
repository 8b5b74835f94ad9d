// The room page. The flow (flow.js, a pure state machine) decides what happens; this module carries
// it out: it feeds the machine the connection's events and the server's frames, performs the
// effects it returns (frames to send, words for screen readers, events for an embedding page), and
// shows the screen the state names. The call itself is call.js.

import { announce, chime, toast } from "./dom.js";
import { chooseLanguage, t } from "./i18n.js";
import { readParams, keepKeyOutOfAddressBar, deviceId } from "./params.js";
import { Signal } from "./signal.js";
import { LocalMedia } from "./media.js";
import { DeviceChoices } from "./choices.js";
import { backgroundFailed, deviceRefused } from "./device-notes.js";
import { ScreenKeeper } from "./wake.js";
import { KeptChat, KeptSeat } from "./seat.js";
import { precallReview, viewerReview } from "./precall.js";
import { drawScreen, connectionBanner } from "./screens.js";
import { Call } from "./call.js";
import { offerLeftRecordings } from "./recording-control.js";
import { EmbedBridge, checkPayload } from "./embed-bridge.js";
import { connectionDown, initial, newsOfTheKnock, step } from "./flow.js";

// First: the room's title and every word after are in it.
document.documentElement.lang = await chooseLanguage(new URLSearchParams(window.location.search).get("lang"));
document.getElementById("toasts").setAttribute("aria-label", t("Notifications"));
const root = document.getElementById("app");
// The page's own words replace the spinner room.html shows until now.
root.removeAttribute("aria-busy");
const banner = document.getElementById("connection-banner");
const params = keepKeyOutOfAddressBar(readParams());
const bridge = new EmbedBridge(params);
const media = new LocalMedia({ ...params, choices: new DeviceChoices() });
media.addEventListener("background-failed", (e) => backgroundFailed(e.detail));
// (The review says it in its own box.)
media.addEventListener("refused", (e) => { if (state.screen !== "precall") deviceRefused(e.detail); });
const signal = new Signal(params.roomName);
const screenKeeper = new ScreenKeeper();
const seat = new KeptSeat(params.roomName);
const keptChat = new KeptChat(params.roomName);
const pageTitle = `${params.roomTitle} · anteroom`;
document.title = pageTitle;

let state = initial({
  roomName: params.roomName,
  roomKey: params.roomKey,
  displayName: params.displayName,
  externalId: params.externalId,
  metadata: params.metadata,
  avatarUrl: params.avatarUrl,
  deviceId: deviceId(),
  precallReview: params.precallReview,
  resumeToken: seat.get(),
});
let shown = null; // {screen, update, destroy}
let call = null;
let mediaStarted = null;
/** What to open when the devices are (next) started: the URL's wish, then the person's own. */
let mediaWanted = { audio: params.audio, video: params.video };
// skipMediaPermissionPrompt: nothing is asked for until the person turns the devices on.
let devicesTurnedOn = !params.skipMediaPermissionPrompt;
if (!devicesTurnedOn) {
  media.cameraOn = params.video && media.cameraAccess;
  media.microphoneOn = params.audio;
}

const ctx = { params, media, dispatch, state: () => state };

function dispatch(event) {
  // Coming back after the page had closed its connection (removed, replaced, full): open it again;
  // once it is open, the flow asks to join.
  if (event.type === "rejoin" && signal.connection.stopped) signal.start();
  const before = state;
  const result = step(state, { now: Date.now(), ...event });
  state = result.state;
  callBack(newsOfTheKnock(before, event, result.effects));
  // The place in the room, and the chat, kept for a reload of this tab; out of the room, forgotten.
  seat.set(ENDS.includes(state.screen) ? null : state.resumeToken);
  if (ENDS.includes(state.screen)) keptChat.clear();
  for (const effect of result.effects) perform(effect);
  bridge.setUnstable("signalling", connectionDown(state));
  show(event);
}

function perform(effect) {
  if (effect.send) {
    const [type, payload] = effect.send;
    // Entering, the room is told what this person sends: their camera and microphone as they are.
    const extra = type === "join_room" ? { audio: media.state().audio, video: media.state().video } : {};
    signal.send(type, { ...payload, ...extra });
  }
  if (effect.announce) announce(effect.announce);
  if (effect.emit) bridge.emit(...effect.emit);
  if (effect.toast) toast(effect.toast);
  if (effect.log) console.info(effect.log);
  if (effect.reactionRefused) call?.reactions.refused();
  if (effect.recordingRefused) call?.recording.refused();
  if (effect.close) {
    signal.stop();
    stopMedia();
  }
}

/** Shows the state's screen: drawn when it changes, refreshed in place when it does not. */
function show(event) {
  connectionBanner(banner, state);
  root.dataset.screen = state.screen;
  screenKeeper.keep(["waiting", "call"].includes(state.screen));
  if (state.screen === "call") {
    if (event.type === "frame" && event.kind === "room_joined" && !event.payload.error) enterCall(event.payload);
    return;
  }
  if (call) {
    call.destroy();
    call = null;
  }
  if (state.screen === "precall") {
    if (shown?.screen !== "precall") startPrecall();
    return;
  }
  if (shown?.screen === state.screen) {
    shown.update(state);
    return;
  }
  shown?.destroy();
  shown = { screen: state.screen, ...drawScreen(root, state, ctx) };
  if (["door", "waiting"].includes(state.screen) || (state.screen === "loading" && state.preview)) startMedia();
  // Out of the room, or turned away at its door (a screen with no picture of oneself), the
  // camera's light goes off; it comes back on with a rejoin or a knock.
  if ([...ENDS, "rejected"].includes(state.screen)) stopMedia();
}

const ENDS = ["left", "ended", "removed", "replaced", "full", "unavailable"];

function enterCall(joined) {
  shown?.destroy();
  shown = { screen: "call", update: () => {}, destroy: () => {} };
  const iceServers = state.preview?.iceServers || [];
  // (A viewer's devices are open only where its preview did not say it views.)
  if (joined.role === "viewer") stopMedia();
  else startMedia();
  if (call) call.start(joined);
  else call = new Call({ root, params, signal, media, iceServers, joined, bridge, keptChat });
}

/**
 * Camera and microphone, asked for once (unless the integrator asked us to wait for the person);
 * never for a viewer, who sends nothing: their camera's light stays off, and no prompt asks them.
 */
function startMedia() {
  if (viewing()) {
    media.cameraOn = false;
    media.microphoneOn = false;
    return Promise.resolve();
  }
  if (!devicesTurnedOn) return Promise.resolve();
  mediaStarted ??= media.start(mediaWanted);
  return mediaStarted;
}

/** The review's "Turn on camera and microphone" (skipMediaPermissionPrompt): as the toggles say. */
function turnDevicesOn() {
  devicesTurnedOn = true;
  mediaWanted = { audio: media.microphoneOn, video: media.cameraOn };
  return startMedia();
}

/**
 * Closes the camera and microphone (their lights go off). Opened again, they come back as the
 * person left them: a camera turned off at the door stays off through a rejection and a knock.
 */
function stopMedia() {
  if (media.stream.getTracks().length > 0) {
    mediaWanted = { audio: media.microphoneOn, video: media.cameraOn };
    // (Opened by a toggle, before any ask of the page's own: skipMediaPermissionPrompt.)
    devicesTurnedOn = true;
  }
  media.stop();
  mediaStarted = null;
}

/** The room said (in its preview) that this page's key makes it a viewer. */
function viewing() {
  return state.preview?.role === "viewer";
}

async function startPrecall() {
  shown?.destroy();
  shown = { screen: "precall", update: () => {}, destroy: () => {} };
  await startMedia();
  const review = await (viewing() ? viewerReview : precallReview)(root, {
    params,
    media,
    iceServers: state.preview?.iceServers || [],
    knockPage: state.knockPage,
    turnDevicesOn,
    // A host records themself, and a viewer is not seen or heard; for anyone else a meeting made
    // for local recording says so.
    mayBeRecorded: state.preview?.recordingType === "local" && !["host", "viewer"].includes(state.preview?.role),
    onCheckCompleted: (result) => (result.skipped
      ? bridge.emit("precall_check_skipped")
      : bridge.emit("precall_check_completed", checkPayload(result.steps))),
  });
  dispatch({ type: "precall_done", displayName: review.displayName });
}

signal.on("open", () => dispatch({ type: "open" }));
signal.on("lost", () => dispatch({ type: "lost" }));
signal.on("failed", ({ tries }) => dispatch({ type: "failed", tries }));
for (const kind of [
  "room_preview", "room_joined", "knock_sent", "knock_position", "door_changed", "host_message", "sent_to_waiting_room",
  "knock_handled", "knock_expired", "knock_page_updated", "room_left", "client_kicked", "room_ended", "error",
]) {
  signal.on(kind, (payload) => dispatch({ type: "frame", kind, payload }));
}
/**
 * News at the door while the person looks at another tab (let in, a host's message, turned away):
 * a chime calls them back, and the tab's title says it until they look (Chromium also holds back
 * a hidden tab's new media until it is in front again).
 */
let newsTitle = null;
function callBack(news) {
  if (!news || !document.hidden) return;
  chime();
  newsTitle = `${news} · ${pageTitle}`;
  document.title = newsTitle;
}
document.addEventListener("visibilitychange", () => {
  if (document.hidden || !newsTitle) return;
  if (document.title === newsTitle) document.title = pageTitle;
  newsTitle = null;
});

// A closed tab (or one navigated away, or reloaded) leaves at once: the server would otherwise
// keep its place for the resume grace, as it does for a connection that dropped; a reload comes
// back by its token. Not when the page is only put aside in the back-forward cache (it may come
// back). While it waits to be let in, its knock keeps its place in line (marked reconnecting for
// hosts) for a reload to take back, but only for the resume grace, not the two minutes a phone that
// locked its screen has (`page_closing`); "Stop waiting" takes it back at once.
window.addEventListener("pagehide", (event) => {
  if (event.persisted) return;
  signal.send(state.screen === "waiting" ? "page_closing" : "leave_room", {});
});

// The browser knows before the socket does: try at once when it says the network is back.
window.addEventListener("online", () => signal.connection.retryNow());
window.addEventListener("offline", () => signal.connection.drop());

// Whether the browser let the page use the camera and microphone, for an embedding page.
media.addEventListener("permission", (event) => {
  if (event.detail.granted) bridge.emit("grant_device_permission", { granted: true });
  else bridge.emit("deny_device_permission", { denied: true });
});

// Commands from an embedding page.
bridge.on("knock", () => { if (state.screen === "door") dispatch({ type: "knock" }); });
bridge.on("cancel_knock", () => { if (state.screen === "waiting") dispatch({ type: "cancel" }); });
bridge.on("end_meeting", () => call?.endMeeting());
bridge.on("toggle_people", (open) => call?.setPanel("people", open));
bridge.on("toggle_chat", (open) => call?.setPanel("chat", open));
bridge.on("open_settings", () => call?.setPanel("settings", true));
bridge.on("leave_room", () => call?.leave());
bridge.on("toggle_camera", (enabled) => (call ? call.toggleCamera(enabled ?? !media.cameraOn) : media.setCamera(enabled ?? !media.cameraOn)));
bridge.on("toggle_microphone", (enabled) => (call ? call.toggleMicrophone(enabled ?? !media.microphoneOn) : media.setMicrophone(enabled ?? !media.microphoneOn)));
bridge.on("start_recording", () => call?.recording.toggle(true));
bridge.on("stop_recording", () => call?.recording.toggle(false));
bridge.on("toggle_screenshare", (enabled) => call?.toggleScreenshare(typeof enabled === "boolean" ? enabled : undefined));
bridge.on("admit", (clientId) => signal.send("handle_knock", { clientId, action: "accept" }));
bridge.on("reject", (clientId, message) => signal.send("handle_knock", { clientId, action: "reject", message }));
bridge.on("hold", (clientId, message) => signal.send("handle_knock", { clientId, action: "hold", message }));
bridge.on("admit_all", () => signal.send("handle_knock", { all: true, action: "accept" }));
bridge.on("ask_media", (clientIds, ask) => signal.send("ask_media", { clientIds: [clientIds].flat().filter((id) => typeof id === "string"), ask }));

show({ type: "start" });
if (typeof RTCPeerConnection === "undefined") dispatch({ type: "unsupported" });
else signal.start();
// A recording this browser could not save last time (its tab crashed or was closed) is offered.
offerLeftRecordings().catch((err) => console.warn("left recordings:", err));
