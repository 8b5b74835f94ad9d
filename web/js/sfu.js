// Media for group rooms: one RTCPeerConnection to the media server inside anteroom (docs/protocol.md,
// "Group rooms: the media server"). We offer once what we send (camera in simulcast layers,
// microphone; a viewer sends nothing and offers one inactive audio line only); the server answers.
// From then on it offers us receiving tracks ("slots", a few of each kind) when it needs more, and
// says with `sfu_slots` whose media each slot carries now; a slot moves from one person to another
// as people come, go, or speak.

import { receivedLevel } from "./media.js";
import { linkInterrupted } from "./netstats.js";

/**
 * The camera's simulcast layers: the server forwards each viewer the one that fits its tile.
 * Chromium encodes at most two layers below 960 px (it drops the top ones), so a 640 px camera
 * offers two, and a 720p one three.
 */
function layersFor(width) {
  if (width >= 960) {
    return [
      { rid: "l", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: "m", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: "h", scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
    ];
  }
  return [
    { rid: "l", scaleResolutionDownBy: 2, maxBitrate: 200_000 },
    { rid: "h", scaleResolutionDownBy: 1, maxBitrate: 800_000 },
  ];
}

export class Sfu extends EventTarget {
  /** `screenTrack`: a screen already shared (a reconnect while sharing). */
  constructor({ signal, media, iceServers, selfRole, screenTrack = null }) {
    super();
    this.signal = signal;
    this.media = media;
    this.iceServers = iceServers;
    this.selfRole = selfRole;
    this.screenTrack = screenTrack;
    this.streams = new Map();
    this.sent = new Map();
    this.slotTracks = new Map();
    this.slotOwners = new Map();
    // Those the server said it hears nothing from (`media_interrupted`).
    this.quiet = new Set();
    // Descriptions are applied one after another, in the order they came.
    this.queue = Promise.resolve();
    this.offs = [
      signal.on("sfu_answer", ({ sdp }) => this.forThisPath((pc) => pc.setRemoteDescription({ type: "answer", sdp }))),
      signal.on("sfu_offer", ({ sdp }) => this.forThisPath((pc) => this.answer(pc, sdp))),
      // The server closed our transport (it heard nothing from it for 15 s, or it failed there):
      // a new one now, not when this side gives the old one up (about 30 s after it last heard).
      signal.on("sfu_closed", () => this.connect()),
      // At once, not behind a negotiation under way: a newcomer usually comes on a slot already
      // negotiated (the spare one), and a busy page can take half a second to answer the offer
      // that adds the next spare. Slots whose tracks are not there yet are placed when they come
      // (`ontrack`).
      signal.on("sfu_slots", ({ slots }) => this.placeSlots(slots)),
      signal.on("dominant_speaker", ({ clientId }) => this.dispatchEvent(new CustomEvent("speaker", { detail: { clientId } }))),
      // The server heard nothing from someone's media path for a while (or hears it again).
      signal.on("media_interrupted", ({ clientId, interrupted }) => {
        if (interrupted) this.quiet.add(clientId);
        else this.quiet.delete(clientId);
        this.dispatchEvent(new CustomEvent("link", { detail: { clientId, interrupted: Boolean(interrupted) } }));
      }),
    ];
    this.connect();
  }

  serially(step) {
    this.queue = this.queue.then(step).catch((error) => console.warn("group media negotiation failed", error));
    return this.queue;
  }

  /** A step for the transport there is now: dropped if a new one has replaced it meanwhile. */
  forThisPath(step) {
    const pc = this.pc;
    return this.serially(() => (pc && pc === this.pc ? step(pc) : undefined));
  }

  connect() {
    this.pc?.close();
    // What the server said on the last transport is void: its word that someone is back may have
    // gone with it. On the new one it says again who is quiet then.
    for (const clientId of this.quiet) this.dispatchEvent(new CustomEvent("link", { detail: { clientId, interrupted: false } }));
    this.quiet.clear();
    this.streams.clear();
    this.sent.clear();
    this.slotTracks.clear();
    this.slotOwners.clear();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    if (this.selfRole === "viewer") {
      pc.addTransceiver("audio", { direction: "inactive" });
    } else {
      // Senders are there even with a device off, so turning it on needs no new negotiation.
      this.audio = pc.addTransceiver(this.localTrack("audio") || "audio", { direction: "sendonly", streams: [this.media.stream] });
      const camera = this.localTrack("video");
      const sendEncodings = layersFor(camera?.getSettings().width || 640);
      this.video = pc.addTransceiver(camera || "video", { direction: "sendonly", streams: [this.media.stream], sendEncodings });
      // A shared screen goes as a track of its own (the second video the server sees from us),
      // so the camera keeps going to those who show it.
      this.screen = pc.addTransceiver(this.screenTrack || "video", { direction: "sendonly", streams: [this.media.stream] });
    }
    pc.ontrack = (event) => {
      this.slotTracks.set(event.transceiver.mid, event.track);
      this.regroup();
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      // One path carries everyone's media: while it is down, it is down for all of them (a new
      // transport's own connecting says nothing until it is through).
      const interrupted = linkInterrupted(pc.connectionState);
      if (interrupted !== null) this.dispatchEvent(new CustomEvent("link", { detail: { clientId: null, interrupted } }));
      // The server lost us (a network change, its restart): start a new transport.
      // (Not queued behind itself: connect() queues its own offer.)
      if (pc.connectionState === "failed") this.connect();
    };
    return this.forThisPath(async () => {
      await pc.setLocalDescription(await pc.createOffer());
      this.signal.send("sfu_offer", { sdp: pc.localDescription.sdp });
    });
  }

  async answer(pc, sdp) {
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    // The server forgot the offer with the transport it was for.
    if (pc !== this.pc) return;
    this.signal.send("sfu_answer", { sdp: pc.localDescription.sdp });
  }

  placeSlots(slots) {
    this.slotOwners = new Map(slots.map((slot) => [slot.mid, slot]));
    this.regroup();
  }

  /**
   * Puts each slot's track in the stream of the person it carries now (their voice, and their
   * shared screen if any, else their camera); tells whose stream changed.
   */
  regroup() {
    const parts = new Map();
    for (const [mid, { clientId, kind }] of this.slotOwners) {
      const track = this.slotTracks.get(mid);
      if (!clientId || !track) continue;
      if (!parts.has(clientId)) parts.set(clientId, { audio: [], video: null, screen: null });
      const person = parts.get(clientId);
      if (kind === "audio") person.audio.push(track);
      else person[kind] = track;
    }
    const wanted = new Map();
    for (const [clientId, { audio, video, screen }] of parts) {
      wanted.set(clientId, [...audio, ...[screen || video].filter(Boolean)]);
    }
    for (const clientId of new Set([...wanted.keys(), ...this.streams.keys()])) {
      const tracks = wanted.get(clientId) || [];
      let stream = this.streams.get(clientId);
      if (!stream) {
        stream = new MediaStream();
        this.streams.set(clientId, stream);
      }
      const now = stream.getTracks();
      if (now.length === tracks.length && now.every((t) => tracks.includes(t))) continue;
      for (const old of now) if (!tracks.includes(old)) stream.removeTrack(old);
      for (const track of tracks) if (!now.includes(track)) stream.addTrack(track);
      // A fresh stream object, so that a video element showing it starts over with the new tracks.
      const fresh = new MediaStream(stream.getTracks());
      this.streams.set(clientId, fresh);
      this.dispatchEvent(new CustomEvent("stream", { detail: { clientId, stream: fresh } }));
    }
  }

  /** How loud each person heard is (the server forwards the level each packet came with). */
  levels() {
    const levels = new Map();
    if (!this.pc) return levels;
    for (const transceiver of this.pc.getTransceivers()) {
      const owner = this.slotOwners.get(transceiver.mid);
      if (owner?.kind !== "audio" || !owner.clientId) continue;
      levels.set(owner.clientId, receivedLevel(transceiver.receiver));
    }
    return levels;
  }

  /** The camera or microphone (a shared screen has its own sender). */
  localTrack(kind) {
    return kind === "video" ? this.media.videoTrack : this.media.audioTrack;
  }

  /** Everyone in a group room is reached through the server: nothing to do per person. */
  meet() {}

  drop() {}

  /**
   * How wide each person's video is shown (device pixels; 0 when not shown), for the server to send
   * the layer that fits; with lowData, half as wide (a smaller layer, fewer bits).
   */
  viewSizes(widths) {
    const scale = this.media.lowData ? 0.5 : 1;
    for (const [clientId, width] of widths) {
      const rounded = Math.round((width * scale) / 16) * 16;
      if (this.sent.get(clientId) === rounded) continue;
      this.sent.set(clientId, rounded);
      this.signal.send("sfu_view", { clientId, width: rounded });
    }
  }

  /** Sharing starts or stops (`screenTrack` set or cleared first): only the screen's sender changes. */
  async useVideoTrack() {
    await this.screen?.sender.replaceTrack(this.screenTrack).catch(() => {});
  }

  async refreshTracks() {
    await this.audio?.sender.replaceTrack(this.localTrack("audio")).catch(() => {});
    await this.video?.sender.replaceTrack(this.localTrack("video")).catch(() => {});
    await this.screen?.sender.replaceTrack(this.screenTrack).catch(() => {});
  }

  close() {
    this.offs.forEach((off) => off());
    this.pc?.close();
    this.pc = null;
  }
}
