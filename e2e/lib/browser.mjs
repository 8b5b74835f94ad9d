// Debian's chromium (chromium.sh says how it is started), driven by playwright-core, with fake
// camera and microphone (DESIGN.md's flags).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const OUTPUT = path.resolve(here, "../output");
mkdirSync(OUTPUT, { recursive: true });

/**
 * `grantMedia: false` makes the browser answer every permission prompt with no; `audioFile` is a
 * WAV file its fake microphone plays (in a loop) instead of its beeps; `videoFile` a Y4M file its
 * fake camera shows instead of its test pattern; `cameras` how many fake cameras it has (it always
 * has three microphones and three speakers); `args` more of Chromium's switches.
 */
export async function launch({ grantMedia = true, audioFile = null, videoFile = null, marker = null, cameras = 1, args = [] } = {}) {
  return chromium.launch({
    executablePath: path.join(here, "chromium.sh"),
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      cameras === 1 ? "--use-fake-device-for-media-stream" : `--use-fake-device-for-media-stream=device-count=${cameras}`,
      grantMedia ? "--use-fake-ui-for-media-stream" : "--deny-permission-prompts",
      "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
      ...(audioFile ? [`--use-file-for-fake-audio-capture=${audioFile}`] : []),
      ...(videoFile ? [`--use-file-for-fake-video-capture=${videoFile}`] : []),
      // A switch Chromium ignores, by which `renderers` finds this browser's processes.
      ...(marker ? [`--anteroom-test-browser=${marker}`] : []),
      ...args,
    ],
  });
}

/**
 * A browser of its own (for one test) whose pages can be made to stand still: `stall()` stops its
 * renderer processes (SIGSTOP) and says how many, `go()` lets them go on; they go on anyway when
 * the test ends. The renderers are where its pages' WebRTC runs (their ICE answers included),
 * while their sockets, the WebSocket's among them, live in the browser's network service:
 * stopping them cuts the pages' media paths and leaves their signalling connected, as a path that
 * stops carrying UDP does.
 */
export async function stallableBrowser(t, label) {
  const marker = `${label}-${process.pid}-${Date.now()}`;
  const browser = await launch({ marker });
  let stopped = [];
  const stallable = {
    browser,
    stall() {
      stopped = renderers(marker);
      for (const pid of stopped) process.kill(pid, "SIGSTOP");
      return stopped.length;
    },
    go() {
      for (const pid of stopped) process.kill(pid, "SIGCONT");
      stopped = [];
    },
  };
  t.after(async () => {
    stallable.go();
    await browser.close();
  });
  return stallable;
}

/** The renderer processes of the browser launched with `marker`. */
function renderers(marker) {
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid=,args="]).toString().trim().split("\n")
    .map((line) => line.trim().split(/\s+/))
    .map(([pid, ppid, ...args]) => ({ pid, ppid, args: args.join(" ") }));
  const main = rows.find((row) => row.args.includes(`--anteroom-test-browser=${marker}`) && !row.args.includes("--type="));
  if (!main) throw new Error(`no browser launched with marker ${marker}`);
  const found = [];
  const parents = [main.pid];
  while (parents.length) {
    const parent = parents.pop();
    for (const row of rows.filter((r) => r.ppid === parent)) {
      parents.push(row.pid);
      if (row.args.includes("--type=renderer")) found.push(Number(row.pid));
    }
  }
  return found;
}

/**
 * Media stays on loopback: Chromium also offers this machine's other addresses as ICE candidates,
 * and the test pages drop every remote candidate that is not a loopback one.
 */
function loopbackOnly() {
  const add = RTCPeerConnection.prototype.addIceCandidate;
  RTCPeerConnection.prototype.addIceCandidate = function (candidate, ...rest) {
    const text = candidate?.candidate ?? "";
    const address = text.split(" ")[4];
    if (text && address && !/^(127\.|::1$)/.test(address)) return Promise.resolve();
    return add.call(this, candidate, ...rest);
  };
}

/**
 * A `<video>` taken off the page while it still shows a stream is reported as a console error (so
 * every test's `noPageErrors` fails on it): a removed self-view that holds the camera keeps some of
 * its frames, and three of them stopped the camera (docs/performance.md, "The second lost between
 * DTLS and the first frame"). Checked when the observer hears of the removal (once the script that
 * removed it has run to its end or to its first `await`), so a video moved elsewhere by the same
 * code is not taken for gone.
 */
