// The page's flow, driven directly: what it sends, what it shows, across drops and restarts.
import { test } from "node:test";
import assert from "node:assert/strict";

import { connectionDown, initial, newsOfTheKnock, step, placeText, roomElsewhere } from "../js/flow.js";

/** Feeds events; returns the final state and every effect in order. */
function run(state, events) {
  const effects = [];
  for (const event of events) {
    const next = step(state, event);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const sent = (effects) => effects.filter((e) => e.send).map((e) => e.send);
const frame = (kind, payload = {}, now = 0) => ({ type: "frame", kind, payload, now });

test("a host: the room is checked before the devices, then entered with the key", () => {
  const start = initial({ roomName: "/r", roomKey: "HOSTKEY", displayName: "Dr Lee" });
  let { state, effects } = run(start, [{ type: "open" }]);
  assert.deepEqual(sent(effects), [["preview_room", { roomName: "/r", roomKey: "HOSTKEY" }]]);
  ({ state, effects } = run(state, [frame("room_preview", { roomName: "/r", role: "host", iceServers: [] })]));
  assert.equal(state.screen, "precall");
  ({ state, effects } = run(state, [{ type: "precall_done", displayName: "Dr Lee" }]));
  assert.equal(sent(effects)[0][1].roomKey, "HOSTKEY");
  ({ state } = run(state, [frame("room_joined", { selfId: "h", role: "host", room: {} })]));
  assert.equal(state.screen, "call");
});

test("the person's picture goes with every join, the one a grant lets in too", () => {
  const start = initial({ roomName: "/r", displayName: "Pat", avatarUrl: "https://cdn.example.com/pat.png" });
  let { state, effects } = run(start, [{ type: "open" }, frame("room_preview", { roomName: "/r", role: "visitor", iceServers: [] }), { type: "precall_done", displayName: "Pat" }]);
  assert.equal(sent(effects).find(([type]) => type === "join_room")[1].avatarUrl, "https://cdn.example.com/pat.png");
  ({ state, effects } = run(state, [frame("room_joined", { error: "room_locked", selfId: "p", role: "visitor" }), { type: "knock" }]));
  ({ effects } = run(state, [frame("knock_handled", { resolution: "accepted", roomKey: "GRANT" })]));
  const rejoin = sent(effects).find(([type]) => type === "join_room");
  assert.deepEqual([rejoin[1].roomKey, rejoin[1].avatarUrl], ["GRANT", "https://cdn.example.com/pat.png"]);
});

test("a reloaded tab joins with the place it had (its resume token), with the review or without", () => {
  const reviewed = run(initial({ roomName: "/r", resumeToken: "T1" }), [{ type: "open" }, frame("room_preview", { roomName: "/r", role: "visitor", iceServers: [] }), { type: "precall_done", displayName: "Pat" }]);
  // Its preview names the place too, which keeps a knock waiting while the person reviews.
  assert.equal(sent(reviewed.effects).find(([type]) => type === "preview_room")[1].resumeToken, "T1");
  assert.equal(sent(reviewed.effects).find(([type]) => type === "join_room")[1].resumeToken, "T1");
  const straight = run(initial({ roomName: "/r", resumeToken: "T1", precallReview: false }), [{ type: "open" }, frame("room_preview", { roomName: "/r", role: "visitor", iceServers: [] })]);
  assert.equal(sent(straight.effects).find(([type]) => type === "join_room")?.[1].resumeToken, "T1");
  const fresh = run(initial({ roomName: "/r" }), [{ type: "open" }, frame("room_preview", { roomName: "/r", role: "visitor", iceServers: [] }), { type: "precall_done", displayName: "Pat" }]);
  assert.equal(sent(fresh.effects).find(([type]) => type === "join_room")[1].resumeToken, undefined, "none kept: none sent");
});

test("a browser without WebRTC is told so at once, and nothing is sent", () => {
  const { state, effects } = run(initial({ roomName: "/r", roomKey: "HOSTKEY" }), [{ type: "unsupported" }]);
  assert.equal(state.screen, "unavailable");
  assert.equal(state.ending.reason, "browser_unsupported");
  assert.match(state.ending.title, /cannot join calls/);
  assert.deepEqual(sent(effects), []);
  assert.deepEqual(effects.find((e) => e.emit)?.emit, ["leave", { reason: "browser_unsupported", removed: false }], "the embedding page hears why");
});

test("an unknown room is said before any device check", () => {
  const { state, effects } = run(initial({ roomName: "/gone" }), [
    { type: "open" },
    frame("error", { code: "room_not_found", requestType: "preview_room", message: "no meeting" }),
  ]);
  assert.equal(state.screen, "unavailable");
  assert.match(state.ending.title, /not available/);
  assert.ok(effects.some((e) => e.close), "the connection is closed for good");
  assert.ok(!sent(effects).some(([type]) => type === "join_room"));
});

test("a guest knocks, learns its place, is held, then let in with its grant", () => {
  let { state, effects } = run(initial({ roomName: "/r", deviceId: "dev-12345678" }), [
    { type: "open" },
    frame("room_preview", {}),
    { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT", knockPage: {} }),
  ]);
  assert.equal(state.screen, "door");
  assert.equal(sent(effects).at(-1)[1].deviceId, "dev-12345678");
  ({ state, effects } = run(state, [{ type: "knock" }, frame("knock_sent", { clientId: "c" }), frame("knock_position", { position: 2 })]));
  assert.equal(state.screen, "waiting");
  assert.equal(state.wait.position, 2);
  assert.ok(effects.some((e) => e.announce === "You are 2nd in line"));
  ({ state } = run(state, [frame("knock_handled", { resolution: "held", message: "Two minutes", hostDisplayName: "Dr Lee" })]));
  assert.deepEqual(state.wait.hold, { message: "Two minutes", host: "Dr Lee" });
  ({ state, effects } = run(state, [frame("knock_handled", { resolution: "accepted", roomKey: "GRANT" })]));
  assert.deepEqual(sent(effects).at(-1), ["join_room", { roomName: "/r", roomKey: "GRANT", displayName: "Pat", deviceId: "dev-12345678" }]);
});

test("after a drop each screen says again who it is: the call with its grant, a knock with its token", () => {
  let { state, effects } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT" }),
    { type: "knock" }, frame("knock_sent", {}), { type: "lost" }, { type: "open" },
  ]);
  assert.equal(state.connection, "lost", "an open socket is not yet the room back");
  assert.equal(sent(effects).at(-1)[1].resumeToken, "RT");
  // The server still has the knock: waiting again, nothing more to send.
  ({ state, effects } = run(state, [frame("room_joined", { error: "room_locked", resumeToken: "RT", knock: { state: "waiting" } })]));
  assert.equal(state.screen, "waiting");
  assert.equal(state.connection, "open");
  assert.ok(effects.some((e) => e.announce === "Connected again"));
  assert.deepEqual(sent(effects), []);
  // The knock was lost meanwhile: it knocks again by itself, and says so.
  ({ state, effects } = run(state, [{ type: "lost" }, { type: "open" }, frame("room_joined", { error: "room_locked", resumeToken: "RT2" })]));
  assert.deepEqual(sent(effects).at(-1)[0], "knock_room");
  assert.match(state.door.notice, /knocked again/);
  // ...and the waiting screen, which the new knock leads to, goes on saying so.
  ({ state, effects } = run(state, [frame("knock_sent", {})]));
  assert.equal(state.screen, "waiting");
  assert.match(state.wait.notice, /place in line was lost/);
  assert.ok(effects.some((e) => /place in line was lost/.test(e.announce || "")), "and screen readers hear it");
  // In the call, back with the grant.
  ({ state, effects } = run(state, [frame("knock_handled", { resolution: "accepted", roomKey: "G" }), frame("room_joined", { selfId: "c", role: "granted_visitor", room: {} }), { type: "lost" }, { type: "open" }]));
  assert.equal(state.screen, "call");
  assert.equal(sent(effects).at(-1)[1].roomKey, "G");
});

test("the door says whether a host is in and whether the call is recorded, and the page says each change", () => {
  let { state } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT", hostPresent: false, isRecording: false }),
  ]);
  assert.deepEqual(state.inside, { hostPresent: false, recording: false, locked: true });
  let effects;
  ({ state } = run(state, [{ type: "knock" }, frame("knock_sent", { clientId: "c" })]));
  ({ state, effects } = run(state, [frame("door_changed", { hostPresent: true, isRecording: false })]));
  assert.equal(state.inside.hostPresent, true);
  assert.deepEqual(effects.map((e) => e.announce), ["A host is here now and can see your knock."]);
  ({ state, effects } = run(state, [frame("door_changed", { hostPresent: true, isRecording: true })]));
  assert.deepEqual(effects.map((e) => e.announce), ["This call is being recorded."]);
  ({ state, effects } = run(state, [frame("door_changed", { hostPresent: false, isRecording: false })]));
  assert.deepEqual(effects.map((e) => e.announce), ["This call is no longer being recorded.", "No host is in the room now. Your knock keeps its place."]);
  // A server that does not say is taken to have a host in, not recording.
  ({ state } = run(state, [{ type: "lost" }, { type: "open" }, frame("room_joined", { error: "room_locked", resumeToken: "RT", knock: { state: "waiting" } })]));
  assert.deepEqual(state.inside, { hostPresent: true, recording: false, locked: true });
});

