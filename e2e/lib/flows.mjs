// The steps tests share: entering as host, knocking as guest, and checking media really flows.
import assert from "node:assert/strict";

export const TIMEOUT = 15000;

/** Polls `check` every 100 ms until it gives something other than undefined, and returns that;
 * fails after `within` ms saying `what` (a string, or a function for a message made then). */
export async function until(check, what, within = 2 * TIMEOUT) {
  const deadline = Date.now() + within;
  for (;;) {
    const result = await check();
    if (result !== undefined) return result;
    assert.ok(Date.now() < deadline, typeof what === "function" ? what() : what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The client id of the page's member in the room (its own tile says it). */
export async function clientIdOf(page) {
  return page.evaluate(() => document.querySelector(".tile.self")?.dataset.clientId);
}

/** Opens a URL and passes the pre-call review (name as given; `onReview(page)` runs on the review first). */
export async function enter(page, url, name, onReview = async () => {}) {
  const target = new URL(url);
  if (name !== undefined) target.searchParams.set("displayName", name);
  await page.goto(target.toString(), { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#continue", { timeout: TIMEOUT });
  await onReview(page);
  await page.click("#continue");
}

export async function enterAsHost(page, meeting, name = "Dr Host") {
  await enter(page, meeting.hostRoomUrl, name);
  await page.waitForSelector(".screen.call", { timeout: TIMEOUT });
}

/**
 * A host ("Dr Host") and a guest ("Gale") in a call of `meeting` (not locked), each seeing the
 * other's video; `open` opens a page (browser.mjs's `opener`).
 */
export async function hostAndGuest(open, meeting) {
  const host = await open("host");
  await enterAsHost(host, meeting);
  const guest = await open("guest");
  await enter(guest, meeting.roomUrl, "Gale");
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(host, 1);
  await remoteVideosPlay(guest, 1);
  return { host, guest };
}

/** A guest passes the review, sees the door, knocks and waits. */
export async function knock(page, meeting, name = "Pat", onReview) {
  await enter(page, meeting.roomUrl, name, onReview);
  await page.waitForSelector("#knock", { timeout: TIMEOUT });
  await page.click("#knock");
  await page.waitForSelector("#waiting-status", { timeout: TIMEOUT });
}

export async function openPeople(page) {
  if (await page.locator("#people-panel").isHidden()) await page.click("#people-toggle");
}

/** The knock of this guest in a host's People panel. */
export function knockerItem(page, name) {
  return page.locator(".knocker", { has: page.locator(".knocker-name", { hasText: name }) });
}

export async function knockerNames(page) {
  return page.locator(".knocker .knocker-name").allTextContents();
}

/**
 * Waits until `count` remote videos play (frames advancing, non-zero size). It allows twice the
 * usual time: on a loaded 2-core machine a newcomer's first frames can take longer than 15 s to
 * reach six pages; whether they play, not how soon, is what this checks (tests time what they mean
 * to, such as a let-in guest's video within 3 s, themselves).
 */
export async function remoteVideosPlay(page, count) {
  const deadline = Date.now() + 2 * TIMEOUT;
  let last = [];
  while (Date.now() < deadline) {
    const before = await remoteTiles(page);
    await page.waitForTimeout(700);
    const after = await remoteTiles(page);
    last = after;
    const playing = after.filter((tile) => {
      const earlier = before.find((b) => b.clientId === tile.clientId);
      return tile.width > 0 && tile.height > 0 && earlier && tile.frames > earlier.frames;
    });
    if (playing.length >= count) return after;
  }
  assert.fail(`${page.label}: expected ${count} remote videos playing, saw ${JSON.stringify(last)}`);
}

/** Waits until every remote tile has had audible sound (the fake microphone beeps). */
export async function remoteAudioHeard(page, count) {
  const deadline = Date.now() + TIMEOUT;
  const loudest = new Map();
  while (Date.now() < deadline) {
    for (const tile of await remoteLevels(page, 1000)) loudest.set(tile.clientId, Math.max(loudest.get(tile.clientId) || 0, tile.level));
    if ([...loudest.values()].filter((level) => level > 0.02).length >= count) return loudest;
  }
  assert.fail(`${page.label}: expected audio from ${count} remote peers, loudest levels ${JSON.stringify([...loudest])}`);
}

/** Each remote tile on the page: its person, video size and frames decoded so far. */
export async function remoteTiles(page) {
  return page.evaluate(() => [...document.querySelectorAll(".tile:not(.self)")].map((tile) => {
    // (A tile's video is there once media for it came.)
    const video = tile.querySelector("video");
    return { clientId: tile.dataset.clientId, width: video?.videoWidth ?? 0, height: video?.videoHeight ?? 0,
      frames: video?.getVideoPlaybackQuality().totalVideoFrames ?? 0, hidden: tile.hidden };
  }));
}

/** The loudest sound each remote tile's stream carried over `ms` milliseconds (measured by the test). */
async function remoteLevels(page, ms) {
  return page.evaluate(async (ms) => {
    const ctx = new AudioContext();
    await ctx.resume();
    const meters = [...document.querySelectorAll(".tile:not(.self)")].flatMap((tile) => {
      const track = tile.querySelector("video")?.srcObject?.getAudioTracks()[0];
      if (!track) return [];
      const analyser = ctx.createAnalyser();
      ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      return [{ clientId: tile.dataset.clientId, analyser, level: 0 }];
    });
    const samples = new Float32Array(2048);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (const m of meters) {
        m.analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        m.level = Math.max(m.level, Math.sqrt(sum / samples.length) * 4);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await ctx.close();
    return meters.map(({ clientId, level }) => ({ clientId, level }));
  }, ms);
}

export function noPageErrors(...pages) {
  noPageErrorsBut([], ...pages);
}

/** No errors in the pages besides those the test caused on purpose (`expected`, patterns). */
export function noPageErrorsBut(expected, ...pages) {
  const errors = pages.flatMap((p) => p.errors).filter((e) => !expected.some((pattern) => pattern.test(e)));
  assert.deepEqual(errors, [], `errors in the pages:\n${errors.join("\n")}`);
}

/**
 * What the video `selector` finds shows now, drawn at 320×180: its sharpness (the mean difference
 * in brightness between neighbouring pixels, 0–255), its mean brightness (0–255; 0 before its
 * first frame) and, given `near` ([r, g, b]), the share of its pixels close to that colour.
 */
export async function videoPicture(page, selector, near = null) {
  return page.evaluate(([selector, near]) => {
    const video = document.querySelector(selector);
    // (A tile's video is there once media for it came: before, as before its first frame.)
    if (!video) return { sharpness: 0, brightness: 0, nearShare: 0 };
    const [width, height] = [320, 180];
    const canvas = Object.assign(document.createElement("canvas"), { width, height });
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, width, height);
    const pixels = ctx.getImageData(0, 0, width, height).data;
    let edges = 0;
    let close = 0;
    let total = 0;
    for (let y = 0; y < height; y++) {
      let previous = null;
      for (let x = 0; x < width; x++) {
        const i = 4 * (y * width + x);
        const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]];
        const brightness = 0.299 * r + 0.587 * g + 0.114 * b;
        if (previous !== null) edges += Math.abs(brightness - previous);
        total += brightness;
        previous = brightness;
        if (near && Math.hypot(r - near[0], g - near[1], b - near[2]) < 60) close++;
      }
    }
    const count = width * height;
    return { sharpness: edges / (height * (width - 1)), brightness: total / count, nearShare: close / count };
  }, [selector, near]);
}
