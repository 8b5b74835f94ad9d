// The call: a header (the room, how full it is, its lock, the invite link), the stage, the panels
// (People, Chat, Settings) and the controls. The screen is a grid of three rows, so the controls
// always have their own row and nothing on the stage can cover them. Media goes peer to peer in a
// normal room (mesh.js), through the media server in a group room (sfu.js); who is here comes from
// the server's frames through roster.js.

import { served } from "./base.js";
import { t, tn } from "./i18n.js";
import { h, icon, iconButton, replace, announce, toast, copyLink, compactWhenWrapped, drawUnlessShown, durationText } from "./dom.js";
import { Mesh } from "./mesh.js";
import { Sfu } from "./sfu.js";
import { Stage } from "./stage.js";
import { PeoplePanel } from "./people.js";
import { ChatPanel } from "./chat.js";
import { SettingsPanel } from "./settings.js";
import { Reactions } from "./reactions.js";
import { answerMediaAsk, deviceLost } from "./device-notes.js";
import { KnockNotices } from "./notify.js";
import { fromJoined, apply, participantsOf } from "./roster.js";
import { ownMediaDown } from "./netstats.js";
import { PictureInPicture } from "./pip.js";
import { RecordingControl } from "./recording-control.js";
import { ScreenShare } from "./screen-share.js";
import { heardServerTime } from "./server-clock.js";
import { ClosingNotice } from "./closing.js";
import { applyColors, leaveDoor, paintBackground, showLogo } from "./theme.js";

/** What an embedding page hears when a panel opens or closes (Whereby's events; none for settings). */
const PANEL_EVENTS = { people: "people_toggle", chat: "chat_toggle" };

/** Frames that change who is here or waiting. */
const ROSTER_FRAMES = ["new_client", "client_away", "client_left", "room_locked", "spotlight_changed", "recording_changed", "hand_changed", "room_knocked", "knock_handled", "knocker_away", "knocker_back", "knocker_left", "media_state"];

export class Call {
  /** `keptChat` (seat.js): where the chat is kept for a reload of the tab, and found after one. */
  constructor({ root, params, signal, media, iceServers, joined, bridge, keptChat = null }) {
    this.root = root;
    this.keptChat = keptChat;
    this.params = params;
    this.signal = signal;
    this.media = media;
    this.iceServers = iceServers;
    this.bridge = bridge;
    this.screen = new ScreenShare({ path: () => this.mesh, media, bridge, changed: () => this.mediaChanged() });
    this.unreadChat = 0;
    this.unseenKnocks = 0;
    this.openPanel = null;
    this.notices = new KnockNotices({ title: `${params.roomTitle} · anteroom`, openPeople: () => this.showPanel(this.people) });
    // Whereby's `timer`: how long this page has been in the call (a reconnect does not restart it).
    this.enteredAt = Date.now();
    this.clock = params.timer ? setInterval(() => this.showTime(), 1000) : null;
    this.pip = params.pipButton && params.topToolbar && PictureInPicture.supported()
      ? new PictureInPicture({ source: () => this.stage.pictureInPicture(), onToggle: (open) => this.bridge.emit("pip_toggle", { open }) })
      : null;
    // Kept through reconnects: a recording goes on while the page finds the room again.
    this.recording = new RecordingControl({ signal, bridge, roomTitle: params.roomTitle, offered: params.recording,
      nameOf: (id) => this.person(id)?.displayName, sources: () => this.stage.recordingSources(), ownAudio: () => this.media.audioTrack });
    this.closing = new ClosingNotice();
    leaveDoor();
    this.start(joined);
    this.offs = [
      ...ROSTER_FRAMES.map((kind) => signal.on(kind, (p) => this.rosterFrame(kind, p))),
      signal.on("chat_message", (message) => this.chatMessage(message)),
      signal.on("chat_message_removed", (p) => this.chat.removed(p)),
      signal.on("reaction", (p) => this.reacted(p)),
      signal.on("media_asked", (p) => this.mediaAsked(p)),
      signal.on("theme_updated", (theme) => this.applyTheme(theme)),
    ];
    this.onMediaTracks = () => this.mediaChanged();
    media.addEventListener("tracks", this.onMediaTracks);
    media.addEventListener("toggles", this.onMediaTracks);
    this.onSpeaker = () => this.stage.setSpeaker(this.media.speakerId);
    media.addEventListener("speaker", this.onSpeaker);
    this.onLost = (e) => deviceLost(this.media, e.detail);
    media.addEventListener("lost", this.onLost);
    this.onKey = (event) => {
      if (event.key === "Escape" && this.openPanel) {
        event.preventDefault();
        this.closePanel();
      }
    };
    document.addEventListener("keydown", this.onKey);
    this.onFullscreen = () => this.syncFullscreen();
    document.addEventListener("fullscreenchange", this.onFullscreen);
  }