test("a host unlocks the room: whoever stands at the door comes in as anyone now would; a knock stays in line", () => {
  const atDoor = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT", isLocked: true, hostPresent: true }),
  ]).state;
  assert.equal(atDoor.screen, "door");
  // Something else changing at the door lets nobody in.
  assert.deepEqual(sent(run(atDoor, [frame("door_changed", { hostPresent: true, isRecording: true, isLocked: true })]).effects), []);
  const { state, effects } = run(atDoor, [frame("door_changed", { hostPresent: true, isRecording: false, isLocked: false })]);
  assert.deepEqual(sent(effects).map(([type, payload]) => [type, payload.displayName, payload.resumeToken]), [["join_room", "Pat", "RT"]]);
  assert.equal(run(state, [frame("room_joined", { selfId: "c", role: "visitor", room: {} })]).state.screen, "call");
  // Knocking, the page stays in line.
  const knocking = run(atDoor, [{ type: "knock" }, frame("knock_sent", { clientId: "c" })]).state;
  const inLine = run(knocking, [frame("door_changed", { hostPresent: true, isRecording: false, isLocked: false })]);
  assert.deepEqual(sent(inLine.effects), []);
  // Stopping waiting leaves the person at the door; Knock there now comes in.
  const stopped = run(inLine.state, [{ type: "cancel" }]).state;
  assert.equal(stopped.screen, "door");
  assert.deepEqual(sent(run(stopped, [{ type: "knock" }]).effects).map(([type]) => type), ["join_room"]);
});

