import { test } from "node:test";
import assert from "node:assert/strict";

import { readParams } from "../js/params.js";

const at = (search) => readParams({ pathname: "/clinic-3f0e", search });

test("Whereby's toolbar parameters: on unless turned off; minimal takes the header too", () => {
  const plain = at("");
  assert.deepEqual([plain.topToolbar, plain.bottomToolbar, plain.participantCount], [true, true, true]);
  const off = at("?topToolbar=off&bottomToolbar=false&participantCount=0");
  assert.deepEqual([off.topToolbar, off.bottomToolbar, off.participantCount], [false, false, false]);
  assert.equal(at("?minimal").topToolbar, false);
  assert.equal(at("?embed=on&topToolbar=on").topToolbar, false);
  assert.equal(at("?bottomToolbar").bottomToolbar, true, "a flag without a value is on");
  assert.equal(at("?topToolbar=maybe").topToolbar, true, "an unreadable value keeps the default");
});

test("cameraAccess is on unless turned off; lowData is off unless turned on", () => {
  const plain = at("");
  assert.deepEqual([plain.cameraAccess, plain.lowData], [true, false]);
  const set = at("?cameraAccess=off&lowData");
  assert.deepEqual([set.cameraAccess, set.lowData], [false, true]);
});