  /** Builds the call for a `room_joined` (the first, or again after a reconnect). */
  start(joined) {
    // Back after a reconnect: the panel that was open stays open, and only knocks that came
    // meanwhile are announced (the host has seen the others; some are on hold).
    const reopen = this.openPanel ? this.panelName(this.openPanel) : null;
    const known = new Set(this.roster?.knockers.map((knock) => knock.clientId) ?? []);
    const again = Boolean(this.roster);
    heardServerTime(joined.serverTime);
    this.roster = fromJoined(joined);
    this.host = joined.role === "host";
    this.viewer = joined.role === "viewer";
    // Back after a reconnect, the people seen before keep their places on the stage, and the
    // person the view and the pin they chose.
    const placesBefore = this.stage?.placesKept() ?? [];
    const viewBefore = this.stage && { speaker: this.stage.mode === "speaker", pinned: this.stage.pinned };
    this.stage?.destroy();
    this.mesh?.close();
    // autoHideSelfView: one's own tile starts put away, and stays as the person left it across a
    // reconnect.
    const selfHidden = this.stage ? this.stage.selfHidden : this.params.autoHideSelfView;
    this.stage = new Stage({ selfId: this.roster.selfId, remoteLevels: () => this.mesh?.levels() ?? new Map(), placesBefore,
      floatSelf: this.params.floatSelf, hideSelf: this.params.autoHideSelfView, selfHidden,
      onSpotlight: this.host ? (id) => this.signal.send(this.roster.spotlights.includes(id) ? "remove_spotlight" : "add_spotlight", { clientId: id }) : null });
    this.stage.addEventListener("paged", (e) => this.syncPager(e.detail));
    this.people?.destroy();
    this.people = new PeoplePanel({ signal: this.signal, host: this.host, selfId: this.roster.selfId, capacity: this.roster.capacity, notices: this.notices });
    // The conversation so far stays through a reconnect, and a reload (the server keeps no chat to
    // send again).
    const firstChat = !this.chat;
    this.chat ??= new ChatPanel({ signal: this.signal, kept: this.keptChat });
    this.chat.selfId = this.roster.selfId;
    this.chat.host = this.host;
    if (firstChat) this.chat.restore();
    this.settings?.destroy();
    this.settings = new SettingsPanel({ media: this.media, viewer: this.viewer });
    this.people.onClose = () => this.closePanel();
    this.chat.onClose = () => this.closePanel();
    this.settings.onClose = () => this.closePanel();
    this.openPanel = null;
    this.build();
    this.stage.element.append(this.recording.badge);
    this.recording.entered({ selfId: this.roster.selfId, host: this.host, recordingType: joined.room?.recordingType, recording: joined.room?.recording });
    this.closing.watch(joined.room?.closesAt);
    this.reactions?.destroy();
    this.reactions = new Reactions({ button: this.params.reactions && this.params.bottomToolbar ? this.reactButton : null, stage: this.stage.element,
      send: (reaction) => this.signal.send("send_reaction", { reaction }) });
    // Group rooms go through the media server; normal rooms (four at most) peer to peer.
    const MediaPath = this.roster.mode === "group" ? Sfu : Mesh;
    // Sharing through a reconnect: the new connections send the screen, not the camera.
    this.mesh = new MediaPath({ signal: this.signal, media: this.media, iceServers: this.iceServers, selfRole: joined.role,
      screenTrack: this.screen.track });
    this.mesh.addEventListener("stream", (e) => {
      this.stage.setStream(e.detail.clientId, e.detail.stream);
      if (this.media.speakerId) this.stage.setSpeaker(this.media.speakerId);
    });
    this.mesh.addEventListener("speaker", (e) => this.stage.setDominant(e.detail.clientId));
    this.links = new Map();
    this.mesh.addEventListener("link", (e) => {
      this.stage.setInterrupted(e.detail.clientId, e.detail.interrupted);
      this.links.set(e.detail.clientId, e.detail.interrupted);
      this.reportLinks();
    });
    this.reportLinks();
    this.stage.addEventListener("placed", (e) => this.mesh.viewSizes?.(e.detail));
    this.applyTheme(joined.theme || {});
    this.render();
    if (viewBefore?.speaker) this.toggleView();
    if (viewBefore?.pinned && this.stage.order().includes(viewBefore.pinned)) this.stage.pin(viewBefore.pinned);
    // Whereby's autoSpotlight: a host entering (not coming back) puts themself in the spotlight.
    if (!again && this.host && this.params.autoSpotlight) this.signal.send("add_spotlight", { clientId: this.roster.selfId });
    for (const client of this.roster.clients) if (client.id !== this.roster.selfId && !client.away) this.mesh.meet(client);
    if (!this.viewer) {
      this.stage.setStream(this.roster.selfId, this.screen.stream || this.media.stream);
      // The devices may have changed since join_room said what they were.
      this.sendOwnMedia();
    }
    const waiting = new Set(this.roster.knockers.map((knock) => knock.clientId));
    for (const clientId of known) if (!waiting.has(clientId)) this.notices.handled(clientId);
    const fresh = this.roster.knockers.filter((knock) => !known.has(knock.clientId));
    this.unseenKnocks = Math.min((again ? this.unseenKnocks : 0) + fresh.length, waiting.size);
    if (fresh.length) announce(tn(fresh.length, "{count} waiting to be let in", "{count} waiting to be let in"));
    for (const knock of fresh) this.notices.knocked(knock);
    this.syncKnocks();
    // (To the embedding page it never closed: nothing to tell it.)
    if (reopen) this.showPanel(this[reopen], { tell: false });
    else this.title.focus();
  }