test("a server restart: the page says so and rejoins with the key the room gave for it", () => {
  let { state, effects } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { selfId: "c", role: "visitor", room: {} }),
    frame("room_ended", { reason: "server_shutdown", rejoinKey: "REJOIN" }),
  ]);
  assert.equal(state.screen, "call", "the call is not over");
  assert.equal(state.connection, "restarting");
  ({ state, effects } = run(state, [{ type: "lost" }, { type: "open" }]));
  assert.equal(state.connection, "restarting", "still restarting until the room answers");
  assert.equal(sent(effects).at(-1)[1].roomKey, "REJOIN");
  ({ state, effects } = run(state, [frame("room_joined", { selfId: "c", role: "visitor", room: {} })]));
  assert.equal(state.connection, "open");
  assert.ok(effects.some((e) => e.announce === "Connected again"));
});

test("a node that cannot reach the room yet sends the page away: it is not back until the room answers", () => {
  let { state, effects } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT" }), { type: "knock" }, frame("knock_sent", {}),
    { type: "lost" },
    // A socket that opens and drops before any answer.
    { type: "open" }, { type: "lost" },
    // The socket opens on a node whose lease on the room has not run out: it says come back later.
    { type: "open" }, frame("error", { code: "server_shutting_down", requestType: "join_room", message: "the room moves" }), { type: "lost" },
    { type: "open" }, frame("error", { code: "server_shutting_down", requestType: "join_room", message: "the room moves" }), { type: "lost" },
  ]);
  assert.notEqual(state.connection, "open");
  assert.equal(state.screen, "waiting", "the place in line is kept on screen");
  const said = effects.filter((e) => e.announce).map((e) => e.announce);
  assert.ok(!said.includes("Connected again"), `never said back while it was not: ${said}`);
  assert.equal(said.filter((t) => t.startsWith("Connection lost")).length, 1, "one notice per outage");
  assert.equal(state.connection, "retrying", "it is not a restart: the room cannot be opened just now");
  assert.deepEqual(said.filter((t) => t.startsWith("The room cannot be reached")), ["The room cannot be reached right now. Reconnecting…"], "said once, not at each try");
  ({ state, effects } = run(state, [{ type: "open" }, frame("room_joined", { error: "room_locked", resumeToken: "RT", knock: { state: "waiting" } })]));
  assert.equal(state.connection, "open");
  assert.equal(state.screen, "waiting");
  assert.ok(effects.some((e) => e.announce === "Connected again"));
});

