// A browser's network samples (normal rooms): from stats reports to the `network_sample` payload.
import { test } from "node:test";
import assert from "node:assert/strict";

import { countersOf, linkInterrupted, ownMediaDown, sampleOf } from "../js/netstats.js";

/** A stats report as a browser gives one: stats by id. */
function report(stats) {
  return new Map(stats.map((stat) => [stat.id, stat]));
}

function connection({ sent, received, packetsSent, lostOut, packetsReceived, lostIn }) {
  return report([
    { id: "T", type: "transport", selectedCandidatePairId: "P1" },
    { id: "P1", type: "candidate-pair", nominated: true, state: "succeeded", bytesSent: sent, bytesReceived: received },
    // A pair tried and not chosen: its bytes are not counted.
    { id: "P2", type: "candidate-pair", nominated: false, state: "failed", bytesSent: 999, bytesReceived: 999 },
    { id: "OA", type: "outbound-rtp", kind: "audio", packetsSent: packetsSent / 2 },
    { id: "OV", type: "outbound-rtp", kind: "video", packetsSent: packetsSent / 2 },
    { id: "R", type: "remote-inbound-rtp", packetsLost: lostOut },
    { id: "I", type: "inbound-rtp", packetsReceived, packetsLost: lostIn },
  ]);
}

test("a sample is what each connection carried and lost in the interval, summed", () => {
  const before = countersOf(connection({ sent: 1000, received: 2000, packetsSent: 100, lostOut: 0, packetsReceived: 100, lostIn: 0 }));
  const after = countersOf(connection({ sent: 251000, received: 502000, packetsSent: 300, lostOut: 10, packetsReceived: 290, lostIn: 10 }));
  // A second connection made during the interval counts from nothing.
  const fresh = countersOf(connection({ sent: 250000, received: 0, packetsSent: 0, lostOut: 0, packetsReceived: 0, lostIn: 0 }));
  assert.deepEqual(sampleOf([[before, after], [undefined, fresh]], 2000), {
    bitrateSend: 2_000_000,
    bitrateRecv: 2_000_000,
    packetLossSend: 5,
    packetLossRecv: 5,
  });
});

test("counters that went back (a connection started over) and an empty interval give zeros, not negatives", () => {
  const before = countersOf(connection({ sent: 5000, received: 5000, packetsSent: 10, lostOut: 3, packetsReceived: 10, lostIn: 3 }));
  const after = countersOf(connection({ sent: 100, received: 100, packetsSent: 2, lostOut: 0, packetsReceived: 2, lostIn: 0 }));
  assert.deepEqual(sampleOf([[before, after]], 2000), { bitrateSend: 0, bitrateRecv: 0, packetLossSend: 0, packetLossRecv: 0 });
  assert.deepEqual(sampleOf([], 2000), { bitrateSend: 0, bitrateRecv: 0, packetLossSend: 0, packetLossRecv: 0 });
});

test("without a transport's selected pair, the nominated pair that succeeded counts", () => {
  const stats = report([
    { id: "P1", type: "candidate-pair", nominated: true, state: "succeeded", bytesSent: 10, bytesReceived: 20 },
    { id: "P2", type: "candidate-pair", nominated: false, state: "in-progress", bytesSent: 5, bytesReceived: 5 },
  ]);
  assert.equal(countersOf(stats).bytesSent, 10);
  assert.equal(countersOf(stats).bytesReceived, 20);
});

test("a media path is interrupted while disconnected or failed, and only a connection through ends it", () => {
  assert.equal(linkInterrupted("disconnected"), true);
  assert.equal(linkInterrupted("failed"), true);
  assert.equal(linkInterrupted("connected"), false);
  // A new transport while the old one is down: the tiles keep saying so until it is through.
  for (const state of ["new", "connecting", "closed"]) assert.equal(linkInterrupted(state), null, state);
});

test("a page's own media is down when its path to the media server is, or every peer link is", () => {
  const links = (entries) => new Map(entries);
  assert.equal(ownMediaDown(links([]), false), false, "no links yet");
  assert.equal(ownMediaDown(links([[null, true]]), true), true, "group room: its own path");
  assert.equal(ownMediaDown(links([[null, false], ["a", true]]), true), false, "group room: another's path only");
  assert.equal(ownMediaDown(links([["a", true], ["b", true]]), true), false, "group room: others' paths, its own not yet up");
  assert.equal(ownMediaDown(links([["a", true]]), false), true, "a call of two: the one link");
  assert.equal(ownMediaDown(links([["a", true], ["b", false]]), false), false, "one peer's trouble is theirs");
  assert.equal(ownMediaDown(links([["a", true], ["b", true]]), false), true, "every link down");
});