  build() {
    const p = this.params;
    this.logo = h("img", { class: "room-logo small", id: "call-logo", alt: "" });
    this.title = h("h1", { class: "room-title", tabindex: "-1", text: p.roomTitle });
    this.capacity = h("span", { class: "capacity", id: "capacity", title: t("People in the room, of how many fit") });
    this.lockState = h("span", { class: "lock-state", id: "lock-state" });
    // Not a viewer's: the guest link would let whoever they gave it to send media.
    const invite = this.viewer ? null : iconButton({ id: "copy-invite", name: "link", label: t("Copy invite link"), className: "secondary", onclick: () => this.copyInvite() });
    this.timer = p.timer ? h("span", { class: "call-timer", id: "call-timer", role: "timer", "aria-label": t("Time in the call") }) : null;
    const header = !p.topToolbar ? null : h("header", { class: "call-header" }, this.logo, this.title, this.timer, this.capacity, this.lockState, this.pip?.button, invite);

    const button = (options) => iconButton({ className: "control", ...options });
    this.micButton = button({ id: "microphone-toggle", name: "mic", label: "", onclick: () => this.toggleMicrophone() });
    this.cameraButton = button({ id: "camera-toggle", name: "video", label: "", onclick: () => this.toggleCamera() });
    this.shareButton = button({ id: "screenshare-toggle", name: "monitor-up", label: t("Share screen"), pressed: false, onclick: () => this.toggleScreenshare() });
    this.viewButton = button({ id: "view-toggle", name: "square-user-round", label: t("Speaker view"), pressed: false, onclick: () => this.toggleView() });
    this.peopleBadge = h("span", { class: "badge", id: "people-badge", hidden: true });
    this.chatBadge = h("span", { class: "badge", id: "chat-badge", hidden: true });
    this.peopleButton = button({ id: "people-toggle", name: "users", label: t("People"), expanded: false, controls: "people-panel", badge: this.peopleBadge, onclick: () => this.togglePanel(this.people) });
    this.chatButton = button({ id: "chat-toggle", name: "message-square", label: t("Chat"), expanded: false, controls: "chat-panel", badge: this.chatBadge, onclick: () => this.togglePanel(this.chat) });
    this.handButton = button({ id: "hand-toggle", name: "hand", label: t("Raise hand"), pressed: false, onclick: () => this.toggleHand() });
    this.reactButton = button({ id: "reactions-toggle", name: "smile-plus", label: t("React"), expanded: false, controls: "reaction-picker", onclick: () => this.reactions.toggle() });
    this.settingsButton = button({ id: "settings-toggle", name: "settings", label: t("Settings"), expanded: false, controls: "settings-panel", onclick: () => this.togglePanel(this.settings) });
    this.lockButton = button({ id: "lock-toggle", name: "lock", label: "", onclick: () => this.signal.send("set_lock", { locked: !this.roster.locked }) });
    this.fullscreenButton = button({ id: "fullscreen-toggle", name: "maximize", label: t("Full screen"), onclick: () => this.toggleFullscreen() });
    this.leaveButton = button({ id: "leave", name: "log-out", label: t("Leave"), className: "control danger", onclick: () => this.leave() });
    this.endButton = button({ id: "end-meeting", name: "phone-off", label: t("End for all"), className: "control danger", onclick: () => this.confirmEnd() });
    this.pager = h("div", { class: "pager", hidden: true },
      h("button", { type: "button", class: "icon-only", id: "page-previous", "aria-label": t("Previous page of people"), onclick: () => this.stage.turnPage(-1) }, icon("chevron-left")),
      h("span", { class: "page-number", id: "page-number" }),
      h("button", { type: "button", class: "icon-only", id: "page-next", "aria-label": t("Next page of people"), onclick: () => this.stage.turnPage(1) }, icon("chevron-right")));
    const canShare = !this.viewer && p.screenshare && Boolean(navigator.mediaDevices?.getDisplayMedia);
    const controls = h("nav", { class: "controls", "aria-label": t("Call controls") },
      h("div", { class: "control-group" },
        this.viewer ? null : this.micButton,
        this.viewer || !this.media.cameraAccess ? null : this.cameraButton,
        canShare ? this.shareButton : null,
        p.minimal ? null : this.handButton,
        p.reactions ? this.reactButton : null,
        this.host ? this.recording.button : null,
        p.settingsButton && SettingsPanel.useful({ viewer: this.viewer }) ? this.settingsButton : null),
      h("div", { class: "control-group" },
        this.pager,
        p.minimal ? null : this.viewButton,
        p.people || this.host ? this.peopleButton : null,
        p.chat ? this.chatButton : null,
        this.host && p.locking ? this.lockButton : null,
        document.fullscreenEnabled && !p.minimal ? this.fullscreenButton : null),
      // Without a leave button the embedding page leads the way out (its leave_room and
      // end_meeting commands), for hosts too.
      h("div", { class: "control-group" },
        p.leaveButton ? this.leaveButton : null,
        this.host && p.leaveButton ? this.endButton : null));
    this.body = h("div", { class: "call-body" }, this.stage.element, this.people.element, p.chat ? this.chat.element : null, this.settings.element);
    this.section = h("section", { class: "screen call", "data-screen": "call" }, header, this.body, p.bottomToolbar ? controls : null);
    replace(this.root, this.section);
    this.controlsFit?.disconnect();
    this.controlsFit = new ResizeObserver(() => compactWhenWrapped(controls));
    this.controlsFit.observe(controls);
    this.syncMediaButtons();
    this.showUnread();
    this.showTime();
  }

