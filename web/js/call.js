// The call: video tiles for everyone in the room, camera / microphone / screen-share toggles, chat,
// the People panel (with the knock queue for hosts), lock, leave and end-for-all.

import { h, replace, announce, toast, chime } from "./dom.js";
import { meterLevel } from "./media.js";
import { Mesh } from "./mesh.js";
import { PeoplePanel } from "./people.js";
import { applyColors, paintBackground } from "./door.js";

export class Call {
  constructor(root, { params, signal, media, iceServers, joined, bridge }) {
    this.root = root;
    this.params = params;
    this.signal = signal;
    this.media = media;
    this.bridge = bridge;
    this.selfId = joined.selfId;
    this.role = joined.role;
    this.host = joined.role === "host";
    this.locked = joined.room.isLocked;
    this.clients = new Map(joined.room.clients.map((c) => [c.id, c]));
    this.tiles = new Map();
    this.unreadChat = 0;
    this.unreadKnocks = 0;
    this.mesh = new Mesh({ signal, media, iceServers, selfRole: joined.role });
    this.mesh.addEventListener("stream", (e) => this.attachStream(e.detail.clientId, e.detail.stream));
    this.people = new PeoplePanel({ signal, host: this.host, selfId: this.selfId });
    this.build();
    this.applyTheme(joined.theme || {});
    this.people.setClients(this.clients);
    if (this.host) {
      this.people.setKnockers(joined.knockers || []);
      // Knocks made before this host arrived count as unread.
      this.unreadKnocks = (joined.knockers || []).length;
      this.showKnockBadge();
      if (this.unreadKnocks) announce(`${this.unreadKnocks} waiting to be let in`);
    }
    this.offs = this.listen();
    for (const client of this.clients.values()) {
      if (client.id !== this.selfId) this.mesh.meet(client);
    }
    window.anteroomTest = { tiles: () => this.tileStats(), selfId: this.selfId };
  }

  build() {
    const p = this.params;
    this.stage = h("div", { class: "stage", id: "stage" });
    this.chatList = h("ol", { class: "chat-list", id: "chat-list", "aria-live": "polite" });
    const chatInput = h("input", { type: "text", id: "chat-input", "aria-label": "Message", maxLength: 4000, placeholder: "Write a message" });
    this.chatPanel = h("aside", { class: "panel chat", id: "chat-panel", "aria-label": "Chat", hidden: true },
      h("h2", { text: "Chat" }),
      this.chatList,
      h("form", { class: "chat-form", onsubmit: (e) => {
        e.preventDefault();
        const text = chatInput.value.trim();
        if (text) this.signal.send("chat_message", { text });
        chatInput.value = "";
      } }, chatInput, h("button", { type: "submit", class: "primary", text: "Send" })));

    const viewer = this.role === "viewer";
    this.cameraButton = this.toggleButton("camera-toggle", "Camera", this.media.cameraOn, () => this.toggleCamera());
    this.micButton = this.toggleButton("microphone-toggle", "Microphone", this.media.microphoneOn, () => this.toggleMicrophone());
    this.cameraButton.classList.add("media-toggle");
    this.micButton.classList.add("media-toggle");
    this.shareButton = this.toggleButton("screenshare-toggle", "Share screen", false, () => this.toggleScreenshare());
    this.chatBadge = h("span", { class: "badge", hidden: true });
    this.peopleBadge = h("span", { class: "badge", id: "people-badge", hidden: true });
    this.chatButton = h("button", { type: "button", id: "chat-toggle", "aria-expanded": "false", onclick: () => this.togglePanel(this.chatPanel, this.chatButton) }, "Chat", this.chatBadge);
    this.peopleButton = h("button", { type: "button", id: "people-toggle", "aria-expanded": "false", onclick: () => this.togglePanel(this.people.element, this.peopleButton) }, "People", this.peopleBadge);
    this.lockButton = h("button", { type: "button", id: "lock-toggle", "aria-pressed": String(this.locked), onclick: () => this.signal.send("set_lock", { locked: !this.locked }) });
    this.endButton = h("button", { type: "button", class: "danger", id: "end-meeting", text: "End for all", onclick: () => this.confirmEnd() });
    const controls = h("nav", { class: "controls", "aria-label": "Call controls" },
      viewer ? null : this.cameraButton,
      viewer ? null : this.micButton,
      !viewer && p.screenshare && navigator.mediaDevices?.getDisplayMedia ? this.shareButton : null,
      p.chat ? this.chatButton : null,
      p.people || this.host ? this.peopleButton : null,
      this.host && p.locking ? this.lockButton : null,
      p.leaveButton ? h("button", { type: "button", class: "danger", id: "leave", text: "Leave", onclick: () => this.leave() }) : null,
      this.host ? this.endButton : null,
    );
    this.logo = h("img", { class: "room-logo small", id: "call-logo", alt: "", hidden: true });
    this.lockState = h("span", { class: "lock-state", id: "lock-state" });
    const header = p.minimal ? null : h("header", { class: "call-header" }, this.logo, h("span", { class: "room-title", text: this.params.roomName.slice(1) }), this.lockState);
    replace(this.root, h("section", { class: "screen call" }, header,
      h("div", { class: "call-body" }, this.stage, this.chatPanel, this.people.element), controls));
    this.addTile(this.selfId, this.clients.get(this.selfId), true);
    for (const client of this.clients.values()) if (client.id !== this.selfId) this.addTile(client.id, client, false);
    this.renderLock();
  }

