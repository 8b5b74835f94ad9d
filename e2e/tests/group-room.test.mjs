// A group room's media goes through the media server inside anteroom: every page decodes everyone,
// a viewer sends nothing, a knocker has no media path at all until let in, a removed guest's media
// stops, each viewer gets the simulcast layer that fits the size it shows a video at, and media comes
// back by itself after a network drop, a server restart, or a server that stood still (the tiles
// saying so meanwhile).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";


import { launch, newPage, opener, recordPeerConnections, screenshot, stallableBrowser } from "../lib/browser.mjs";
import { enter, enterAsHost, knock, openPeople, knockerItem, remoteTiles, remoteVideosPlay, noPageErrors, noPageErrorsBut, TIMEOUT, until, clientIdOf } from "../lib/flows.mjs";
import { startServer } from "../lib/server.mjs";
import { loudSpeech } from "../lib/audio.mjs";
import { lastClick, longestCameraStill, timeClicks, watchCamera } from "../lib/timing.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openRecorded(open, label, options) {
  const page = await open(label, options);
  await page.context().addInitScript(recordPeerConnections);
  return page;
}

/** The statistics of each of the page's open peer connections (one list of reports each). */
async function openConnectionStats(page) {
  return page.evaluate(async () => {
    const open = window.peerConnections.filter((pc) => pc.connectionState !== "closed");
    return Promise.all(open.map(async (pc) => [...(await pc.getStats()).values()]));
  });
}

/** RTP totals over the page's open peer connections. */
async function rtpTotals(page) {
  const connections = await openConnectionStats(page);
  const totals = { pcs: connections.length, audioIn: 0, videoIn: 0, bytesIn: 0, outbound: 0, channels: 0 };
  for (const report of connections.flat()) {
    if (report.type === "inbound-rtp") {
      totals.bytesIn += report.bytesReceived || 0;
      if (report.kind === "audio") totals.audioIn += report.packetsReceived || 0;
      if (report.kind === "video") totals.videoIn += report.packetsReceived || 0;
    }
    if (report.type === "outbound-rtp" && report.packetsSent > 0) totals.outbound += 1;
    if (report.type === "data-channel") totals.channels += 1;
  }
  return totals;
}

/**
 * What the page sends, for a failure to say why a video was slow or small: the camera's frame rate,
 * each simulcast layer's size, rate and what limits it, round trips, and the estimate of the uplink.
 */
async function sending(page) {
  const sent = { captured: [], layers: [], roundTrips: [], uplink: [] };
  for (const report of (await openConnectionStats(page)).flat()) {
    if (report.kind === "video" && report.type === "media-source") sent.captured.push(report.framesPerSecond);
    if (report.kind === "video" && report.type === "outbound-rtp") {
      sent.layers.push({ rid: report.rid, width: report.frameWidth, fps: report.framesPerSecond, limit: report.qualityLimitationReason });
    }
    if (report.kind === "video" && report.type === "remote-inbound-rtp") sent.roundTrips.push(report.roundTripTime);
    if (report.type === "candidate-pair" && report.nominated) sent.uplink.push(report.availableOutgoingBitrate);
  }
  return sent;
}

async function waitForMetric(name, expected, within = TIMEOUT) {
  let value;
  await until(
    async () => {
      value = await server.metric(name);
      return value === expected ? value : undefined;
    },
    () => `${name} is ${value} after ${within} ms, not ${expected}`,
    within,
  );
}

/** Frames per second each remote video decodes over `seconds`. */
async function remoteFps(page, seconds) {
  const before = await remoteTiles(page);
  await page.waitForTimeout(seconds * 1000);
  const after = await remoteTiles(page);
  return after.map((tile) => {
    const earlier = before.find((b) => b.clientId === tile.clientId);
    return { clientId: tile.clientId, fps: earlier ? (tile.frames - earlier.frames) / seconds : 0, width: tile.width };
  });
}