  showTime() {
    if (this.timer) this.timer.textContent = durationText(Date.now() - this.enteredAt);
  }

  /**
   * Draws what depends on the roster: tiles, the People panel, the header's counts, the lock; and
   * tells the embedding page how many are in the room (everyone the People panel lists).
   */
  render() {
    const { clients, locked, capacity } = this.roster;
    this.bridge.setParticipantCount(clients.length);
    const senders = participantsOf(clients);
    const self = this.roster.selfId;
    this.stage.sync(senders.map((c) => (c.id === self ? { ...c, media: this.media.state(this.screen.sharing) } : c)));
    this.stage.setSpotlights(this.roster.spotlights);
    const hands = this.roster.hands.map((x) => x.clientId);
    this.stage.setHands(hands);
    const raised = hands.includes(this.roster.selfId);
    this.handButton.setLabel("hand", raised ? t("Lower hand") : t("Raise hand"));
    this.handButton.setAttribute("aria-pressed", String(raised));
    this.people.update(this.roster);
    this.capacity.hidden = !this.host || !capacity || !this.params.participantCount;
    const counted = capacity ? t("{count} of {capacity}", { count: senders.length, capacity: capacity.participants }) : "";
    drawUnlessShown(this.capacity, counted, () => this.capacity.replaceChildren(...(capacity ? [icon("users"), h("span", { text: counted })] : [])));
    drawUnlessShown(this.lockState, String(locked), () => this.lockState.replaceChildren(icon(locked ? "lock" : "lock-open"), h("span", { text: locked ? t("Locked") : t("Open") })));
    this.lockButton.setLabel(locked ? "lock-open" : "lock", locked ? t("Unlock room") : t("Lock room"));
  }

