// How much of a host's main thread a large group room takes: N people (signalling connections
// alone, from one crowd page) join while the host's page is in the call, then each turns their
// microphone and camera off, as after a host's "Mute everyone". Prints the host page's main-thread
// time for each phase (Chromium's TaskDuration, and its share of script, layout and style) and its
// long tasks (over 50 ms, when the page answers nothing); then the long tasks of a viewer's page
// coming into the room as it is (`enter`). Compare builds in one run:
//
//   ANTEROOM_BIN=<old>/anteroom node e2e/bench/large-room.mjs 199
//   ANTEROOM_BIN=<new>/anteroom node e2e/bench/large-room.mjs 199
//
// (`people` as a second argument: with the People panel open throughout.)
import { startServer } from "../lib/server.mjs";
import { launch, newPage } from "../lib/browser.mjs";
import { enter, enterAsHost, openPeople } from "../lib/flows.mjs";
import { crowdJoins } from "../lib/crowd.mjs";

const people = Number(process.argv[2] || 199);
const panelOpen = process.argv[3] === "people";
const server = await startServer();
const browser = await launch();

/** Main-thread seconds so far, by kind, from the DevTools protocol. */
async function busy(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const value = (name) => metrics.find((m) => m.name === name)?.value ?? 0;
  return { task: value("TaskDuration"), script: value("ScriptDuration"), layout: value("LayoutDuration"), style: value("RecalcStyleDuration") };
}

/** In the page: its long tasks' durations, in `window.longTasks`. */
function watchLongTasks() {
  window.longTasks = [];
  new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longTasks.push(entry.duration); }).observe({ type: "longtask" });
}

async function phase(host, cdp, run) {
  await host.evaluate(() => { window.longTasks = []; });
  const before = await busy(cdp);
  await run();
  // Whatever the last frames set off is done within a second.
  await host.waitForTimeout(1500);
  const after = await busy(cdp);
  const long = await host.evaluate(() => window.longTasks);
  const ms = (key) => Math.round((after[key] - before[key]) * 1000);
  return { taskMs: ms("task"), scriptMs: ms("script"), layoutMs: ms("layout"), styleMs: ms("style"), longTasks: long.length, longestMs: Math.round(Math.max(0, ...long)) };
}

try {
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  const host = await newPage(browser, "host");
  await host.addInitScript(watchLongTasks);
  await enterAsHost(host, meeting, "Dr Host");
  if (panelOpen) await openPeople(host);
  const cdp = await host.context().newCDPSession(host);
  await cdp.send("Performance.enable");
  const crowd = await newPage(browser, "crowd");
  // Loaded before the measure (its joining then only joins).
  await crowd.goto(server.base);
  const join = await phase(host, cdp, async () => {
    await crowdJoins(crowd, server.base, meeting.roomName, Array.from({ length: people }, (_, i) => `Person ${i + 1}`));
    await host.waitForFunction((count) => document.querySelectorAll(".tile").length === count, people + 1, { timeout: 60_000 });
  });
  const mute = await phase(host, cdp, () => crowd.evaluate(async () => {
    for (const ws of window.crowd) {
      ws.send(JSON.stringify({ type: "set_media_state", payload: { audio: false, video: false } }));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }));
  // A viewer comes into the room as it is now (a full room has no seat for another member), making
  // all its tiles at once: how long its page stood still doing so (its long tasks, from loading to
  // every tile there).
  const late = await newPage(browser, "viewer");
  await late.addInitScript(watchLongTasks);
  await enter(late, meeting.viewerRoomUrl, "Vic");
  await late.waitForFunction((count) => document.querySelectorAll(".tile").length === count, people + 1, { timeout: 60_000 });
  await late.waitForTimeout(1500);
  const longs = await late.evaluate(() => window.longTasks);
  const entered = { longTasks: longs.length, longestMs: Math.round(Math.max(0, ...longs)), totalMs: Math.round(longs.reduce((a, b) => a + b, 0)) };
  for (const page of [host, late]) if (page.errors.length) throw new Error(page.errors.join("\n"));
  console.log(JSON.stringify({ people, panelOpen, join, mute, enter: entered }));
} finally {
  await browser.close();
  await server.stop();
}
