import { test } from "node:test";
import assert from "node:assert/strict";

import { DeviceChoices } from "../js/choices.js";

/** A Storage that keeps items in a Map (as localStorage does, strings only). */
function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, String(v)), items };
}

test("a device chosen is found again by the next call in this browser, kind by kind", () => {
  const storage = memoryStorage();
  new DeviceChoices(storage).set("videoinput", "cam-2");
  new DeviceChoices(storage).set("audiooutput", "headset");
  const next = new DeviceChoices(storage);
  assert.equal(next.get("videoinput"), "cam-2");
  assert.equal(next.get("audiooutput"), "headset");
  assert.equal(next.get("audioinput"), null, "none chosen: the browser's default");
  next.set("videoinput", "cam-3");
  assert.equal(new DeviceChoices(storage).get("videoinput"), "cam-3", "the latest choice");
  next.set("somethinginput", "x");
  assert.deepEqual(Object.keys(JSON.parse(storage.items.get("anteroom:devices"))).sort(), ["audiooutput", "videoinput"], "only the kinds we know are kept");
});

test("the camera's background effect is kept beside the devices", () => {
  const storage = memoryStorage();
  new DeviceChoices(storage).set("videoinput", "cam-2");
  new DeviceChoices(storage).set("background", "blur");
  const next = new DeviceChoices(storage);
  assert.equal(next.get("background"), "blur");
  assert.equal(next.get("videoinput"), "cam-2", "the camera stays");
});

test("where nothing may be kept, or what is kept is not ours, nothing is remembered and nothing throws", () => {
  const refusing = { getItem: () => { throw new Error("SecurityError"); }, setItem: () => { throw new Error("QuotaExceededError"); } };
  const choices = new DeviceChoices(refusing);
  choices.set("videoinput", "cam-2");
  assert.equal(choices.get("videoinput"), null);
  assert.equal(new DeviceChoices(null).get("audioinput"), null);
  const garbled = memoryStorage();
  garbled.setItem("anteroom:devices", "{not json");
  assert.equal(new DeviceChoices(garbled).get("videoinput"), null);
  garbled.setItem("anteroom:devices", JSON.stringify({ videoinput: 42 }));
  assert.equal(new DeviceChoices(garbled).get("videoinput"), null, "an id is a string");
});