  rosterFrame(kind, p) {
    const before = this.roster;
    this.roster = apply(this.roster, kind, p);
    switch (kind) {
      case "new_client": {
        const back = before.clients.find((c) => c.id === p.client.id)?.away;
        announce(back ? t("{name} is back", { name: p.client.displayName }) : t("{name} joined", { name: p.client.displayName }));
        if (!back) this.bridge.emit("participant_join", { participant: participantOf(p.client) });
        break;
      }
      case "client_away": {
        // Their connection dropped: their tile waits for them (the server keeps their place for
        // a while), without media until they are back.
        this.mesh.drop(p.clientId);
        this.forgetLink(p.clientId);
        const away = before.clients.find((c) => c.id === p.clientId);
        if (away) announce(t("{name} lost their connection", { name: away.displayName }));
        break;
      }
      case "client_left": {
        this.mesh.drop(p.clientId);
        this.forgetLink(p.clientId);
        const gone = before.clients.find((c) => c.id === p.clientId);
        if (gone) announce(p.reason === "kicked" ? t("{name} was removed", { name: gone.displayName }) : t("{name} left", { name: gone.displayName }));
        const participant = participantOf(gone ?? { id: p.clientId });
        this.bridge.emit("participant_leave", { participant, participantId: p.clientId, reason: p.reason });
        break;
      }
      case "room_locked":
        announce(p.isLocked ? t("The room is now locked") : t("The room is now unlocked"));
        break;
      case "hand_changed": {
        const person = this.person(p.clientId);
        if (!person || p.clientId === this.roster.selfId || !p.raised) break;
        const said = t("{name} raised their hand", { name: person.displayName });
        announce(said);
        // A host hears of it though the person's tile is on another page of a large room, and
        // People (which lists hands first) is one click away. One notice counts the hands up.
        if (this.host && this.people.element.hidden) {
          const others = this.roster.hands.filter((x) => x.clientId !== this.roster.selfId && x.clientId !== p.clientId).length;
          const text = others ? tn(others, "{name} and {count} other have raised their hands", "{name} and {count} others have raised their hands", { name: person.displayName }) : said;
          toast(text, { key: "hands", actions: [{ label: t("Open People"), run: () => this.showPanel(this.people) }] });
        }
        break;
      }
      case "spotlight_changed": {
        const now = this.roster.spotlights;
        const lit = this.person(now.find((id) => !before.spotlights.includes(id)));
        const out = this.person(before.spotlights.find((id) => !now.includes(id)));
        if (lit) announce(t("{name} is in the spotlight", { name: lit.displayName }));
        else if (now.length === 0) announce(t("Nobody is in the spotlight"));
        else if (out) announce(t("{name} is out of the spotlight", { name: out.displayName }));
        break;
      }
      case "recording_changed":
        this.recording.roomSays(p.recording ?? null);
        break;
      case "room_knocked":
        this.knocked(p);
        break;
      case "knock_handled":
        if (!p.clientId) return;
        this.notices.handled(p.clientId);
        this.bridge.emit("knock_resolved", p);
        break;
      case "knocker_left":
        this.notices.handled(p.clientId);
        this.bridge.emit("knock_resolved", { clientId: p.clientId, resolution: p.reason });
        break;
      default:
        break;
    }
    this.render();
    this.syncKnocks();
  }