test("after a drop on a screen that asks nothing (the device check), the open socket is enough", () => {
  const { state, effects } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "lost" }, { type: "open" },
  ]);
  assert.equal(state.screen, "precall");
  assert.equal(state.connection, "open");
  assert.ok(effects.some((e) => e.announce === "Connected again"));
});

test("the room moves to another server: the page comes back with its resume token, no key needed", () => {
  let { state, effects } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { selfId: "c", role: "granted_visitor", resumeToken: "MEMBER-RT", room: {} }),
    frame("error", { code: "server_shutting_down", message: "the room moves" }),
  ]);
  assert.equal(state.screen, "call", "the call is not over");
  assert.equal(state.connection, "restarting");
  ({ state, effects } = run(state, [{ type: "lost" }, { type: "open" }]));
  const rejoin = sent(effects).at(-1);
  assert.equal(rejoin[0], "join_room");
  assert.equal(rejoin[1].resumeToken, "MEMBER-RT");
});

test("news of one's knock (a verdict, a host's message, being sent back) is what a page in another tab calls its person back with", () => {
  const { state: waiting } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Pat" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT" }), { type: "knock" }, frame("knock_sent", {}),
  ]);
  const news = (before, event) => newsOfTheKnock(before, event, step(before, event).effects);
  assert.equal(news(waiting, frame("knock_handled", { resolution: "held", hostDisplayName: "Dr Lee", message: "Two minutes" })), "Dr Lee: Two minutes");
  assert.equal(news(waiting, frame("host_message", { hostDisplayName: "Dr Lee", message: "Almost there" })), "Dr Lee: Almost there");
  assert.equal(news(waiting, frame("knock_handled", { resolution: "accepted", roomKey: "K" })), "A host let you in");
  assert.equal(news(waiting, frame("knock_handled", { resolution: "rejected" })), "The host did not let you in");
  assert.equal(news(waiting, frame("knock_position", { position: 2 })), null, "a place in line moving is no call back");
  const { state: inCall } = run(waiting, [frame("knock_handled", { resolution: "accepted", roomKey: "K" }), frame("room_joined", { selfId: "c", role: "granted_visitor", room: {} })]);
  assert.equal(news(inCall, frame("knock_handled", { clientId: "k2", resolution: "accepted" })), null, "a host's copy of another's verdict is not news");
  assert.match(news(inCall, frame("sent_to_waiting_room", { hostDisplayName: "Dr Lee" })), /Dr Lee asked you to wait outside/);
});