  toggleButton(id, label, on, onclick) {
    const button = h("button", { type: "button", id, "aria-pressed": String(on), onclick });
    button.dataset.label = label;
    this.setToggle(button, on);
    return button;
  }

  setToggle(button, on) {
    button.setAttribute("aria-pressed", String(on));
    button.textContent = `${button.dataset.label} ${on ? "on" : "off"}`;
  }

  listen() {
    const s = this.signal;
    return [
      s.on("new_client", ({ client }) => {
        this.clients.set(client.id, client);
        this.addTile(client.id, client, false);
        this.people.setClients(this.clients);
        announce(`${client.displayName} joined`);
        this.bridge.emit("participant_join", { participant: client });
      }),
      s.on("client_left", ({ clientId, reason }) => {
        const client = this.clients.get(clientId);
        this.clients.delete(clientId);
        this.mesh.drop(clientId);
        this.tiles.get(clientId)?.remove();
        this.tiles.delete(clientId);
        this.people.setClients(this.clients);
        if (client) announce(`${client.displayName} left`);
        this.bridge.emit("participant_leave", { participantId: clientId, reason });
      }),
      s.on("room_locked", ({ isLocked }) => {
        this.locked = isLocked;
        this.renderLock();
        announce(isLocked ? "The room is now locked" : "The room is now unlocked");
      }),
      s.on("chat_message", (message) => this.addChat(message)),
      s.on("theme_updated", (theme) => this.applyTheme(theme)),
      s.on("room_knocked", (knock) => this.knocked(knock)),
      s.on("knock_handled", (resolution) => {
        if (!resolution.clientId) return;
        this.people.resolved(resolution);
        this.bridge.emit("knock_resolved", resolution);
      }),
      s.on("knocker_left", ({ clientId, reason }) => {
        this.people.left(clientId);
        this.bridge.emit("knock_resolved", { clientId, resolution: reason });
      }),
    ];
  }

  knocked(knock) {
    this.people.knocked(knock);
    chime();
    toast(`${knock.displayName} is knocking`);
    announce(`${knock.displayName} is knocking`);
    if (this.people.element.hidden) {
      this.unreadKnocks += 1;
      this.showKnockBadge();
    }
    this.bridge.emit("knock_received", knock);
  }

  showKnockBadge() {
    this.peopleBadge.hidden = this.unreadKnocks === 0;
    this.peopleBadge.textContent = String(this.unreadKnocks);
    this.peopleBadge.setAttribute("aria-label", `${this.unreadKnocks} waiting`);
  }

  renderLock() {
    this.lockButton.setAttribute("aria-pressed", String(this.locked));
    this.lockButton.textContent = this.locked ? "Unlock room" : "Lock room";
    this.lockState.textContent = this.locked ? "Locked" : "Open";
  }

