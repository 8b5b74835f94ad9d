// The room page: pre-call review, then the door (knock, wait, verdict) or straight into the call.
// One flow, driven by the server's answers (docs/protocol.md).

import { replace, h, toast, announce } from "./dom.js";
import { readParams } from "./params.js";
import { SignalClient } from "./signal.js";
import { LocalMedia } from "./media.js";
import { precallReview } from "./precall.js";
import { knockPage, waitingScreen, rejectedScreen, messageScreen, applyKnockPage, leaveDoor } from "./door.js";
import { Call } from "./call.js";
import { EmbedBridge } from "./embed-bridge.js";

const root = document.getElementById("app");
const params = readParams();
const bridge = new EmbedBridge(params);
const media = new LocalMedia();
const signal = new SignalClient();

const session = {
  state: "precall", // precall | joining | door | waiting | rejected | call | done
  displayName: "",
  resumeToken: null,
  grant: null,
  page: {},
  waiting: null,
  call: null,
};
if (params.minimal) document.body.classList.add("minimal");

function join(roomKey) {
  session.state = "joining";
  signal.send("join_room", {
    roomName: params.roomName,
    roomKey: roomKey || undefined,
    displayName: session.displayName,
    externalId: params.externalId || undefined,
    metadata: params.metadata || undefined,
  });
}

function showDoor(notice) {
  session.state = "door";
  knockPage(root, { page: session.page, params, notice, onKnock: knock });
}

function knock() {
  signal.send("knock_room", {});
}

function showWaiting(hold) {
  session.state = "waiting";
  session.waiting = waitingScreen(root, { page: session.page, params, hold, onCancel: () => {
    signal.send("cancel_room_knock", {});
    bridge.emit("cancel_knock", {});
    showDoor();
  } });
}

function enterCall(joined) {
  leaveDoor();
  session.call?.destroy();
  session.state = "call";
  session.call = new Call(root, { params, signal, media, iceServers: session.iceServers, joined, bridge });
  announce("You are in the room");
  bridge.emit("join", { selfId: joined.selfId, role: joined.role });
}

function finish(title, text, reason) {
  session.call?.destroy();
  session.call = null;
  session.state = "done";
  media.stop();
  signal.close();
  messageScreen(root, title, text);
  bridge.emit("leave", { reason });
}

const ERROR_TEXT = {
  room_not_found: ["This room is not available", "The meeting does not exist, was deleted, or has ended."],
  invalid_room_key: ["This link does not work", "The room key in the link is not valid."],
  room_key_expired: ["This link has expired", "Ask for a new link."],
  room_key_mismatch: ["This link does not work", "The room key in the link is for another room, or for someone else."],
  invalid_display_name: ["Your name cannot be used", null],
};

signal.on("room_joined", (joined) => {
  if (joined.error === "room_locked") {
    session.resumeToken = joined.resumeToken;
    session.page = joined.knockPage || {};
    if (joined.knock) {
      showWaiting(joined.knock.state === "held" ? joined.knock : null);
    } else if (session.state === "joining" && session.wasWaiting) {
      showDoor("Your place in the queue was lost while you were offline; knock again.");
    } else {
      showDoor();
    }
    session.wasWaiting = false;
    return;
  }
  if (joined.error === "room_full") {
    finish("This room is full", "Try again when someone has left.", "room_full");
    return;
  }
  enterCall(joined);
});

signal.on("knock_sent", () => {
  showWaiting(null);
  bridge.emit("knock", {});
  announce("You knocked. Waiting for a host.");
});

signal.on("knock_handled", (verdict) => {
  if (verdict.clientId) return; // a host's copy; the call handles it
  if (verdict.resolution === "held") {
    if (session.state !== "waiting") showWaiting(verdict);
    else session.waiting.showHold(verdict);
  } else if (verdict.resolution === "accepted") {
    session.grant = verdict.roomKey;
    announce("A host let you in");
    join(session.grant);
  } else if (verdict.resolution === "rejected") {
    session.state = "rejected";
    rejectedScreen(root, { page: session.page, params, message: verdict.message, hostDisplayName: verdict.hostDisplayName,
      retryAfterSeconds: verdict.retryAfterSeconds || 0, onKnockAgain: knock });
  }
});