/** Milliseconds until the tile of `clientId` on `page` shows frames advancing. */
async function msUntilVideoFrom(page, clientId, since) {
  // Timed by the page's clock, as `since` is: not the robot's round trip to it, which on a loaded
  // machine took up to 280 ms more.
  const seenAt = await page.waitForFunction((id) => {
    const video = document.querySelector(`.tile[data-client-id="${id}"] video`);
    if (!video || !video.videoWidth) return false;
    const frames = video.getVideoPlaybackQuality().totalVideoFrames;
    const seen = (window.framesSeen ||= {});
    const advancing = seen[id] !== undefined && frames > seen[id];
    seen[id] = frames;
    return advancing && Date.now();
  }, clientId, { timeout: TIMEOUT, polling: 50 });
  return (await seenAt.jsonValue()) - since;
}

/**
 * Notes, in the page, when each step of a new media path first happens (polled every 20 ms): for
 * a newcomer (`sending`), its connection's ICE and DTLS and its first video frame encoded; for a
 * receiver, the first packet and decoded frame of a video it was not receiving yet.
 * `steps(page, since)` reads them back, in ms after `since`: where the time between "let in" and
 * video went.
 */
async function traceSteps(page, sending) {
  await page.evaluate(async (sending) => {
    const steps = (window.steps = {});
    const mark = (step) => { steps[step] ??= Date.now(); };
    const receivingBefore = new Set();
    const receiving = async () => {
      const pc = window.peerConnections.at(-1);
      return pc ? [...(await pc.getStats()).values()].filter((s) => s.type === "inbound-rtp" && s.kind === "video") : [];
    };
    for (const s of await receiving()) if (s.packetsReceived > 0) receivingBefore.add(s.mid);
    const poll = async () => {
      const pc = window.peerConnections.at(-1);
      if (sending) {
        if (pc?.iceConnectionState === "connected" || pc?.iceConnectionState === "completed") mark("ICE");
        if (pc?.connectionState === "connected") mark("DTLS");
        for (const s of pc ? (await pc.getStats()).values() : []) {
          if (s.type === "outbound-rtp" && s.kind === "video" && s.framesEncoded > 0) mark("first frame encoded");
        }
      } else {
        for (const s of await receiving()) {
          if (receivingBefore.has(s.mid)) continue;
          if (s.packetsReceived > 0) mark("first packet");
          if (s.framesDecoded > 0) mark("first frame decoded");
        }
      }
      if (Object.keys(steps).length < (sending ? 3 : 2)) setTimeout(poll, 20);
    };
    poll();
  }, sending);
}

async function steps(page, since) {
  const steps = await page.evaluate(() => window.steps);
  return Object.entries(steps).map(([step, at]) => `${step} ${at - since}`).join(", ");
}

async function letIn(host, guest, name) {
  await knockerItem(host, name).locator(".let-in").click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
}