function removedVideosLetGo() {
  new MutationObserver((records) => {
    const removed = new Set();
    for (const record of records) {
      for (const node of record.removedNodes) {
        if (node.nodeName === "VIDEO") removed.add(node);
        for (const video of node.querySelectorAll?.("video") ?? []) removed.add(video);
      }
    }
    for (const video of removed) {
      if (!video.isConnected && video.srcObject) {
        const owner = video.className || video.parentElement?.className || "no class";
        console.error(`a <video> (${owner}) left the page still showing its stream`);
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

/** Test instrumentation: every RTCPeerConnection the page makes is kept where the test can ask it. */
export function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
}

/**
 * Test instrumentation: every camera and microphone track the page opens is kept where the test
 * can ask it (`openDevices`), and `window.deviceRequests` counts the page's asks for them.
 */
export function recordDeviceTracks() {
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.deviceTracks = [];
  window.deviceRequests = 0;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.deviceRequests += 1;
    const stream = await getUserMedia(constraints);
    window.deviceTracks.push(...stream.getTracks());
    return stream;
  };
}

/** The kinds of the page's camera and microphone tracks open now (their light on), sorted. */
export function openDevices(page) {
  return page.evaluate(() => window.deviceTracks.filter((track) => track.readyState === "live").map((track) => track.kind).sort());
}

/** Test instrumentation: every screen wake lock the page is granted is kept where the test can ask it. */
export function recordWakeLocks() {
  const request = navigator.wakeLock.request.bind(navigator.wakeLock);
  window.wakeLocks = [];
  navigator.wakeLock.request = async (type) => {
    const lock = await request(type);
    window.wakeLocks.push(lock);
    return lock;
  };
}

/** Whether `page` holds a screen wake lock now (`recordWakeLocks` before it loaded). */
export function keepsScreenOn(page) {
  return page.evaluate(() => window.wakeLocks.some((lock) => !lock.released));
}

export const DEFAULT_VIEWPORT = { width: 1366, height: 657 };

/**
 * A page in its own context (its own cookies, its own camera), with console errors collected. It
 * may keep the screen on, as browsers let a page shown do.
 */
export async function newPage(browser, label, { viewport = DEFAULT_VIEWPORT, locale } = {}) {
  const context = await browser.newContext({ viewport, locale, permissions: ["camera", "microphone", "screen-wake-lock"] });
  await context.addInitScript(loopbackOnly);
  await context.addInitScript(removedVideosLetGo);
  return watchedPage(context, label);
}

/** Another page in `page`'s browser context (its storage, its init scripts), its errors recorded. */
export function pageBeside(page, label) {
  return watchedPage(page.context(), label);
}

async function watchedPage(context, label) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(`${label}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") page.errors.push(`${label} console: ${message.text()} ${message.location()?.url || ""}`);
  });
  page.label = label;
  return page;
}

/** `open(label)` for one test: its pages close when the test ends, pass or fail (calls left open
 * would load the machine for every test after). */
export function opener(browser, t) {
  return async (label, options) => {
    const page = await newPage(browser, label, options);
    t.after(() => page.context().close().catch(() => {}));
    return page;
  };
}

/**
 * The screen `page` is offered to share (getDisplayMedia, as if the person picked one): a plain
 * magenta canvas of `width`×`height`, a colour no fake camera shows, so that whoever receives it
 * can tell it from the camera.
 */
export async function offerMagentaScreen(page, { width = 1280, height = 720 } = {}) {
  await page.addInitScript(([width, height]) => {
    navigator.mediaDevices.getDisplayMedia = async () => {
      const canvas = Object.assign(document.createElement("canvas"), { width, height });
      const g = canvas.getContext("2d");
      const paint = () => { g.fillStyle = "#ff00ff"; g.fillRect(0, 0, width, height); };
      paint();
      setInterval(paint, 100);
      return canvas.captureStream(10);
    };
  }, [width, height]);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(OUTPUT, `${name}.png`), fullPage: false });
}