signal.on("knock_page_updated", (page) => {
  session.page = page;
  if (["door", "waiting", "rejected"].includes(session.state)) applyKnockPage(page, params);
});

signal.on("error", ({ code, message, requestType }) => {
  if (code === "replaced") {
    finish("You joined from somewhere else", "This window left the room because you joined again from another window or connection.", "replaced");
    return;
  }
  const known = ERROR_TEXT[code];
  if (known && requestType === "join_room" && session.state !== "call") {
    finish(known[0], known[1] || message, code);
  } else if (requestType === "knock_room" && session.state === "door") {
    // Cooldown, a full queue, too many knocks: say why, and let the person try again.
    showDoor(message);
  } else {
    toast(message);
  }
});

signal.on("room_ended", ({ reason }) => {
  const text = {
    ended_by_host: "A host ended the meeting for everyone.",
    meeting_deleted: "The meeting was cancelled.",
    meeting_expired: "The meeting's time is over.",
    server_shutdown: "The server is restarting. Reload the page in a moment.",
  }[reason];
  finish("The meeting has ended", text, reason);
});

signal.on("client_kicked", () => finish("You were removed from the room", "A host removed you.", "kicked"));

signal.on("room_left", () => {
  session.call?.destroy();
  session.call = null;
  session.state = "done";
  bridge.emit("leave", { reason: "left" });
  messageScreen(root, "You left the room", null, { label: "Rejoin", run: () => join(session.grant || params.roomKey) });
});

signal.on("disconnected", () => {
  if (session.state === "waiting") session.waiting?.setStatus("Connection lost. Reconnecting… you keep your place in the queue.");
});

signal.on("reconnected", () => {
  if (session.state === "waiting") {
    session.wasWaiting = true;
    session.state = "joining";
    signal.send("join_room", { roomName: params.roomName, displayName: session.displayName, resumeToken: session.resumeToken });
  } else if (session.state === "call") {
    session.call?.destroy();
    session.call = null;
    join(session.grant || params.roomKey);
  } else if (session.state === "door" || session.state === "rejected") {
    join(null);
  }
});

// Commands from an embedding page.
bridge.on("knock", () => { if (session.state === "door") knock(); });
bridge.on("leave_room", () => session.call?.leave());
bridge.on("toggle_camera", (enabled) => session.call ? session.call.toggleCamera(enabled ?? !media.cameraOn) : media.setCamera(enabled ?? !media.cameraOn));
bridge.on("toggle_microphone", (enabled) => session.call ? session.call.toggleMicrophone(enabled ?? !media.microphoneOn) : media.setMicrophone(enabled ?? !media.microphoneOn));
bridge.on("toggle_screenshare", () => session.call?.toggleScreenshare());
bridge.on("admit", (clientId) => signal.send("handle_knock", { clientId, action: "accept" }));
bridge.on("reject", (clientId, message) => signal.send("handle_knock", { clientId, action: "reject", message }));
bridge.on("hold", (clientId, message) => signal.send("handle_knock", { clientId, action: "hold", message }));
bridge.on("admit_all", () => signal.send("handle_knock", { all: true, action: "accept" }));

// For the browser tests: cut the connection as a network blip would (the client reconnects).
window.anteroomDebug = {
  dropConnection: () => signal.socket?.close(4000, "simulated network blip"),
  state: () => session.state,
};

async function start() {
  const config = await fetch("/client-config").then((r) => r.json()).catch(() => ({ iceServers: [] }));
  session.iceServers = config.iceServers || [];
  bridge.emit("ready", {});
  if (!params.skipMediaPermissionPrompt) await media.start({ audio: params.audio, video: params.video });
  else {
    media.cameraOn = params.video;
    media.microphoneOn = params.audio;
  }
  session.displayName = params.displayName;
  if (params.precallReview) {
    const review = await precallReview(root, { params, media, iceServers: session.iceServers,
      onCheckCompleted: (result) => bridge.emit("precall_check_completed", result) });
    session.displayName = review.displayName;
  }
  replace(root, h("p", { class: "loading", text: "Connecting…" }));
  try {
    await signal.connect();
  } catch {
    messageScreen(root, "Cannot reach the server", "Check your connection and reload the page.");
    return;
  }
  join(params.roomKey);
}

start();