  togglePanel(panel, button) {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden && panel === this.chatPanel) {
      this.unreadChat = 0;
      this.chatBadge.hidden = true;
    }
    if (!panel.hidden && panel === this.people.element) {
      this.unreadKnocks = 0;
      this.peopleBadge.hidden = true;
    }
  }

  addChat({ senderId, displayName, text, timestamp }) {
    const time = new Date(timestamp).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    this.chatList.append(h("li", { class: senderId === this.selfId ? "mine" : "" },
      h("span", { class: "chat-name", text: displayName }),
      h("time", { text: time }),
      h("p", { class: "chat-text", text })));
    this.chatList.scrollTop = this.chatList.scrollHeight;
    if (this.chatPanel.hidden && senderId !== this.selfId) {
      this.unreadChat += 1;
      this.chatBadge.hidden = false;
      this.chatBadge.textContent = String(this.unreadChat);
    }
  }

  addTile(clientId, client, self) {
    if (this.tiles.has(clientId)) return;
    const video = h("video", { autoplay: true, playsInline: true, muted: self, "aria-label": self ? "You" : client?.displayName || "Participant" });
    if (self) video.srcObject = this.media.stream;
    const tile = h("figure", { class: `tile${self ? " self" : ""}`, "data-client-id": clientId },
      video, h("figcaption", { text: self ? `${client?.displayName || "You"} (you)` : client?.displayName || "" }));
    tile.stats = { frames: 0, level: 0 };
    this.tiles.set(clientId, tile);
    this.stage.append(tile);
    this.countFrames(video, tile);
  }

  countFrames(video, tile) {
    if (!video.requestVideoFrameCallback) return;
    const count = () => {
      tile.stats.frames += 1;
      video.requestVideoFrameCallback(count);
    };
    video.requestVideoFrameCallback(count);
  }

  attachStream(clientId, stream) {
    const tile = this.tiles.get(clientId);
    if (!tile) return;
    const video = tile.querySelector("video");
    if (video.srcObject !== stream) video.srcObject = stream;
    if (this.media.speakerId && video.setSinkId) video.setSinkId(this.media.speakerId).catch(() => {});
    video.play().catch(() => {});
    const audio = stream.getAudioTracks()[0];
    if (audio && !tile.stopMeter) tile.stopMeter = meterLevel(audio, (v) => { tile.stats.level = v; });
  }

  tileStats() {
    return [...this.tiles.entries()].map(([clientId, tile]) => {
      const video = tile.querySelector("video");
      return { clientId, self: tile.classList.contains("self"), name: tile.querySelector("figcaption").textContent,
        frames: tile.stats.frames, width: video.videoWidth, height: video.videoHeight, level: tile.stats.level };
    });
  }

  applyTheme(theme) {
    applyColors(theme.colors);
    this.logo.hidden = !(this.params.logo && theme.logoUrl);
    if (theme.logoUrl) this.logo.src = theme.logoUrl;
    const shown = this.params.background;
    paintBackground(this.stage, shown ? theme.roomBackgroundUrl : null, shown ? theme.roomBackgroundPreset : null);
  }

  toggleCamera(enabled = !this.media.cameraOn) {
    this.media.setCamera(enabled);
    this.setToggle(this.cameraButton, enabled);
    this.bridge.emit("camera_toggle", { enabled });
  }

  toggleMicrophone(enabled = !this.media.microphoneOn) {
    this.media.setMicrophone(enabled);
    this.setToggle(this.micButton, enabled);
    this.bridge.emit("microphone_toggle", { enabled });
  }

  async toggleScreenshare() {
    if (this.mesh.screenTrack) {
      this.stopScreenshare();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = stream.getVideoTracks()[0];
      this.mesh.screenTrack = track;
      track.addEventListener("ended", () => this.stopScreenshare());
      await this.mesh.useVideoTrack(track);
      this.tiles.get(this.selfId).querySelector("video").srcObject = stream;
      this.setToggle(this.shareButton, true);
      this.bridge.emit("screenshare_toggle", { enabled: true });
    } catch {
      toast("Screen sharing was not started.");
    }
  }

  stopScreenshare() {
    const track = this.mesh.screenTrack;
    if (!track) return;
    this.mesh.screenTrack = null;
    track.stop();
    this.mesh.useVideoTrack(this.media.videoTrack);
    this.tiles.get(this.selfId).querySelector("video").srcObject = this.media.stream;
    this.setToggle(this.shareButton, false);
    this.bridge.emit("screenshare_toggle", { enabled: false });
  }

  confirmEnd() {
    if (this.endButton.dataset.armed) {
      this.signal.send("end_meeting", {});
      return;
    }
    this.endButton.dataset.armed = "1";
    this.endButton.textContent = "Confirm: end for everyone";
    setTimeout(() => {
      delete this.endButton.dataset.armed;
      this.endButton.textContent = "End for all";
    }, 5000);
  }

  leave() {
    this.signal.send("leave_room", {});
  }

  destroy() {
    this.offs.forEach((off) => off());
    this.mesh.close();
    for (const tile of this.tiles.values()) tile.stopMeter?.();
    this.stopScreenshare();
  }
}