test("a rejection counts down; a cooldown refusal says how long", () => {
  let { state } = run(initial({ roomName: "/r" }), [
    { type: "open" }, frame("room_preview", {}), { type: "precall_done", displayName: "Eve" },
    frame("room_joined", { error: "room_locked", resumeToken: "RT" }), { type: "knock" }, frame("knock_sent", {}),
    frame("knock_handled", { resolution: "rejected", message: "Wrong day", retryAfterSeconds: 60 }, 1000),
  ]);
  assert.equal(state.screen, "rejected");
  assert.equal(state.rejection.retryAt, 61000);
  ({ state } = run(state, [frame("error", { code: "knock_cooldown", requestType: "knock_room", message: "a host turned this knock away", retryAfterSeconds: 42 }, 5000)]));
  assert.equal(state.door.cooldownUntil, 47000);
  assert.equal(state.door.notice, "A host turned your knock away a moment ago.", "the page's own words for a code it knows");
  ({ state } = run(state, [frame("error", { code: "knock_refused_somehow", requestType: "knock_room", message: "a newer server's reason" }, 6000)]));
  assert.equal(state.door.notice, "a newer server's reason", "the server's, for one it does not");
  ({ state } = run(state, [frame("room_joined", { error: "room_locked", resumeToken: "RT", knockCooldownSeconds: 30 }, 10000)]));
  assert.equal(state.door.cooldownUntil, 40000);
});

test("a refused name is explained by the rule it broke, in the page's words, never the server's English", () => {
  const knockWith = (displayName) => run(initial({ roomName: "/r", displayName, precallReview: false }), [
    { type: "open" }, frame("room_joined", { error: "room_locked", resumeToken: "RT" }), { type: "knock" },
    frame("error", { code: "invalid_display_name", requestType: "knock_room", message: "displayName may not contain the invisible character U+202E" }),
  ]).state;
  assert.equal(knockWith("Eve\u202Eevil").door.notice, "Names may not contain invisible characters that change how text reads.");
  assert.equal(knockWith("Eve <3").door.notice, "Names may not contain “<” (nor any of $!<>:;).");
  const joined = run(initial({ roomName: "/r", displayName: "Eve", precallReview: false }), [
    { type: "open" }, frame("error", { code: "invalid_display_name", requestType: "join_room", message: "a rule the page does not know" }),
  ]).state;
  assert.equal(joined.screen, "unavailable");
  assert.deepEqual([joined.ending.title, joined.ending.text], ["Your name cannot be used", "This name cannot be used. Try another."]);
});

test("sent back to the waiting room: first in line, the old grant forgotten", () => {
  const { state } = run({ ...initial({ roomName: "/r" }), screen: "call", grant: "G", self: { id: "c", role: "granted_visitor" } }, [
    frame("sent_to_waiting_room", { message: "One moment", hostDisplayName: "Dr Lee" }),
  ]);
  assert.equal(state.screen, "waiting");
  assert.equal(state.grant, null);
  assert.deepEqual(state.wait.hold, { message: "One moment", host: "Dr Lee" });
  assert.equal(state.wait.position, 1);
});

test("the ends: replaced, removed, ended, full", () => {
  const inCall = { ...initial({ roomName: "/r" }), screen: "call" };
  for (const [event, screen] of [
    [frame("error", { code: "replaced" }), "replaced"],
    [frame("client_kicked", {}), "removed"],
    [frame("room_ended", { reason: "ended_by_host" }), "ended"],
    [frame("room_joined", { error: "room_full" }), "full"],
  ]) {
    const { state, effects } = run(inCall, [event]);
    assert.equal(state.screen, screen);
    assert.ok(effects.some((e) => e.close), `${screen} closes the connection`);
  }
});