test("a locked group room: media through the server, none for knockers, gone after removal, layers by size", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true, roomMode: "group" });
  const host = await openRecorded(open, "host", { viewport: { width: 1920, height: 969 } });
  await enterAsHost(host, meeting);
  await openPeople(host);
  const guests = [];
  for (const [index, name] of ["Ann", "Ben"].entries()) {
    const viewport = index === 0 ? { width: 390, height: 844 } : undefined;
    const guest = await openRecorded(open, name, viewport ? { viewport } : undefined);
    await knock(guest, meeting, name);
    await letIn(host, guest, name);
    guests.push(guest);
  }
  const viewer = await openRecorded(open, "viewer");
  await enter(viewer, meeting.viewerRoomUrl, "Vic");
  await viewer.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await waitForMetric("anteroom_media_transports", 4);
  await Promise.all([...[host, ...guests].map((page) => remoteVideosPlay(page, 2)), remoteVideosPlay(viewer, 3)]);

  // The third guest knocks: no peer connection in its page, no media path on the server. (The
  // third, not a fourth: six pages on this machine's two cores would time the browsers' load.)
  // From its review on, neither its camera nor the host's stands still (the screens' self-views,
  // gone but still showing the camera, once stopped both for seconds).
  const cy = await openRecorded(open, "Cy");
  await watchCamera(host, ".tile.self video");
  await knock(cy, meeting, "Cy", (page) => watchCamera(page, "video.preview"));
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 1);
  await cy.waitForTimeout(1000);
  assert.equal(await cy.evaluate(() => window.peerConnections.length), 0, "the knock page makes no RTCPeerConnection");
  assert.equal(await server.metric("anteroom_media_transports"), 4, "no media path for the knocker");

  // Let in: its video reaches the host within 3 s of the host's click.
  await timeClicks(host, ".let-in");
  await traceSteps(cy, true);
  await traceSteps(host, false);
  await knockerItem(host, "Cy").locator(".let-in").click();
  await cy.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const cyId = await clientIdOf(cy);
  const letInAt = await lastClick(host, ".let-in");
  const took = await msUntilVideoFrom(host, cyId, letInAt);
  t.diagnostic(`let in → video at the host: ${took} ms`);
  t.diagnostic(`  ms after the click: the guest's ${await steps(cy, letInAt)}; the host's ${await steps(host, letInAt)}`);
  assert.ok(took <= 3000, `the admitted knocker's video reached the host in ${took} ms`);
  for (const [page, whose] of [[cy, "the guest's"], [host, "the host's"]]) {
    const still = await longestCameraStill(page);
    t.diagnostic(`${whose} camera delivered no frame for at most ${still} ms`);
    assert.ok(still < 1000, `${whose} camera stood still for ${still} ms while the guest knocked and came in`);
  }
  guests.push(cy);

  // Host + 3 guests + 1 viewer: five admitted members, five media paths on the server.
  await waitForMetric("anteroom_media_transports", 5);
  const senders = [host, ...guests];
  await Promise.all([...senders.map((page) => remoteVideosPlay(page, 3)), remoteVideosPlay(viewer, 4)]);

  for (const page of [...senders, viewer]) {
    await page.bringToFront();
    const fps = await remoteFps(page, 5);
    t.diagnostic(`${page.label} decodes ${fps.map((tile) => tile.fps.toFixed(1)).join(", ")} fps`);
    const slow = fps.filter((tile) => tile.fps < 10);
    if (slow.length) {
      const publishers = await Promise.all(senders.map(async (p) => `${p.label} sends ${JSON.stringify(await sending(p))}`));
      assert.fail(`${page.label} decodes ${JSON.stringify(fps)}; ${publishers.join("; ")}`);
    }
    const first = await rtpTotals(page);
    await page.waitForTimeout(1000);
    const second = await rtpTotals(page);
    assert.equal(first.pcs, 1, `${page.label}: one connection, to the server`);
    assert.ok(second.audioIn > first.audioIn, `${page.label}: audio packets flow`);
  }
  const viewed = await rtpTotals(viewer);
  assert.equal(viewed.outbound, 0, "the viewer publishes nothing");
  // Hundreds of viewers: each data channel would be an SCTP association for the server to keep.
  assert.equal(viewed.channels, 0, "the viewer's connection has no data channel");
  await screenshot(host, "group-host");

  // Layers by size: the phone's small tiles get at most 320 px; a pinned, large tile at least 640 px.
  const ann = guests[0];
  await ann.bringToFront();
  // Upright, the phone's tiles are taller than 16:9 and draw the video wider than themselves
  // (cropped at the sides): each asks for the layer of that width, not of the tile's.
  const drawnWider = () => [...document.querySelectorAll(".tile:not(.self)")].every((tile) =>
    (tile.clientHeight * 16) / 9 > 400 && tile.clientWidth < 400 && tile.querySelector("video").videoWidth >= 640);
  await ann.waitForFunction(drawnWider, null, { timeout: 3000 });
  await screenshot(ann, "group-phone");
  // Held sideways, Ann's phone shows the three others in tiles under 400 px wide (upright, its
  // tiles are taller and draw the video wider, cropped): the 320 px layer is what fits.
  // Within 3 s of the turn, as the issue asks (the server switches at the smaller layer's next
  // keyframe, asked for at most once a second).
  await ann.setViewportSize({ width: 844, height: 390 });
  let shown;
  await until(async () => {
    shown = await ann.evaluate(() => [...document.querySelectorAll(".tile:not(.self)")].map((tile) => ({
      drawn: Math.max(tile.clientWidth, (tile.clientHeight * 16) / 9) * devicePixelRatio, received: tile.querySelector("video").videoWidth })));
    return shown.length === 3 && shown.every((tile) => tile.drawn <= 400 && tile.received <= 320) ? true : undefined;
  }, () => `three small tiles, each receiving at most 320 px, within 3 s: ${JSON.stringify(shown)}`, 3000);
  await screenshot(ann, "group-phone-sideways");
  await host.bringToFront();
  const annId = await clientIdOf(ann);
  await host.click(`.tile[data-client-id="${annId}"] .tile-pin`);
  await host.waitForFunction((id) => document.querySelector(`.tile[data-client-id="${id}"] video`)?.videoWidth >= 640, annId, { timeout: 3000 })
    .catch(async (error) => assert.fail(`${error.message}; Ann sends ${JSON.stringify(await sending(ann))}`));

  // Removed: the let-in guest's media path closes and its media stops within 2 s.
  const before = await rtpTotals(cy);
  assert.ok(before.bytesIn > 0);
  await host.locator(".participant", { hasText: "Cy" }).locator(".more").click();
  const remove = host.locator(".participant", { hasText: "Cy" }).locator(".remove");
  // Timed from the click that confirms (the second; the first only asks "sure?").
  await timeClicks(host, ".remove");
  await remove.click();
  await remove.click();
  const removedAt = await lastClick(host, ".remove");
  await waitForMetric("anteroom_media_transports", 4, 2000);
  t.diagnostic(`removed → media path closed: ${Date.now() - removedAt} ms`);
  assert.ok(Date.now() - removedAt <= 2000);
  // Nothing more arrives: either the page has closed its connection (the removed screen does, at
  // its own moment), or the bytes it received stand still.
  const stopped = await rtpTotals(cy);
  await cy.waitForTimeout(1000);
  const later = await rtpTotals(cy);
  assert.ok(later.pcs === 0 || later.bytesIn === stopped.bytesIn,
    `nothing reaches the removed guest: ${JSON.stringify(stopped)} then ${JSON.stringify(later)}`);
  await host.waitForSelector(`.tile[data-client-id="${cyId}"]`, { state: "detached", timeout: 2000 });

  // Insights: the removed guest's stay has the media server's samples of its connection, every
  // 2 s: a camera and a voice sent, three cameras and voices received.
  const detail = await server.stayWithSamples(meeting.roomName, cyId);
  t.diagnostic(`Cy's samples: sent ${detail.samples.bitrateSend.join(" ")}; received ${detail.samples.bitrateRecv.join(" ")} bit/s`);
  assert.equal(detail.sampleRateMs, 2000);
  assert.ok(detail.samples.bitrateSend.length >= 3, JSON.stringify(detail.samples));
  assert.ok(detail.samples.bitrateSend.some((bps) => bps > 100_000), `a camera sent: ${JSON.stringify(detail.samples)}`);
  assert.ok(detail.samples.bitrateRecv.some((bps) => bps > 100_000), `cameras received: ${JSON.stringify(detail.samples)}`);
  assert.ok([...detail.samples.packetLossSend, ...detail.samples.packetLossRecv].every((p) => p >= 0 && p <= 100));
  noPageErrors(host, ...guests, viewer);
});

