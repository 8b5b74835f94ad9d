// The recording's file name: the room's title made safe for a file system, and when it started.
import { test } from "node:test";
import assert from "node:assert/strict";

import { recordingFileName } from "../js/recorder.js";

test("a recording is named after its room and when it started, in letters any file system takes", () => {
  const started = new Date(2026, 11, 6, 9, 5).getTime();
  assert.equal(recordingFileName("Clinic: Room 3", started), "anteroom-clinic-room-3-2026-12-06-0905.webm");
  assert.equal(recordingFileName("Café Ünïcode / ☕", started), "anteroom-cafe-unicode-2026-12-06-0905.webm");
  assert.equal(recordingFileName("", started), "anteroom-2026-12-06-0905.webm");
  assert.equal(recordingFileName("x".repeat(80), started).length, "anteroom-".length + 40 + "-2026-12-06-0905.webm".length);
});
