// What the room tells an embedding page, in the shapes Whereby's element declares.
import { test } from "node:test";
import assert from "node:assert/strict";

import { EmbedBridge, checkPayload } from "../js/embed-bridge.js";

test("the pre-call check's result is reported in Whereby's shape", () => {
  const steps = [
    { name: "camera", label: "Camera", passed: true, detail: "640×360" },
    { name: "microphone", label: "Microphone", passed: true, detail: "" },
    { name: "speaker", label: "Speaker", passed: true },
    { name: "network", label: "Network", passed: false, detail: "no STUN/TURN server answered" },
  ];
  assert.deepEqual(checkPayload(steps), {
    status: "failed",
    steps: {
      camera: { status: "passed", label: "Camera", detail: "640×360" },
      microphone: { status: "passed", label: "Microphone", detail: "" },
      speaker: { status: "passed", label: "Speaker", detail: "" },
      bandwidth: { status: "failed", label: "Network", detail: "no STUN/TURN server answered" },
    },
  });
  assert.equal(checkPayload(steps.slice(0, 3)).status, "passed");
});

test("connection_status_change is sent when the first trouble starts and the last one ends", () => {
  const sent = [];
  // A bridge as an embedded page has it, posting to a stand-in for the parent window.
  const bridge = Object.assign(Object.create(EmbedBridge.prototype), {
    unstable: new Set(),
    emit: (type, payload) => sent.push([type, payload.status]),
  });
  bridge.setUnstable("media", false);
  bridge.setUnstable("signalling", true);
  bridge.setUnstable("media", true);
  bridge.setUnstable("signalling", false);
  bridge.setUnstable("signalling", false);
  bridge.setUnstable("media", false);
  assert.deepEqual(sent, [
    ["connection_status_change", "unstable"],
    ["connection_status_change", "stable"],
  ]);
});

test("participantupdate is sent when the count of people in the room changes, and afresh after a leave", () => {
  const sent = [];
  const bridge = Object.assign(Object.create(EmbedBridge.prototype), { participantCount: null, embedded: false });
  bridge.emit = function emit(type, payload = {}) {
    EmbedBridge.prototype.emit.call(this, type, payload);
    sent.push([type, payload.count]);
  };
  for (const count of [1, 1, 2, 3, 3, 2]) bridge.setParticipantCount(count);
  bridge.emit("leave", { reason: "left", removed: false });
  bridge.setParticipantCount(2);
  assert.deepEqual(sent, [
    ["participantupdate", 1],
    ["participantupdate", 2],
    ["participantupdate", 3],
    ["participantupdate", 2],
    ["leave", undefined],
    ["participantupdate", 2],
  ]);
});