/** Times of the `dominant_speaker` frames the page's signalling socket receives. */
function recordDominantSpeakers(page) {
  const heard = [];
  page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => {
    if (typeof payload === "string" && payload.includes('"dominant_speaker"')) heard.push({ at: Date.now(), clientId: JSON.parse(payload).payload.clientId });
  }));
  return heard;
}

test("the one speaking loudly is reported dominant speaker within 2 s", async (t) => {
  const loudBrowser = await launch({ audioFile: loudSpeech() });
  t.after(() => loudBrowser.close());
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  // Everyone comes in muted (Whereby's audio=off), so nobody is named before Lou speaks: on a slow
  // machine a page entering with its microphone on was named before a click could mute it.
  const muted = (url) => `${url}${url.includes("?") ? "&" : "?"}audio=off`;
  const host = await open("host");
  const heard = recordDominantSpeakers(host);
  await enter(host, muted(meeting.hostRoomUrl), "Dr Host");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const quiet = await open("quiet");
  await enter(quiet, muted(meeting.roomUrl), "Quinn");
  await quiet.waitForSelector(".screen.call", { timeout: TIMEOUT });
  const loud = await opener(loudBrowser, t)("loud");
  await enter(loud, muted(meeting.roomUrl), "Lou");
  await loud.waitForSelector(".screen.call", { timeout: TIMEOUT });
  for (const page of [host, quiet, loud]) await page.waitForSelector("#microphone-toggle[aria-pressed=true]");
  await remoteVideosPlay(host, 2);
  await host.waitForTimeout(1500);
  const louId = await clientIdOf(loud);
  assert.deepEqual(heard, [], "nobody is named while everyone is muted");
  const unmutedAt = Date.now();
  await loud.click("#microphone-toggle");
  const deadline = unmutedAt + TIMEOUT;
  while (Date.now() < deadline && !heard.some((h) => h.at >= unmutedAt && h.clientId === louId)) await host.waitForTimeout(50);
  const named = heard.find((h) => h.at >= unmutedAt && h.clientId === louId);
  assert.ok(named, `Lou was never named dominant speaker: ${JSON.stringify(heard)}`);
  t.diagnostic(`unmuted → dominant speaker: ${named.at - unmutedAt} ms`);
  assert.ok(named.at - unmutedAt <= 2000, `named after ${named.at - unmutedAt} ms`);
  // The level Lou's browser put on his packets comes through the server: his tile is ringed.
  await host.waitForSelector(`.tile.speaking[data-client-id="${louId}"]`, { timeout: 3000 });
  // In speaker view, the host's stage features Lou.
  await host.click("#view-toggle");
  await host.waitForSelector(`.tile.featured[data-client-id="${louId}"]`, { timeout: 3000 });
  noPageErrors(host, quiet, loud);
});

