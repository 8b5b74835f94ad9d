// The room page names every module of the client up front (modulepreload), so that a browser
// fetches them all at once instead of one level of imports at a time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const WEB = new URL("../", import.meta.url);

/** The modules `entry` imports statically, at any depth (paths under web/, as served under /assets/). */
function moduleGraph(entry) {
  const seen = new Set();
  const pending = [entry];
  while (pending.length) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(new URL(file, WEB), "utf8");
    for (const [, spec] of text.matchAll(/^import\s[^;]*?from\s+"(\.{1,2}\/[^"]+)";/gm)) {
      pending.push(new URL(spec, new URL(file, WEB)).pathname.slice(WEB.pathname.length));
    }
  }
  return seen;
}

test("room.html preloads exactly the modules main.js imports, at any depth", () => {
  const html = readFileSync(new URL("room.html", WEB), "utf8");
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/assets\/([^"]+)">/g)].map((m) => m[1]);
  const graph = [...moduleGraph("js/main.js")].filter((file) => file !== "js/main.js");
  assert.ok(graph.length > 30, `the graph was read (${graph.length} modules)`);
  assert.deepEqual([...preloaded].sort(), graph.sort(), "room.html's modulepreload list is the module graph of main.js");
});