test("a refused request is shown to the person; the page's own media signalling only logged, a refused reaction said by the picker", () => {
  const inCall = { ...initial({ roomName: "/r" }), screen: "call" };
  const locked = run(inCall, [frame("error", { code: "forbidden", message: "only hosts may lock", requestType: "set_lock" })]);
  assert.deepEqual(locked.effects, [{ toast: "You cannot do that in this room." }], "the page's own words for a code it knows");
  const full = run(inCall, [frame("error", { code: "spotlight_full", message: "at most 4 people are in the spotlight at once", requestType: "add_spotlight" })]);
  assert.deepEqual(full.effects, [{ toast: "Four people are in the spotlight already. Take one out first." }]);
  // A recording refused: said, and the Record button no longer waits for the room.
  const recording = run(inCall, [frame("error", { code: "recording_unavailable", message: "c1 is recording already", requestType: "start_recording" })]);
  assert.deepEqual(recording.effects, [{ toast: "This meeting cannot be recorded, or another host is recording it." }, { recordingRefused: true }]);
  // "Let everyone in" in a room that fills up on the way, in the page's words (not the server's).
  const crowded = run(inCall, [frame("error", { code: "room_full", message: "the room is full; D4 stays waiting", requestType: "handle_knock" })]);
  assert.deepEqual(crowded.effects, [{ toast: "The room is full. Whoever is still waiting stays in line until someone leaves." }]);
  const gone = run(inCall, [frame("error", { code: "knock_not_found", message: "no knock from c7", requestType: "handle_knock" })]);
  assert.deepEqual(gone.effects, [{ toast: "That person is no longer waiting." }]);
  const newer = run(inCall, [frame("error", { code: "a_newer_servers_code", message: "a newer server's reason", requestType: "set_lock" })]);
  assert.deepEqual(newer.effects, [{ toast: "a newer server's reason" }], "the server's, for one it does not");
  const away = ["client_away", "c2 is reconnecting: signal again when they are back"];
  for (const [requestType, code, message] of [["sdp_offer", ...away], ["ice_candidate", ...away],
    ["send_reaction", "rate_limited", "too many reactions in this room just now; this one was not sent"],
    ["send_reaction", "client_not_found", "not in the room"], ["sfu_offer", "no_media_path", "not admitted to the media server"]]) {
    const { state, effects } = run(inCall, [frame("error", { code, message, requestType })]);
    assert.equal(state.screen, "call");
    assert.ok(!effects.some((e) => e.toast), `${requestType}: no toast`);
    assert.ok(effects.some((e) => e.log?.includes(message)), `${requestType}: logged`);
    assert.equal(effects.some((e) => e.reactionRefused), code === "rate_limited", `${requestType} ${code}: the picker says so only for too many`);
  }
});

test("places read as people say them", () => {
  assert.equal(placeText(1), "You are next in line");
  assert.equal(placeText(2), "You are 2nd in line");
  assert.equal(placeText(13), "You are 13th in line");
  assert.equal(placeText(22), "You are 22nd in line");
});

test("a new knock page reaches the state of whoever is outside", () => {
  let { state } = step(initial({ roomName: "/r" }), { type: "frame", kind: "knock_page_updated", payload: { logoUrl: "/themes/r/logo?v=2" } });
  assert.equal(state.knockPage.logoUrl, "/themes/r/logo?v=2");
  ({ state } = step(state, { type: "frame", kind: "knock_page_updated", payload: {} }));
  assert.deepEqual(state.knockPage, {}, "a page with nothing set replaces the old one");
});