/** The page's peer connections that are not closed. */
async function openConnections(page) {
  return page.evaluate(() => window.peerConnections.filter((pc) => pc.connectionState !== "closed").length);
}

/** The people on the page's stage, in the order of their tiles. */
async function tileOrder(page) {
  return page.$$eval(".stage .tile", (tiles) => tiles.map((tile) => tile.dataset.clientId));
}

/** No tile on any page waits for someone reconnecting (each back as themselves). */
async function nobodyAway(pages, when) {
  for (const page of pages) {
    await until(async () => ((await page.$$eval(".tile.away", (tiles) => tiles.length)) === 0 ? true : undefined), `${page.label}, ${when}: someone still away`);
  }
}

/** Every page decodes the others' videos through one connection, and the server holds one media path each. */
async function mediaThroughOnePathEach(pages, when) {
  await Promise.all(pages.map((page) => remoteVideosPlay(page, pages.length - 1)));
  for (const page of pages) assert.equal(await openConnections(page), 1, `${page.label}, ${when}: one peer connection`);
  await waitForMetric("anteroom_media_transports", pages.length);
}

test("a member's media path stalls with their signalling up: the others' tile of them says so until it is back", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  // Gus in a browser of its own, whose renderers can be stopped without stopping the others'.
  const gusBrowser = await stallableBrowser(t, "group-stall");
  const host = await openRecorded(open, "host");
  await enterAsHost(host, meeting);
  const tia = await openRecorded(open, "Tia");
  await enter(tia, meeting.roomUrl, "Tia");
  const gus = await newPage(gusBrowser.browser, "Gus");
  await gus.context().addInitScript(recordPeerConnections);
  await enter(gus, meeting.roomUrl, "Gus");
  await mediaThroughOnePathEach([host, tia, gus], "at first");
  const gusId = await gus.$eval(".tile.self", (tile) => tile.dataset.clientId);
  const gusTile = `.tile[data-client-id="${gusId}"]`;

  assert.ok(gusBrowser.stall() > 0, "Gus's browser's renderers were found");
  const stoppedAt = Date.now();
  // The server hears nothing from Gus for 6 s: the others are told, and his tile says so.
  for (const page of [host, tia]) {
    await page.waitForSelector(`${gusTile}.interrupted .tile-status:not([hidden])`, { timeout: 15000 });
    assert.equal(await page.locator(`${gusTile} .tile-status`).textContent(), "Connection interrupted");
    assert.equal(await page.locator(".tile.interrupted").count(), 1, `${page.label}: only Gus's tile, their own path is fine`);
  }
  console.log(`Gus's tile said so ${Date.now() - stoppedAt} ms after his browser stopped`);
  assert.equal(await host.locator(`${gusTile}.away`).count(), 0, "Gus's signalling held: not away");
  await screenshot(host, "group-member-interrupted");
  // Someone who comes in meanwhile is told too, with their new media path.
  const ned = await openRecorded(open, "Ned");
  await enter(ned, meeting.roomUrl, "Ned");
  await ned.waitForSelector(`${gusTile}.interrupted .tile-status:not([hidden])`, { timeout: TIMEOUT });

  gusBrowser.go();
  const resumedAt = Date.now();
  for (const page of [host, tia, ned]) await page.waitForSelector(`${gusTile}:not(.interrupted) .tile-status[hidden]`, { state: "attached", timeout: 30000 });
  console.log(`Gus's tile was clear ${Date.now() - resumedAt} ms after his browser went on`);
  await mediaThroughOnePathEach([host, tia, gus, ned], "after Gus's browser went on");
  noPageErrors(host, tia, ned);
});

