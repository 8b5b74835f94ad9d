// The call's lists: every host's list of knockers is the server's queue, in its order.
import { test } from "node:test";
import assert from "node:assert/strict";

import { fromJoined, apply, initials, participantsOf, roomIsFull } from "../js/roster.js";

const host = { id: "h", displayName: "Dr Lee", role: "host" };

test("people come and go; knockers keep the server's order, a guest sent back stands first", () => {
  let r = fromJoined({ selfId: "h", role: "host", room: { mode: "normal", isLocked: true, clients: [host] }, knockers: [{ clientId: "a", displayName: "Ann", state: "waiting" }] });
  r = apply(r, "room_knocked", { clientId: "b", displayName: "Ben", state: "waiting", position: 2 });
  r = apply(r, "room_knocked", { clientId: "g", displayName: "Gus", state: "held", holdMessage: "wait", position: 1 });
  assert.deepEqual(r.knockers.map((k) => k.clientId), ["g", "a", "b"]);
  r = apply(r, "knock_handled", { clientId: "a", resolution: "held", message: "soon" });
  assert.equal(r.knockers[1].holdMessage, "soon");
  r = apply(r, "knock_handled", { clientId: "g", resolution: "accepted" });
  r = apply(r, "knocker_away", { clientId: "b" });
  assert.deepEqual(r.knockers.map((k) => k.away), [false, true], "Ben's connection dropped");
  r = apply(r, "knocker_back", { clientId: "b" });
  assert.equal(r.knockers[1].away, false);
  r = apply(r, "knocker_left", { clientId: "b", reason: "cancelled" });
  assert.deepEqual(r.knockers.map((k) => k.clientId), ["a"]);
  r = apply(r, "new_client", { client: { id: "g", displayName: "Gus", role: "granted_visitor" } });
  r = apply(r, "new_client", { client: { id: "g", displayName: "Gus", role: "granted_visitor" } });
  assert.equal(r.clients.length, 2, "a client is listed once");
  r = apply(r, "client_away", { clientId: "g" });
  assert.deepEqual(r.clients.map((c) => [c.id, c.away]), [["h", false], ["g", true]], "away, still listed");
  r = apply(r, "new_client", { client: { id: "g", displayName: "Gus", role: "granted_visitor" } });
  assert.equal(r.clients.find((c) => c.id === "g").away, false, "back as itself");
  r = apply(r, "client_left", { clientId: "g", reason: "left" });
  r = apply(r, "room_locked", { isLocked: false });
  assert.deepEqual([r.clients.length, r.locked], [1, false]);
  assert.equal(apply(r, "chat_message", {}), r, "other frames change nothing");
  // A verdict to the knocker itself (no clientId) is not a host's list change.
  assert.equal(apply(r, "knock_handled", { resolution: "accepted" }), r);
});

test("the spotlight: from the room as joined, then as spotlight_changed says (several, in order)", () => {
  let r = fromJoined({ selfId: "h", role: "host", room: { mode: "group", spotlight: "h", spotlights: ["h", "g"], clients: [host] } });
  assert.deepEqual(r.spotlights, ["h", "g"]);
  r = apply(r, "spotlight_changed", { clientId: "g", clientIds: ["g"], byClientId: "h" });
  assert.deepEqual(r.spotlights, ["g"]);
  r = apply(r, "spotlight_changed", { clientId: null, clientIds: [], byClientId: null });
  assert.deepEqual(r.spotlights, []);
  assert.deepEqual(fromJoined({ selfId: "h", role: "host", room: { clients: [host] } }).spotlights, [], "nobody when not said");
  // A server of before several could be says one, in `spotlight` and `clientId`.
  r = fromJoined({ selfId: "h", role: "host", room: { spotlight: "h", clients: [host] } });
  assert.deepEqual(r.spotlights, ["h"]);
  assert.deepEqual(apply(r, "spotlight_changed", { clientId: "g", byClientId: "h" }).spotlights, ["g"]);
});