  knocked(knock) {
    if (this.people.element.hidden) this.unseenKnocks += 1;
    // Said as the toast says it: in a burst, the last said counts those before.
    announce(this.notices.knocked(knock));
    this.bridge.emit("knock_received", knock);
  }

  syncKnocks() {
    if (!this.host) return;
    const waiting = this.roster.knockers.length;
    this.unseenKnocks = Math.min(this.unseenKnocks, waiting);
    this.peopleBadge.hidden = this.unseenKnocks === 0;
    this.peopleBadge.textContent = String(this.unseenKnocks);
    this.peopleBadge.setAttribute("aria-label", tn(this.unseenKnocks, "{count} waiting", "{count} waiting"));
    this.notices.setWaiting(waiting);
  }

  /** Someone in the room (present or away), by client id. */
  person(clientId) {
    return this.roster.clients.find((c) => c.id === clientId);
  }

  /** Everyone's reactions, one's own too; one of somebody no longer here is skipped. */
  reacted({ clientId, reaction }) {
    const sender = this.person(clientId);
    if (!sender) return;
    this.reactions.show(reaction, clientId === this.roster.selfId ? t("{name} (you)", { name: sender.displayName }) : sender.displayName);
  }

  /** A host asked something of this person's microphone or camera (device-notes.js). */
  mediaAsked({ ask, byClientId }) {
    const host = this.person(byClientId)?.displayName ?? t("A host");
    answerMediaAsk(ask, host, { media: this.media, setMicrophone: (on) => this.toggleMicrophone(on), setCamera: (on) => this.toggleCamera(on) });
  }

  chatMessage(message) {
    if (this.chat.add(message)) {
      this.unreadChat += 1;
      this.showUnread();
    }
  }

  showUnread() {
    this.chatBadge.hidden = this.unreadChat === 0;
    this.chatBadge.textContent = String(this.unreadChat);
    this.chatBadge.setAttribute("aria-label", tn(this.unreadChat, "{count} unread", "{count} unread"));
  }

  /** Tells an embedding page whether this page's media is getting through. */
  reportLinks() {
    this.bridge.setUnstable("media", ownMediaDown(this.links, this.roster.mode === "group"));
  }

  forgetLink(clientId) {
    this.links.delete(clientId);
    this.reportLinks();
  }

