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
  assert.equal(at("?embed=on&topToolbar=on").topToolbar, true, "minimal, with the header asked for by name (as Whereby's)");
  assert.equal(at("?bottomToolbar").bottomToolbar, true, "a flag without a value is on");
  assert.equal(at("?topToolbar=maybe").topToolbar, true, "an unreadable value keeps the default");
});

test("cameraAccess is on unless turned off; lowData is off unless turned on", () => {
  const plain = at("");
  assert.deepEqual([plain.cameraAccess, plain.lowData], [true, false]);
  const set = at("?cameraAccess=off&lowData");
  assert.deepEqual([set.cameraAccess, set.lowData], [false, true]);
});

test("avatarUrl is kept only as the server takes it: https://, or http:// on this machine, no credentials", () => {
  assert.equal(at("?avatarUrl=https%3A%2F%2Fcdn.example.com%2Fa%20b.png").avatarUrl, "https://cdn.example.com/a%20b.png");
  assert.equal(at("?avatarUrl=http%3A%2F%2F127.0.0.1%3A8080%2Fme.png").avatarUrl, "http://127.0.0.1:8080/me.png");
  assert.equal(at("").avatarUrl, null);
  const warned = [];
  const warn = console.warn;
  console.warn = (text) => warned.push(text);
  try {
    for (const refused of ["http://tracker.example.com/p.png", "javascript:alert(1)", "p.png", "https://me:pw@cdn.example.com/p.png", `https://cdn.example.com/${"a".repeat(2048)}`]) {
      assert.equal(at(`?avatarUrl=${encodeURIComponent(refused)}`).avatarUrl, null, refused);
    }
  } finally {
    console.warn = warn;
  }
  assert.equal(warned.length, 5, "each one said in the console");
});

test("virtualBackgroundUrl is taken as avatarUrl is: https://, or http:// on this machine, no credentials", () => {
  assert.equal(at("?virtualBackgroundUrl=https%3A%2F%2Fcdn.example.com%2Fbeach.jpg").virtualBackgroundUrl, "https://cdn.example.com/beach.jpg");
  assert.equal(at("").virtualBackgroundUrl, null);
  const warned = [];
  const warn = console.warn;
  console.warn = (text) => warned.push(text);
  try {
    assert.equal(at("?virtualBackgroundUrl=http%3A%2F%2Fcdn.example.com%2Fbeach.jpg").virtualBackgroundUrl, null);
  } finally {
    console.warn = warn;
  }
  assert.match(warned[0], /^virtualBackgroundUrl ignored/, "the console names the parameter");
});

test("cameraEffect takes Whereby's preset names we have; image-custom is the virtualBackgroundUrl picture", () => {
  assert.equal(at("?cameraEffect=slight-blur").cameraEffect, "slight-blur");
  assert.equal(at("?cameraEffect=heavy-blur").cameraEffect, "heavy-blur");
  assert.equal(at("?cameraEffect=image-custom").cameraEffect, "picture");
  assert.equal(at("").cameraEffect, null);
  const warn = console.warn;
  const warned = [];
  console.warn = (text) => warned.push(text);
  try {
    assert.equal(at("?cameraEffect=image-cabin").cameraEffect, null, "Whereby's own pictures are not ours");
  } finally {
    console.warn = warn;
  }
  assert.match(warned[0], /^cameraEffect ignored/);
});

test("the microphone's processing (aec, agc, audioDenoiser) is on unless turned off", () => {
  const plain = at("");
  assert.deepEqual([plain.aec, plain.agc, plain.audioDenoiser], [true, true, true]);
  const off = at("?aec=off&agc=false&audioDenoiser=0");
  assert.deepEqual([off.aec, off.agc, off.audioDenoiser], [false, false, false]);
});

test("autoSpotlight is off unless turned on", () => {
  assert.equal(at("").autoSpotlight, false);
  assert.equal(at("?autoSpotlight").autoSpotlight, true);
});

test("timer is off unless turned on", () => {
  assert.equal(at("").timer, false);
  assert.equal(at("?timer").timer, true);
  assert.equal(at("?timer=on").timer, true);
});

test("minimal leaves the microphone, camera and People; a control asked for by name comes back", () => {
  const plain = at("");
  assert.deepEqual([plain.chat, plain.screenshare, plain.leaveButton, plain.locking, plain.people, plain.settingsButton], [true, true, true, true, true, true]);
  const minimal = at("?minimal");
  assert.deepEqual([minimal.chat, minimal.screenshare, minimal.leaveButton, minimal.locking, minimal.people, minimal.settingsButton], [false, false, false, false, true, false]);
  const chatty = at("?minimal&chat=on&leaveButton=on&settingsButton");
  assert.deepEqual([chatty.chat, chatty.leaveButton, chatty.screenshare, chatty.settingsButton], [true, true, false, true]);
  assert.equal(at("?settingsButton=off").settingsButton, false);
  assert.deepEqual([plain.reactions, minimal.reactions, at("?reactions=off").reactions, at("?minimal&reactions=on").reactions], [true, false, false, true]);
});

test("precallPermissionHelpLink: an http(s) page only, under either name", () => {
  assert.equal(at("?precallPermissionHelpLink=https%3A%2F%2Fhelp.example.com%2Fcamera").precallPermissionHelpLink, "https://help.example.com/camera");
  assert.equal(at("?precallPermissionsHelpLink=https%3A%2F%2Fhelp.example.com%2F").precallPermissionHelpLink, "https://help.example.com/");
  assert.equal(at("?precallPermissionHelpLink=javascript%3Aalert(1)").precallPermissionHelpLink, null);
  assert.equal(at("").precallPermissionHelpLink, null);
});
