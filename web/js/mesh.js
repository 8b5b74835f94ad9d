// Peer-to-peer media for normal rooms: one RTCPeerConnection per other member, negotiated through the
// server's relay (docs/protocol.md, "Media signalling"). For each pair, one side offers: a newcomer
// asks existing members for offers (`ready_to_receive_offer`), except that only non-viewers offer and
// two viewers never connect.

import { receivedLevel } from "./media.js";
import { SAMPLE_MS, countersOf, linkInterrupted, sampleOf } from "./netstats.js";

export class Mesh extends EventTarget {
  /** `screenTrack`: a screen already shared (a reconnect while sharing). */
  constructor({ signal, media, iceServers, selfRole, screenTrack = null }) {
    super();
    this.signal = signal;
    this.media = media;
    this.iceServers = iceServers;
    this.selfRole = selfRole;
    this.peers = new Map();
    this.screenTrack = screenTrack;
    // What the connections carried and lost, told to the server every 2 s for insights.
    this.counted = { at: performance.now(), counters: new Map() };
    this.sampling = setInterval(() => this.sample().catch((e) => console.warn("network sample failed", e)), SAMPLE_MS);
    this.offs = [
      // Asked again for an offer, or offered anew: that person started over (a reload, a reconnect),
      // so whatever connection we had with them is dropped first.
      signal.on("ready_to_receive_offer", ({ clientId }) => {
        this.drop(clientId);
        this.offerTo(clientId);
      }),
      signal.on("sdp_offer", ({ clientId, message }) => {
        if (this.peers.get(clientId)?.pc.remoteDescription) this.drop(clientId);
        this.answer(clientId, message);
      }),
      signal.on("sdp_answer", ({ clientId, message }) => this.peers.get(clientId)?.pc.setRemoteDescription(message).then(() => this.flushCandidates(clientId)).catch((e) => this.fail(clientId, e))),
      signal.on("ice_candidate", ({ clientId, message }) => this.addCandidate(clientId, message)),
    ];
  }

  /** Called for every member already in the room when we join. */
  meet(client) {
    const selfViewer = this.selfRole === "viewer";
    const theyViewer = client.role === "viewer";
    if (selfViewer && theyViewer) return;
    if (!selfViewer && theyViewer) this.offerTo(client.id);
    else this.signal.send("ready_to_receive_offer", { receiverId: client.id });
  }

  peer(clientId) {
    let peer = this.peers.get(clientId);
    if (peer) return peer;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    peer = { pc, stream: new MediaStream(), candidates: [] };
    this.peers.set(clientId, peer);
    pc.onicecandidate = (event) => {
      if (event.candidate) this.signal.send("ice_candidate", { receiverId: clientId, message: event.candidate.toJSON() });
    };
    pc.ontrack = (event) => {
      peer.stream.addTrack(event.track);
      this.dispatchEvent(new CustomEvent("stream", { detail: { clientId, stream: peer.stream } }));
    };
    pc.onconnectionstatechange = () => {
      if (this.peers.get(clientId)?.pc !== pc) return;
      const interrupted = linkInterrupted(pc.connectionState);
      if (interrupted !== null) this.dispatchEvent(new CustomEvent("link", { detail: { clientId, interrupted } }));
    };
    return peer;
  }

  localTrack(kind) {
    if (this.selfRole === "viewer") return null;
    if (kind === "video" && this.screenTrack) return this.screenTrack;
    return kind === "video" ? this.media.videoTrack : this.media.audioTrack;
  }

  async offerTo(clientId) {
    const { pc } = this.peer(clientId);
    try {
      // A sender is always there, even with the camera off, so that turning it on later needs no
      // new negotiation: only a track put in the sender.
      const sending = this.selfRole !== "viewer";
      for (const kind of ["audio", "video"]) {
        pc.addTransceiver(this.localTrack(kind) || kind, { direction: sending ? "sendrecv" : "recvonly", streams: [this.media.stream] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      this.signal.send("sdp_offer", { receiverId: clientId, message: pc.localDescription.toJSON() });
    } catch (error) {
      this.fail(clientId, error);
    }
  }

  async answer(clientId, offer) {
    const { pc } = this.peer(clientId);
    try {
      await pc.setRemoteDescription(offer);
      for (const transceiver of pc.getTransceivers()) {
        if (this.selfRole === "viewer") {
          transceiver.direction = "recvonly";
          continue;
        }
        await transceiver.sender.replaceTrack(this.localTrack(transceiver.receiver.track.kind));
        transceiver.sender.setStreams?.(this.media.stream);
        transceiver.direction = "sendrecv";
      }
      await pc.setLocalDescription(await pc.createAnswer());
      this.signal.send("sdp_answer", { receiverId: clientId, message: pc.localDescription.toJSON() });
      this.flushCandidates(clientId);
    } catch (error) {
      this.fail(clientId, error);
    }
  }

  addCandidate(clientId, candidate) {
    const peer = this.peer(clientId);
    if (!peer.pc.remoteDescription) {
      peer.candidates.push(candidate);
      return;
    }
    peer.pc.addIceCandidate(candidate).catch(() => {});
  }

  flushCandidates(clientId) {
    const peer = this.peers.get(clientId);
    if (!peer) return;
    for (const candidate of peer.candidates.splice(0)) peer.pc.addIceCandidate(candidate).catch(() => {});
  }

  /** Sends a different video track (screen share, or back to the camera) to everyone. */
  async useVideoTrack(track) {
    await this.eachSending("video", () => track);
  }

  /** After a device change: every sender gets the current track of its kind. */
  async refreshTracks() {
    await this.eachSending("audio", () => this.localTrack("audio"));
    await this.eachSending("video", () => this.localTrack("video"));
  }

  async eachSending(kind, pick) {
    for (const { pc } of this.peers.values()) {
      for (const transceiver of pc.getTransceivers()) {
        const sending = transceiver.direction === "sendrecv" || transceiver.direction === "sendonly";
        if (sending && transceiver.receiver.track.kind === kind) {
          await transceiver.sender.replaceTrack(pick()).catch(() => {});
        }
      }
    }
  }

  /** How loud each other person is (their audio packets say). */
  levels() {
    const levels = new Map();
    for (const [clientId, { pc }] of this.peers) {
      const audio = pc.getReceivers().find((receiver) => receiver.track.kind === "audio");
      if (audio) levels.set(clientId, receivedLevel(audio));
    }
    return levels;
  }

  drop(clientId) {
    const peer = this.peers.get(clientId);
    if (!peer) return;
    peer.pc.close();
    this.peers.delete(clientId);
    this.dispatchEvent(new CustomEvent("link", { detail: { clientId, interrupted: false } }));
  }

  fail(clientId, error) {
    console.warn(`media with ${clientId} failed`, error);
  }

  /** Tells the server what the connections carried and lost since the last sample. */
  async sample() {
    const pairs = [];
    const counters = new Map();
    for (const { pc } of this.peers.values()) {
      const now = countersOf(await pc.getStats());
      pairs.push([this.counted.counters.get(pc), now]);
      counters.set(pc, now);
    }
    const at = performance.now();
    const ms = at - this.counted.at;
    this.counted = { at, counters };
    // Alone in the room, there is nothing to measure.
    if (pairs.length) this.signal.send("network_sample", sampleOf(pairs, ms));
  }

  close() {
    clearInterval(this.sampling);
    this.offs.forEach((off) => off());
    for (const id of [...this.peers.keys()]) this.drop(id);
  }
}