  /**
   * Opens (`open` true), closes (false) or toggles (undefined) a panel: "people", "chat" or
   * "settings" (for the embedding page: it may open one whose button it hid).
   */
  setPanel(name, open) {
    const panel = { people: this.people, chat: this.chat, settings: this.settings }[name];
    if (open ?? this.openPanel !== panel) this.showPanel(panel);
    else if (this.openPanel === panel) this.closePanel();
  }

  panelName(panel) {
    return panel === this.people ? "people" : panel === this.chat ? "chat" : "settings";
  }

  panelButton(panel) {
    return { people: this.peopleButton, chat: this.chatButton, settings: this.settingsButton }[this.panelName(panel)];
  }

  togglePanel(panel) {
    if (this.openPanel === panel) this.closePanel();
    else this.showPanel(panel);
  }

  /** Opens a panel (one at a time) and moves focus to its heading; `tell`s the embedding page. */
  showPanel(panel, { tell = true } = {}) {
    if (this.openPanel && this.openPanel !== panel) this.closePanel({ refocus: false });
    panel.element.hidden = false;
    this.openPanel = panel;
    this.section.classList.add("panel-open");
    this.panelButton(panel).setAttribute("aria-expanded", "true");
    const name = this.panelName(panel);
    if (tell && PANEL_EVENTS[name]) this.bridge.emit(PANEL_EVENTS[name], { open: true });
    if (name === "people") {
      this.people.shown();
      this.unseenKnocks = 0;
      this.syncKnocks();
    } else if (name === "chat") {
      this.unreadChat = 0;
      this.showUnread();
    } else {
      this.settings.shown();
    }
    panel.heading.focus();
  }

  /** Closes the open panel; focus goes back to the button that opened it. */
  closePanel({ refocus = true } = {}) {
    const panel = this.openPanel;
    if (!panel) return;
    panel.element.hidden = true;
    this.openPanel = null;
    this.section.classList.remove("panel-open");
    const button = this.panelButton(panel);
    button.setAttribute("aria-expanded", "false");
    const name = this.panelName(panel);
    if (PANEL_EVENTS[name]) this.bridge.emit(PANEL_EVENTS[name], { open: false });
    if (name === "settings") this.settings.hidden();
    if (refocus) button.focus();
  }

  syncPager({ page, pages }) {
    this.pager.hidden = pages <= 1;
    this.pager.querySelector("#page-number").textContent = `${page + 1} / ${pages}`;
  }

  syncMediaButtons() {
    // What the others get: a device wished on but not open (never allowed, or none found) is off.
    const { cameraLive: cameraOn, microphoneLive: microphoneOn } = this.media;
    this.micButton.setLabel(microphoneOn ? "mic" : "mic-off", microphoneOn ? t("Mute") : t("Unmute"));
    this.micButton.setAttribute("aria-pressed", String(!microphoneOn));
    this.cameraButton.setLabel(cameraOn ? "video" : "video-off", cameraOn ? t("Stop video") : t("Start video"));
    this.cameraButton.setAttribute("aria-pressed", String(!cameraOn));
    const sharing = this.screen.sharing;
    this.shareButton.setLabel(sharing ? "monitor-x" : "monitor-up", sharing ? t("Stop sharing") : t("Share screen"));
    this.shareButton.setAttribute("aria-pressed", String(sharing));
  }

  /** The camera or microphone changed: the others get the new track and are told. */
  mediaChanged() {
    this.syncMediaButtons();
    if (this.viewer) return;
    this.mesh.refreshTracks();
    const state = this.sendOwnMedia();
    this.stage.setMedia(this.roster.selfId, state);
    this.stage.setStream(this.roster.selfId, this.screen.stream || this.media.stream);
  }

  /** Tells the room what this page sends, and People (the server tells only the others). */
  sendOwnMedia() {
    const state = this.media.state(this.screen.sharing);
    this.signal.send("set_media_state", state);
    this.roster = apply(this.roster, "media_state", { clientId: this.roster.selfId, ...state });
    this.people.update(this.roster);
    return state;
  }