test("a media path the server gave up on (its browser stood still 15 s): the page makes a new one as soon as it goes on", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  const gusBrowser = await stallableBrowser(t, "group-given-up");
  const host = await openRecorded(open, "host");
  await enterAsHost(host, meeting);
  const gus = await newPage(gusBrowser.browser, "Gus");
  await gus.context().addInitScript(recordPeerConnections);
  await enter(gus, meeting.roomUrl, "Gus");
  await mediaThroughOnePathEach([host, gus], "at first");
  const gusId = await gus.$eval(".tile.self", (tile) => tile.dataset.clientId);

  assert.ok(gusBrowser.stall() > 0, "Gus's browser's renderers were found");
  // No ICE check from Gus for 15 s: the server closes his transport (he stays in the room, his
  // signalling held by the browser's network process).
  await waitForMetric("anteroom_media_connections", 1, 30000);
  gusBrowser.go();
  const resumedAt = Date.now();
  // Told over his signalling that his media path is gone, Gus's page offers a new one at once,
  // rather than waiting for its own connection to fail (30 s after it last heard the server).
  const ms = await msUntilVideoFrom(host, gusId, resumedAt);
  console.log(`Gus's video was back on the host's page ${ms} ms after his browser went on`);
  assert.ok(ms < 6000, `Gus's video came back ${ms} ms after his browser went on`);
  await mediaThroughOnePathEach([host, gus], "after Gus's browser went on");
  noPageErrors(host, gus);
});