test("an embedding page hears Whereby's leave (removed when a host took this person out) and meeting_end", () => {
  const emitted = (effects) => effects.filter((e) => e.emit).map((e) => e.emit);
  const inCall = run(initial({ roomName: "/r", precallReview: false }), [
    { type: "open" },
    frame("room_preview", { roomName: "/r", role: "visitor", iceServers: [] }),
    frame("room_joined", { selfId: "c", role: "visitor", room: {} }),
  ]).state;
  assert.equal(inCall.screen, "call");
  const cases = [
    [frame("room_left"), [["leave", { reason: "left", removed: false }]]],
    [frame("client_kicked"), [["leave", { reason: "kicked", removed: true }]]],
    [frame("sent_to_waiting_room", { hostDisplayName: "Dr Lee" }), [["leave", { reason: "sent_to_waiting_room", removed: true }]]],
    [frame("room_ended", { reason: "ended_by_host" }), [["meeting_end", {}], ["leave", { reason: "ended_by_host", removed: false }]]],
    [frame("room_ended", { reason: "meeting_expired" }), [["meeting_end", {}], ["leave", { reason: "meeting_expired", removed: false }]]],
    // A server restart is not the meeting's end: the page comes back.
    [frame("room_ended", { reason: "server_shutdown", rejoinKey: "K" }), []],
  ];
  for (const [event, expected] of cases) {
    assert.deepEqual(emitted(run(inCall, [event]).effects), expected, event.kind);
  }
});

test("a page opened at an address the server does not take rooms at says so, stops trying, and offers the room at the server's own", () => {
  const { state, effects } = run(initial({ roomName: "/r", roomKey: "K" }), [
    frame("error", { code: "origin_not_allowed", message: "pages of this origin may not…", publicUrl: "https://meet.example.com" }),
  ]);
  assert.equal(state.screen, "unavailable");
  assert.deepEqual([state.ending.title, state.ending.address], ["This room is at another address", "https://meet.example.com"]);
  assert.ok(effects.some((e) => e.close), "no retry");
  const page = { pathname: "/r", search: "?lang=fr", hash: "" };
  assert.equal(roomElsewhere("https://meet.example.com", "/r", page, "K"), "https://meet.example.com/r?lang=fr&roomKey=K", "with the key the page took out of its address");
  assert.equal(roomElsewhere("https://meet.example.com/", "/r", { ...page, search: "?roomKey=K" }, "K"), "https://meet.example.com/r?roomKey=K");
  assert.equal(roomElsewhere("https://meet.example.com", "/r", page), "https://meet.example.com/r?lang=fr", "a guest's link has no key");
  assert.equal(roomElsewhere("https://example.com/meet", "/r", { ...page, pathname: "/meet/r" }), "https://example.com/meet/r?lang=fr", "under a proxy's path");
  assert.equal(roomElsewhere("javascript:alert(1)", "/r", page), null, "only a web address");
  assert.equal(roomElsewhere(null, "/r", page), null);
});

test("a server that cannot be reached at first is said so after a few tries, then the page goes on as usual", () => {
  let { state } = run(initial({ roomName: "/r" }), [1, 2, 3].map((tries) => ({ type: "failed", tries })));
  assert.equal(state.connection, "connecting", "a try or three fail quietly");
  ({ state } = run(state, [{ type: "failed", tries: 4 }]));
  assert.equal(state.connection, "unreachable");
  assert.ok(connectionDown(state), "an embedding page hears the connection is unstable");
  const { state: next, effects } = run(state, [{ type: "open" }]);
  assert.equal(next.connection, "open");
  assert.deepEqual(sent(effects), [["preview_room", { roomName: "/r" }]]);
  assert.ok(!effects.some((e) => e.announce), "nothing to say of a first connection");
  const inCall = { ...next, screen: "call" };
  assert.equal(run(inCall, [{ type: "failed", tries: 9 }]).state.connection, "open", "only the first connection is said unreachable (after it, the lost banner)");
});