  /** Raises this person's hand, or lowers it. */
  toggleHand() {
    const raised = this.roster.hands.some((x) => x.clientId === this.roster.selfId);
    this.signal.send("set_hand", { raised: !raised });
  }

  async toggleCamera(enabled = !this.media.cameraLive) {
    await this.media.setCamera(enabled);
    this.bridge.emit("camera_toggle", { enabled: this.media.cameraLive });
  }

  async toggleMicrophone(enabled = !this.media.microphoneLive) {
    await this.media.setMicrophone(enabled);
    this.bridge.emit("microphone_toggle", { enabled: this.media.microphoneLive });
  }

  /** `enabled` absent: the other way round (the button); true or false: so (the embedding page's `toggleScreenshare`). */
  toggleScreenshare(enabled) {
    return this.screen.toggle(enabled);
  }

  toggleView() {
    const speaker = this.stage.mode !== "speaker";
    this.stage.setMode(speaker ? "speaker" : "grid");
    this.viewButton.setLabel(speaker ? "layout-grid" : "square-user-round", speaker ? t("Grid view") : t("Speaker view"));
    this.viewButton.setAttribute("aria-pressed", String(speaker));
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    // The whole page, not the call's section: what is drawn outside it (a knock's toast, the
    // connection banner) would not be seen in full screen.
    else document.documentElement.requestFullscreen().catch(() => toast(t("Full screen is not available here.")));
  }

  syncFullscreen() {
    const full = Boolean(document.fullscreenElement);
    this.fullscreenButton.setLabel(full ? "minimize" : "maximize", full ? t("Exit full screen") : t("Full screen"));
  }

  async copyInvite() {
    const link = `${window.location.origin}${served(this.params.roomName)}`;
    await copyLink(link, t("Invite link copied"), t("Invite link: {link}", { link }));
  }

  applyTheme(theme) {
    applyColors(theme.colors);
    showLogo(this.logo, theme.logoUrl, this.params);
    const shown = this.params.background;
    paintBackground(this.stage.element, shown ? theme.roomBackgroundUrl : null, shown ? theme.roomBackgroundPreset : null);
  }

  confirmEnd() {
    if (this.endButton.dataset.armed) {
      this.endMeeting();
      return;
    }
    this.endButton.dataset.armed = "1";
    this.endButton.setLabel("phone-off", t("Confirm: end for everyone"));
    setTimeout(() => {
      delete this.endButton.dataset.armed;
      this.endButton.setLabel("phone-off", t("End for all"));
    }, 5000);
  }

  /** Ends the meeting for everyone (hosts only: the server refuses anyone else). */
  endMeeting() {
    if (this.host) this.signal.send("end_meeting", {});
  }

  leave() {
    this.signal.send("leave_room", {});
  }

  destroy() {
    clearInterval(this.clock);
    this.closing.stop();
    this.pip?.destroy();
    this.offs.forEach((off) => off());
    this.media.removeEventListener("tracks", this.onMediaTracks);
    this.media.removeEventListener("toggles", this.onMediaTracks);
    this.media.removeEventListener("speaker", this.onSpeaker);
    this.media.removeEventListener("lost", this.onLost);
    this.settings.destroy();
    this.people.destroy();
    this.reactions.destroy();
    this.recording.destroy();
    this.controlsFit?.disconnect();
    document.removeEventListener("keydown", this.onKey);
    document.removeEventListener("fullscreenchange", this.onFullscreen);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    this.screen.stop();
    this.mesh.close();
    this.stage.destroy();
    this.notices.clear();
    this.bridge.setUnstable("media", false);
  }
}

/** A participant as an embedding page hears of it (Whereby's `participant`, and ours). */
function participantOf({ id, displayName, role, externalId, metadata, avatarUrl }) {
  return { id, displayName, role, ...(externalId && { externalId }), ...(metadata && { metadata }), ...(avatarUrl && { avatarUrl }) };
}
