// How long a guest's phone waits for the room's first screen (the device check) on a slow link:
// Chromium adds `latency` ms to every request (DevTools' network emulation, about one round trip
// each), and the page is loaded afresh (no cache) ten times. Builds are compared in one run,
// alternately (A B A B A B), each round a fresh server:
//
//   node e2e/bench/first-screen.mjs <old>/anteroom <new>/anteroom [latency ms, default 150]
//
// Prints each round's median, and each build's median of rounds as a ratio to the first build's.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const LOADS = 10;

if (process.argv[2] === "--measure") {
  const latency = Number(process.argv[3]);
  const { startServer } = await import("../lib/server.mjs");
  const { launch } = await import("../lib/browser.mjs");
  const server = await startServer();
  const browser = await launch();
  const times = [];
  try {
    const meeting = await server.meeting({ isLocked: true });
    for (let i = 0; i < LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, permissions: ["camera", "microphone"] });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", { offline: false, latency, downloadThroughput: -1, uploadThroughput: -1 });
      const started = Date.now();
      await page.goto(`${meeting.roomUrl}?displayName=Pat`, { waitUntil: "commit" });
      await page.waitForSelector("#continue", { timeout: 60000 });
      times.push(Date.now() - started);
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(JSON.stringify(median(times)));
} else {
  const builds = process.argv.slice(2).filter((arg) => !/^\d+$/.test(arg));
  const latency = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 150);
  const rounds = new Map(builds.map((build) => [build, []]));
  for (let round = 1; round <= 3; round++) {
    for (const build of builds) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--measure", String(latency)], { env: { ...process.env, ANTEROOM_BIN: build } });
      const ms = Number(out.toString().trim().split("\n").pop());
      rounds.get(build).push(ms);
      console.log(`round ${round} ${build}: first screen after ${ms} ms (median of ${LOADS} loads, ${latency} ms latency)`);
    }
  }
  const base = median(rounds.get(builds[0]));
  for (const build of builds) {
    const m = median(rounds.get(build));
    console.log(`${build}: ${m} ms (rounds ${rounds.get(build).join(", ")}), ${(m / base).toFixed(2)} × the first build's`);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