test("the recording: from the room as joined, then as recording_changed says", () => {
  let r = fromJoined({ selfId: "h", role: "host", room: { clients: [host] } });
  assert.equal(r.recording, null, "nobody records when not said");
  r = apply(r, "recording_changed", { recording: { clientId: "h", startedAt: 5 }, byClientId: "h" });
  assert.deepEqual(r.recording, { clientId: "h", startedAt: 5 });
  r = apply(r, "recording_changed", { recording: null, byClientId: null });
  assert.equal(r.recording, null);
  r = fromJoined({ selfId: "g", role: "visitor", room: { recording: { clientId: "h", startedAt: 5 }, clients: [host] } });
  assert.deepEqual(r.recording, { clientId: "h", startedAt: 5 });
});

test("hands: up in order, down when lowered or when their person leaves", () => {
  let r = fromJoined({ selfId: "h", role: "host", room: { clients: [host, { id: "a" }, { id: "b" }], hands: [{ clientId: "b", raisedAt: 1 }] } });
  r = apply(r, "hand_changed", { clientId: "a", raised: true, raisedAt: 2 });
  assert.deepEqual(r.hands.map((x) => x.clientId), ["b", "a"]);
  r = apply(r, "hand_changed", { clientId: "b", raised: false, raisedAt: null });
  assert.deepEqual(r.hands.map((x) => x.clientId), ["a"]);
  r = apply(r, "client_left", { clientId: "a", reason: "left" });
  assert.deepEqual(r.hands, []);
});

test("initials for avatars", () => {
  assert.equal(initials("Ada Lovelace"), "AL");
  assert.equal(initials("  pat "), "P");
  assert.equal(initials("Émile van der Berg"), "ÉB");
  assert.equal(initials(""), "?");
  assert.equal(initials("👩‍⚕️ Ann Lee"), "AL", "an emoji before the name is left out");
  assert.equal(initials("🇫🇷 Pierre"), "P", "so is a flag");
  assert.equal(initials("🙂"), "🙂", "a name with no letter keeps its first sign whole");
  assert.equal(initials("👩‍⚕️"), "👩‍⚕️", "a joined emoji is one sign");
  assert.equal(initials("e\u0301mile zola"), "E\u0301Z", "an accent typed apart stays with its letter");
  assert.equal(initials("ß straße"), "ßS", "upper case only where it stays one letter");
  assert.equal(initials("سارة أحمد 2"), "سأ", "words, not numbers");
  assert.equal(initials("R2 D2"), "RD");
});

test("microphones and cameras follow media_state", async () => {
  let r = fromJoined({ selfId: "h", role: "host", room: { clients: [{ id: "h", displayName: "Dr Lee", role: "host", audio: true, video: false }] } });
  assert.deepEqual(r.clients[0].media, { audio: true, video: false, screen: false });
  r = apply(r, "media_state", { clientId: "h", audio: false, video: true, screen: true });
  assert.deepEqual(r.clients[0].media, { audio: false, video: true, screen: true });
  r = apply(r, "media_state", { clientId: "nobody", audio: true, video: true, screen: false });
  assert.equal(r.clients.length, 1);
});

test("the room is full when every participant's place, or every place, is taken; viewers count only against all", () => {
  const people = (roles) => roles.map((role, i) => ({ id: String(i), role }));
  const capacity = { participants: 2, total: 4 };
  assert.deepEqual(participantsOf(people(["host", "viewer", "visitor"])).map((c) => c.id), ["0", "2"]);
  assert.equal(roomIsFull(people(["host"]), capacity), false);
  assert.equal(roomIsFull(people(["host", "viewer", "viewer"]), capacity), false, "viewers do not take a participant's place");
  assert.equal(roomIsFull(people(["host", "granted_visitor"]), capacity), true);
  assert.equal(roomIsFull(people(["host", "viewer", "viewer", "viewer"]), capacity), true, "every place taken");
  assert.equal(roomIsFull(people(["host", "visitor", "visitor"]), null), false, "a room of unknown capacity is never called full");
});
