import { test } from "node:test";
import assert from "node:assert/strict";

import { KeptChat, KeptSeat } from "../js/seat.js";

/** A Storage that keeps items in a Map (as sessionStorage does, strings only). */
function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)), removeItem: (k) => items.delete(k), items };
}

const refusing = { getItem: () => { throw new Error("SecurityError"); }, setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => { throw new Error("SecurityError"); } };

test("the tab's place in a room is kept per room, and forgotten", () => {
  const storage = memoryStorage();
  new KeptSeat("/a", storage).set("T1");
  assert.equal(new KeptSeat("/a", storage).get(), "T1");
  assert.equal(new KeptSeat("/b", storage).get(), null, "another room's is its own");
  new KeptSeat("/a", storage).set(null);
  assert.equal(new KeptSeat("/a", storage).get(), null);
  assert.equal(new KeptSeat("/a", refusing).get(), null, "storage refused: nothing, and nothing throws");
  new KeptSeat("/a", refusing).set("T2");
});

test("the chat a tab showed is kept for a reload: in order, the latest 200, removals too", () => {
  const storage = memoryStorage();
  const kept = new KeptChat("/a", storage);
  for (let i = 0; i < 205; i++) kept.add({ id: `m${i}`, senderId: "c1", displayName: "Ann", text: `hello ${i}`, timestamp: i });
  let read = new KeptChat("/a", storage).read();
  assert.equal(read.length, 200);
  assert.deepEqual([read[0].id, read[199].id], ["m5", "m204"], "the latest, oldest first");
  kept.removed("m10");
  read = kept.read();
  assert.deepEqual(read.find((m) => m.id === "m10"), { id: "m10", senderId: "c1", displayName: "Ann", text: "", timestamp: 10, removed: true }, "its words go");
  assert.deepEqual(new KeptChat("/b", storage).read(), [], "another room's is its own");
  kept.clear();
  assert.deepEqual(kept.read(), []);
  storage.setItem("anteroom:chat:/a", "{not json");
  assert.deepEqual(kept.read(), [], "garbled: nothing");
  const nowhere = new KeptChat("/a", refusing);
  nowhere.add({ id: "m1", text: "x" });
  assert.deepEqual(nowhere.read(), []);
});