// Last in this file: it restarts the server the others share.
test("a group room's media comes back after a guest's network drop, a server restart and a crash, everyone in their place", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: false, roomMode: "group" });
  const host = await openRecorded(open, "host");
  await enterAsHost(host, meeting);
  const guests = [];
  for (const name of ["Gus", "Tia"]) {
    const guest = await openRecorded(open, name);
    await enter(guest, meeting.roomUrl, name);
    guests.push(guest);
  }
  const pages = [host, ...guests];
  await mediaThroughOnePathEach(pages, "at first");
  const places = await Promise.all(pages.map(tileOrder));

  // Long enough for the server to take Gus's transport for lost; his page makes a new one.
  const gus = guests[0];
  const gusId = await gus.$eval(".tile.self", (tile) => tile.dataset.clientId);
  const offlineAt = Date.now();
  await gus.context().setOffline(true);
  await gus.waitForSelector("#connection-banner:not([hidden])");
  // Meanwhile the others keep his tile in its place, saying he is reconnecting, and the host's
  // People panel says so too.
  const awayTile = `.tile.away[data-client-id="${gusId}"] .tile-status:not([hidden])`;
  for (const page of [host, guests[1]]) {
    await page.waitForSelector(awayTile, { timeout: 12000 });
    assert.deepEqual(await tileOrder(page), places[pages.indexOf(page)], `${page.label}'s tiles while Gus is away`);
  }
  await host.click("#people-toggle");
  const gusInPeople = await host.textContent(`#participants [data-client-id="${gusId}"] .role`);
  assert.match(gusInPeople, /reconnecting/, "the host's People panel says Gus is reconnecting");
  await screenshot(host, "group-guest-away");
  await host.click("#people-toggle");
  await gus.waitForTimeout(Math.max(0, 12000 - (Date.now() - offlineAt)));
  await gus.context().setOffline(false);
  await gus.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  await mediaThroughOnePathEach(pages, "after Gus's network came back");
  // Away for less than the server keeps a place (15 s), Gus is back as himself, in his place on
  // every stage (the others' too, where his tile went when his connection dropped).
  for (const [index, page] of pages.entries()) assert.deepEqual(await tileOrder(page), places[index], `${page.label}'s tiles after Gus's drop`);
  await nobodyAway(pages, "after Gus's drop");

  await server.restart();
  for (const page of pages) await page.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  await mediaThroughOnePathEach(pages, "after the server's restart");
  // Everyone is back as themselves, and keeps their place on every stage, though the server lists
  // people in the order they came back.
  for (const [index, page] of pages.entries()) assert.deepEqual(await tileOrder(page), places[index], `${page.label}'s tiles`);
  await nobodyAway(pages, "after the restart");
  await screenshot(host, "group-after-restart");

  // A crash: nobody is told anything; the rooms' kept states are all the new process has.
  await server.restart({ crash: true });
  for (const page of pages) await page.waitForSelector("#connection-banner", { state: "hidden", timeout: TIMEOUT });
  await mediaThroughOnePathEach(pages, "after the server's crash");
  for (const [index, page] of pages.entries()) assert.deepEqual(await tileOrder(page), places[index], `${page.label}'s tiles after the crash`);
  await nobodyAway(pages, "after the crash");
  await screenshot(host, "group-after-crash");

  // The server stands still until every page says so, and 2 s more: each page's one media path,
  // to it, goes quiet, and every other person's tile says so (their signalling stays open), until
  // media comes again.
  server.pause();
  try {
    for (const page of pages) {
      await page.waitForFunction(() => {
        const others = [...document.querySelectorAll(".stage .tile:not(.self)")];
        return others.length === 2 && others.every((tile) => tile.classList.contains("interrupted") && tile.querySelector(".tile-status").textContent === "Connection interrupted");
      }, null, { timeout: 20000 });
    }
    assert.equal(await host.locator(".tile.self.interrupted").count(), 0, "our own tile says nothing");
    await screenshot(host, "group-connection-interrupted");
    await host.waitForTimeout(2000);
  } finally {
    server.resume();
  }
  for (const page of pages) await page.waitForFunction(() => !document.querySelector(".stage .tile.interrupted"), null, { timeout: TIMEOUT });
  await mediaThroughOnePathEach(pages, "after the server stood still");
  await nobodyAway(pages, "after the server stood still");
  // The media that waited in its socket meanwhile was not forwarded, and was not taken for a
  // client sending more than its caps allow.
  assert.ok(await server.metric("anteroom_media_stale_packets_total") > 0, "stale media is counted");
  assert.equal(await server.metric("anteroom_media_over_cap_total"), 0, "nobody sent over their caps");
  noPageErrorsBut([/WebSocket connection to .* failed/], ...pages);
});
