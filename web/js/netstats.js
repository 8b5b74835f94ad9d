// What this browser measured of its peer connections, for insights (docs/protocol.md, "Network
// samples"): a normal room's media goes browser to browser, so the server hears it from members.
// And whether a connection's media path is down, for the tiles of those it carries.

/** How often a sample is sent, each of the interval before it. */
export const SAMPLE_MS = 2000;

const KEYS = ["bytesSent", "bytesReceived", "packetsSent", "lostOut", "packetsReceived", "lostIn"];

/**
 * The counters a sample is made of, from one connection's stats report (an RTCStatsReport, or any
 * map of stats): bytes on the selected candidate pair, packets sent and lost on the way out (the
 * receiver's reports), packets received and lost on the way in.
 */
export function countersOf(report) {
  const counters = Object.fromEntries(KEYS.map((key) => [key, 0]));
  let selected = null;
  for (const stat of report.values()) if (stat.type === "transport" && stat.selectedCandidatePairId) selected = stat.selectedCandidatePairId;
  for (const stat of report.values()) {
    if (stat.type === "candidate-pair" && (selected ? stat.id === selected : stat.nominated && stat.state === "succeeded")) {
      counters.bytesSent += stat.bytesSent ?? 0;
      counters.bytesReceived += stat.bytesReceived ?? 0;
    } else if (stat.type === "outbound-rtp") {
      counters.packetsSent += stat.packetsSent ?? 0;
    } else if (stat.type === "remote-inbound-rtp") {
      counters.lostOut += Math.max(0, stat.packetsLost ?? 0);
    } else if (stat.type === "inbound-rtp") {
      counters.packetsReceived += stat.packetsReceived ?? 0;
      counters.lostIn += Math.max(0, stat.packetsLost ?? 0);
    }
  }
  return counters;
}

/**
 * The sample of the `ms` between each connection's counters before and after (`[before, after]`
 * pairs; a connection made since has no `before`): the `network_sample` payload.
 */
export function sampleOf(pairs, ms) {
  const grown = Object.fromEntries(KEYS.map((key) => [key, 0]));
  for (const [before, after] of pairs) {
    for (const key of KEYS) grown[key] += Math.max(0, after[key] - (before?.[key] ?? 0));
  }
  const bitrate = (bytes) => (ms > 0 ? Math.round((bytes * 8 * 1000) / ms) : 0);
  const percent = (lost, of) => (of > 0 ? Math.min(100, (100 * lost) / of) : 0);
  return {
    bitrateSend: bitrate(grown.bytesSent),
    bitrateRecv: bitrate(grown.bytesReceived),
    packetLossSend: percent(grown.lostOut, grown.packetsSent),
    packetLossRecv: percent(grown.lostIn, grown.lostIn + grown.packetsReceived),
  };
}

/**
 * What a peer connection's new state says of its media path: interrupted (no packets got through
 * lately: "disconnected", which comes back by itself, or "failed"), through again ("connected"), or
 * nothing yet (`null`: a connection being set up, or closed by us, says neither; a path that was
 * down stays so until one is through).
 */
export function linkInterrupted(connectionState) {
  if (connectionState === "connected") return false;
  if (connectionState === "disconnected" || connectionState === "failed") return true;
  return null;
}

/**
 * Whether this page's own media is not getting through, from what its links say (`links`: client id
 * to interrupted, `null` naming its path to the media server). In a group room (`group`), that path alone
 * counts (the others' marks are the server's word about their paths). In a normal room, every
 * peer-to-peer link must be down: one link down says more about that peer than about us.
 */
export function ownMediaDown(links, group) {
  if (group) return links.get(null) === true;
  const peers = [...links.values()];
  return peers.length > 0 && peers.every((interrupted) => interrupted);
}
