import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { TEXT, contrast, derivedColors } from "../js/theme.js";

const channels = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const WHITE = channels("#ffffff");

test("contrast is WCAG's: black on white is 21, a colour on itself 1", () => {
  assert.equal(contrast([0, 0, 0], WHITE), 21);
  assert.equal(contrast([47, 91, 234], [47, 91, 234]), 1);
  assert.equal(contrast(WHITE, [0, 0, 0]), 21);
});

test("a light primary gets dark text, a dark one white; a dark secondary gets white text", () => {
  assert.equal(derivedColors({ primary: "#ffe14d" })["on-primary"], "#1d2230");
  assert.equal(derivedColors({ primary: "#2f5bea" })["on-primary"], "#ffffff");
  assert.equal(derivedColors({ secondary: "#222222" })["on-secondary"], "#ffffff");
  assert.equal(derivedColors({ secondary: "#eef1f8" })["on-secondary"], "#1d2230");
});

test("the primary as text on a white card reads there, darkened only as far as it needs", () => {
  for (const primary of ["#ffe14d", "#00ff00", "#ff66cc", "#2f5bea", "#000000", "#ffffff"]) {
    const ink = derivedColors({ primary })["primary-ink"];
    assert.ok(contrast(channels(ink), WHITE) >= 4.5, `${primary} → ${ink}`);
  }
  assert.equal(derivedColors({ primary: "#2f5bea" })["primary-ink"], "#2f5bea", "a primary that reads is kept");
});

test("nothing is derived from a colour not given, or not given as #rrggbb", () => {
  assert.deepEqual(derivedColors(undefined), {});
  assert.deepEqual(derivedColors({ primary: "red", secondary: "#12345" }), {});
});

test("the dark text a room's colours are read against is the page's own (the stylesheet's --text)", () => {
  const css = readFileSync(new URL("../css/room.css", import.meta.url), "utf8");
  assert.equal(/--text:\s*(#[0-9a-f]{6})/i.exec(css)?.[1].toLowerCase(), TEXT);
});
