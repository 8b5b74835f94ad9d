// The stage: one tile per person who sends media (name, muted microphone, initials when the camera
// is off, a ring while they speak), placed by layout.js so that tiles keep their aspect (taller on a
// phone held upright) and never overlap each other or the controls (but for one's own tile when
// it floats, `floatSelf`). A pinned person, a shared screen, the person a host put in the spotlight
// or (in speaker view) whoever speaks is featured large.

import { fillAvatar, h, icon, releaseVideo } from "./dom.js";
import { t } from "./i18n.js";
import { ASPECT, layout } from "./layout.js";
import { meterLevel } from "./media.js";

/** Louder than this (0..1) counts as speaking. */
const SPEAKING = 0.06;
/** Room kept clear around the tiles, in CSS pixels. */
const INSET = 8;
/** Milliseconds a level takes to fade, so a ring does not flicker between words. */
const HOLD_MS = 600;

/** A tile's latest level; loud enough, it counts as speaking from `now` for a while. */
function heard(tile, level, now) {
  tile.level = level;
  if (level > SPEAKING) tile.loudAt = now;
}

export class Stage extends EventTarget {
  /**
   * @param remoteLevels returns how loud each other person is (clientId → 0..1), from the levels
   *   their browsers put on their audio packets (RFC 6464): no audio is decoded twice to meter it.
   * @param placesBefore the ids of the tiles of the stage this one replaces (a reconnect), in
   *   order: those people keep their places, though the server lists them as they came back.
   * @param floatSelf one's own tile small in a corner, over the others (Whereby's `floatSelf`),
   *   unless it is the one featured.
   * @param hideSelf with `floatSelf`, that tile may be put away behind an arrow (Whereby's
   *   `autoHideSelfView`), which brings it back; `selfHidden`: it is away now.
   * @param onSpotlight for a host: each tile has a button that puts its person in the spotlight (or
   *   takes them out), and this is called with their id.
   */
  constructor({ selfId, remoteLevels = () => new Map(), placesBefore = [], floatSelf = false, hideSelf = false, selfHidden = false, onSpotlight = null }) {
    super();
    this.selfId = selfId;
    this.onSpotlight = onSpotlight;
    this.floatSelf = floatSelf;
    this.canHideSelf = floatSelf && hideSelf;
    this.selfHidden = this.canHideSelf && selfHidden;
    // Each person's place, kept after they are gone: someone back after a network drop (theirs,
    // or ours) takes the place they had; a newcomer goes last.
    this.places = new Map(placesBefore.map((id, index) => [id, index]));
    this.remoteLevels = remoteLevels;
    this.tiles = new Map();
    this.mode = "grid";
    this.pinned = null;
    // Whom a host put in the spotlight for everyone (not featured on their own screen).
    this.spotlights = [];
    this.current = 0;
    this.pages = 1;
    this.activeSpeaker = null;
    // Whose media path is interrupted (`setInterrupted`).
    this.interrupted = new Set();
    this.everyoneInterrupted = false;
    this.element = h("div", { class: "stage", id: "stage", role: "region", "aria-label": t("Participants' videos") });
    this.reveal = h("button", { type: "button", class: "self-reveal", id: "self-reveal", hidden: true, title: t("Show your picture"), "aria-label": t("Show your picture"), onclick: () => this.hideSelf(false) }, icon("chevron-left"));
    // A viewer come early (or among viewers only) sees no tile at all: an empty stage says why.
    this.empty = h("p", { class: "stage-empty", id: "stage-empty", hidden: true, text: t("The meeting will show here when someone joins.") });
    this.element.append(this.reveal, this.empty);
    // The stage's size, read where layout is fresh anyway: reading it on every change of a large
    // room would make the browser lay the page out each time.
    this.resize = new ResizeObserver(() => {
      this.size = null;
      this.relayout();
    });
    this.resize.observe(this.element);
    this.speakingTimer = setInterval(() => this.updateSpeaking(), 100);
  }

  /**
   * The tiles of these people (those who send media; viewers have none): new ones added, gone ones
   * removed, names and media brought up to date; then one layout for all.
   */
  sync(clients) {
    // The stage's size is read before tiles are added: the browser then lays out a page without
    // them (a room of 200 entered: 199 tiles laid out once more, some 100 ms, for this one read).
    if (this.element.isConnected) this.size ??= this.measure();
    const present = new Set(clients.map((c) => c.id));
    const added = clients.some((c) => !this.tiles.has(c.id));
    // A roster change makes a new object of the person it changes only (roster.js): in a large
    // room one person's microphone does not rewrite everyone's tile.
    for (const client of clients) if (this.tiles.get(client.id)?.client !== client) this.put(client);
    for (const id of [...this.tiles.keys()]) if (!present.has(id)) this.drop(id);
    if (added) this.keepPlaces();
    this.relayout();
  }

  /**
   * People come back one by one, after their drop or ours (a restarted server lists them as they
   * came): each is put back in the place it had; newcomers go after everyone, as they came.
   */
  keepPlaces() {
    const ids = this.order();
    for (const id of ids) if (!this.places.has(id)) this.places.set(id, this.places.size);
    const placed = [...ids].sort((a, b) => this.places.get(a) - this.places.get(b));
    if (placed.every((id, index) => id === ids[index])) return;
    this.tiles = new Map(placed.map((id) => [id, this.tiles.get(id)]));
    // In the page, too: the order a screen reader reads them in.
    for (const tile of this.tiles.values()) this.element.append(tile.root);
  }

  put(client) {
    let tile = this.tiles.get(client.id);
    if (!tile) {
      tile = this.createTile(client);
      this.tiles.set(client.id, tile);
      this.element.append(tile.root);
    }
    tile.client = client;
    tile.name.textContent = client.id === this.selfId ? t("{name} (you)", { name: client.displayName }) : client.displayName;
    // A long name is cut short on a small tile: the whole of it on hover.
    tile.name.title = tile.name.textContent;
    fillAvatar(tile.avatar, client);
    this.labelPin(tile, this.pinned === client.id);
    this.labelSpotlight(tile, Boolean(tile.spotlit));
    this.applyMedia(tile, client.media || { audio: true, video: true, screen: false });
    this.setAway(tile, Boolean(client.away));
    this.showStatus(tile);
  }

  /**
   * The media path to these people (null: to everyone else, the one path to the media server) was
   * interrupted, or is back: their tiles say so while their video stands still, though their
   * signalling connection (and so their place in the room) holds.
   */
  setInterrupted(clientId, interrupted) {
    if (clientId === null) this.everyoneInterrupted = interrupted;
    else if (interrupted) this.interrupted.add(clientId);
    else this.interrupted.delete(clientId);
    for (const tile of this.tiles.values()) this.showStatus(tile);
  }

  /** A tile's status: reconnecting (away) comes first, then an interrupted media path. */
  showStatus(tile) {
    const interrupted = !tile.self && !tile.away && (this.everyoneInterrupted || this.interrupted.has(tile.clientId));
    tile.root.classList.toggle("interrupted", interrupted);
    tile.statusText.textContent = tile.away ? t("Reconnecting…") : interrupted ? t("Connection interrupted") : "";
    tile.status.hidden = !tile.away && !interrupted;
  }

  /** Away (their connection dropped): the tile keeps their place and says so, without media. */
  setAway(tile, away) {
    if (tile.away === away) return;
    tile.away = away;
    tile.root.classList.toggle("away", away);
    if (away) {
      tile.video.srcObject = null;
      tile.loudAt = 0;
    }
  }

  createTile(client) {
    const self = client.id === this.selfId;
    const video = h("video", { autoplay: true, playsInline: true, muted: self });
    const name = h("span", { class: "tile-name" });
    const muted = h("span", { class: "tile-muted", title: t("Microphone off") }, icon("mic-off"), h("span", { class: "visually-hidden", text: t("microphone off") }));
    const spotlit = h("span", { class: "tile-spotlit", title: t("In the spotlight") }, icon("star"), h("span", { class: "visually-hidden", text: t("in the spotlight") }));
    const hand = h("span", { class: "tile-hand", title: t("Hand raised") }, icon("hand"), h("span", { class: "visually-hidden", text: t("hand raised") }));
    const avatar = h("span", { class: "avatar", "aria-hidden": "true" });
    const pin = h("button", { type: "button", class: "tile-pin", onclick: () => this.pin(this.pinned === client.id ? null : client.id) });
    const spotlight = this.onSpotlight ? h("button", { type: "button", class: "tile-spotlight", onclick: () => this.onSpotlight(client.id) }) : null;
    const putAway = self && this.canHideSelf
      ? h("button", { type: "button", class: "tile-hide", id: "self-hide", title: t("Hide your picture"), "aria-label": t("Hide your picture"), onclick: () => this.hideSelf(true) }, icon("chevron-right"))
      : null;
    // Their picture or initials stand in until a picture comes (a camera's first frame takes a
    // moment; in a large group room the media server sends 25 videos, not everyone's).
    const shows = () => root.classList.toggle("picture", video.videoWidth > 0);
    for (const event of ["resize", "loadeddata", "emptied"]) video.addEventListener(event, shows);
    const statusText = h("span", { class: "tile-status-text" });
    const status = h("span", { class: "tile-status", hidden: true }, icon("wifi-off"), statusText);
    const root = h("figure", { class: `tile${self ? " self" : ""}`, "data-client-id": client.id },
      avatar, status, h("figcaption", {}, hand, spotlit, muted, name), spotlight, pin, putAway);
    return { clientId: client.id, client, root, video, name, avatar, status, statusText, pin, spotlight, level: 0, loudAt: 0, media: null, stopMeter: null, self, away: false, spotlit: false, raised: false };
  }

  drop(clientId) {
    const tile = this.tiles.get(clientId);
    if (!tile) return;
    tile.stopMeter?.();
    releaseVideo(tile.video);
    tile.root.remove();
    this.tiles.delete(clientId);
    this.interrupted.delete(clientId);
    if (this.pinned === clientId) this.pinned = null;
    if (this.activeSpeaker === clientId) this.activeSpeaker = null;
  }

  /** Someone's microphone, camera or screen changed: a shared screen moves to the large stage. */
  setMedia(clientId, media) {
    const tile = this.tiles.get(clientId);
    if (!tile) return;
    const sharing = tile.media?.screen;
    this.applyMedia(tile, media);
    if (sharing !== tile.media.screen) this.relayout();
  }

  applyMedia(tile, media) {
    tile.media = { audio: Boolean(media.audio), video: Boolean(media.video), screen: Boolean(media.screen) };
    tile.root.classList.toggle("mic-off", !tile.media.audio);
    tile.root.classList.toggle("camera-off", !tile.media.video);
    // Not "screen": that is the class of the app's screens (precall, door, call), whose style would
    // apply to the tile too.
    tile.root.classList.toggle("shared-screen", tile.media.screen);
  }

  labelPin(tile, pinned) {
    const label = pinned ? t("Unpin {name}", { name: tile.client.displayName }) : t("Pin {name}", { name: tile.client.displayName });
    if (tile.pin.getAttribute("aria-label") === label) return;
    tile.pin.setAttribute("aria-pressed", String(pinned));
    tile.pin.setAttribute("aria-label", label);
    tile.pin.replaceChildren(icon(pinned ? "pin-off" : "pin"));
  }

  /** The media coming from someone (or one's own camera or screen). */
  setStream(clientId, stream) {
    const tile = this.tiles.get(clientId);
    if (!tile) return;
    // The tile's video goes in the page with the first media for it: putting a <video> in a page
    // takes Chromium a millisecond or so, and in a large group room most people's media never
    // comes here (the media server sends 25 videos and the 10 loudest voices).
    if (!tile.video.isConnected) tile.root.prepend(tile.video);
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    tile.video.play().catch(() => {});
    if (tile.self) this.watchOwnLevel(tile, stream);
  }

  /** One's own microphone has no packets received to read a level from: it is metered here. */
  watchOwnLevel(tile, stream) {
    const track = stream?.getAudioTracks()[0] || null;
    if (tile.meteredTrack === track) return;
    tile.stopMeter?.();
    tile.meteredTrack = track;
    tile.stopMeter = meterLevel(track, (level) => heard(tile, level, performance.now()));
  }

  /** Sends every remote tile's sound to the chosen speaker. */
  setSpeaker(deviceId) {
    for (const tile of this.tiles.values()) {
      if (!tile.self && deviceId && tile.video.setSinkId) tile.video.setSinkId(deviceId).catch(() => {});
    }
  }

  updateSpeaking() {
    const now = performance.now();
    for (const [id, level] of this.remoteLevels()) {
      const tile = this.tiles.get(id);
      if (tile && !tile.self) heard(tile, level, now);
    }
    let loudest = null;
    for (const [id, tile] of this.tiles) {
      const speaking = Boolean(tile.media?.audio) && now - tile.loudAt < HOLD_MS;
      tile.root.classList.toggle("speaking", speaking);
      if (speaking && !tile.self && (!loudest || tile.level > loudest.level)) loudest = { id, level: tile.level };
    }
    // In a group room the server says who speaks (setDominant); its word is not overruled here.
    if (!this.dominant && loudest && loudest.id !== this.activeSpeaker) {
      this.activeSpeaker = loudest.id;
      if (this.mode === "speaker" && !this.pinned && this.spotlights.length === 0 && !this.sharer()) this.relayout();
    }
  }

  /** Who speaks, as the media server hears it (group rooms): featured in speaker view. */
  setDominant(clientId) {
    if (clientId === this.selfId || clientId === this.activeSpeaker || !this.tiles.has(clientId)) return;
    this.dominant = clientId;
    this.activeSpeaker = clientId;
    if (this.mode === "speaker" && !this.pinned && this.spotlights.length === 0 && !this.sharer()) this.relayout();
  }

  setMode(mode) {
    this.mode = mode;
    this.current = 0;
    this.relayout();
  }

  /** Puts one's own floating tile away behind an arrow, or brings it back. */
  hideSelf(hidden) {
    this.selfHidden = hidden;
    this.relayout();
    (hidden ? this.reveal : this.tiles.get(this.selfId)?.root.querySelector(".tile-hide"))?.focus();
  }

  pin(clientId) {
    this.pinned = clientId;
    for (const [id, tile] of this.tiles) this.labelPin(tile, id === clientId);
    this.relayout();
  }

  /** A host's button on the tile: its name says what it will do. */
  labelSpotlight(tile, spotlit) {
    if (!tile.spotlight) return;
    const label = spotlit ? t("Take {name} out of the spotlight", { name: tile.client.displayName }) : t("Put {name} in the spotlight", { name: tile.client.displayName });
    if (tile.spotlight.getAttribute("aria-label") === label) return;
    tile.spotlight.setAttribute("aria-pressed", String(spotlit));
    tile.spotlight.setAttribute("aria-label", label);
    tile.spotlight.title = label;
    tile.spotlight.replaceChildren(icon(spotlit ? "star-off" : "star"));
  }

  /** Who is in the spotlight (in the order put there). */
  setSpotlights(clientIds) {
    // Everyone's tile of those people says so, their own too; only the others feature them.
    // (Written where it changed: a large room comes here on its every change.)
    for (const [id, tile] of this.tiles) {
      const spotlit = clientIds.includes(id);
      if (tile.spotlit === spotlit) continue;
      tile.spotlit = spotlit;
      tile.root.classList.toggle("spotlit", spotlit);
      this.labelSpotlight(tile, spotlit);
    }
    const spotlights = clientIds.filter((id) => id !== this.selfId);
    if (spotlights.join() === this.spotlights.join()) return;
    this.spotlights = spotlights;
    this.relayout();
  }

  /** Whose hands are up: their tiles say so. */
  setHands(clientIds) {
    for (const [id, tile] of this.tiles) {
      const raised = clientIds.includes(id);
      if (tile.raised !== raised) tile.root.classList.toggle("hand-raised", (tile.raised = raised));
    }
  }

  turnPage(delta) {
    this.current = Math.max(0, Math.min(this.pages - 1, this.current + delta));
    this.relayout();
  }

  sharer() {
    for (const [id, tile] of this.tiles) if (tile.media?.screen) return id;
    return null;
  }

  /**
   * What a picture-in-picture window shows: someone else, as featured here (a pin, a shared screen,
   * who speaks), else the first with a picture; one's own when alone.
   */
  pictureInPicture() {
    const shown = (id) => {
      const tile = id && this.tiles.get(id);
      return tile && !tile.self && tile.video.srcObject ? tile : null;
    };
    const others = [...this.tiles.values()].filter((tile) => !tile.self && tile.video.srcObject);
    const tile = shown(this.pinned) || shown(this.sharer()) || shown(this.spotlights[0]) || shown(this.activeSpeaker)
      || others.find((other) => other.video.srcObject.getVideoTracks().length > 0) || others[0] || this.tiles.get(this.selfId);
    return tile?.video.srcObject || null;
  }

  /**
   * Who is large: a pin first, then a shared screen (what is shown is what people need to see),
   * then those in the spotlight, then (speaker view) who speaks.
   */
  featuredIds(order) {
    if (this.pinned && this.tiles.has(this.pinned)) return [this.pinned];
    const sharer = this.sharer();
    if (sharer) return [sharer];
    const spotlit = this.spotlights.filter((id) => order.includes(id));
    if (spotlit.length > 0) return spotlit;
    if (this.mode !== "speaker" || order.length < 2) return [];
    if (this.activeSpeaker && this.tiles.has(this.activeSpeaker)) return [this.activeSpeaker];
    const other = order.find((id) => id !== this.selfId);
    return other ? [other] : [];
  }

  /**
   * What a recording of the call shows (recorder.js), in the stage's order: each person's name,
   * the element playing their media, whether it has a picture, and whether it is featured.
   */
  recordingSources() {
    const order = this.order();
    const featured = this.featuredIds(order);
    return order.map((id) => {
      const tile = this.tiles.get(id);
      return { id, name: tile.client.displayName, video: tile.video, self: tile.self, featured: featured.includes(id),
        showing: Boolean(tile.media?.video) && !tile.away, screen: Boolean(tile.media?.screen) };
    });
  }

  /** The room the tiles have, read from the page (which lays itself out to answer). */
  measure() {
    return { width: this.element.clientWidth - 2 * INSET, height: this.element.clientHeight - 2 * INSET };
  }

  relayout() {
    const order = this.order().filter((id) => !(this.selfHidden && id === this.selfId));
    this.reveal.hidden = !(this.selfHidden && this.tiles.has(this.selfId));
    this.empty.hidden = this.tiles.size > 0;
    const featured = this.featuredIds(order);
    this.size ??= this.measure();
    const size = this.size;
    const ratio = window.devicePixelRatio || 1;
    const options = {
      featured: featured.map((id) => order.indexOf(id)),
      page: this.current,
      // A shared screen is shown whole (not cropped): its tile keeps the video's aspect.
      wholeFeatured: featured.length === 1 && Boolean(this.tiles.get(featured[0])?.media?.screen),
      floating: this.floatSelf && order.includes(this.selfId) ? order.indexOf(this.selfId) : null,
    };
    // A large room comes here on its every change, most of which (a microphone, a hand) move no
    // tile: then only the widths are told again (a new media path waits for them).
    const screens = order.filter((id) => this.tiles.get(id).media?.screen);
    const inputs = JSON.stringify([size, ratio, order, options, screens, this.tiles.size]);
    if (inputs === this.laidOut) {
      this.dispatchEvent(new CustomEvent("placed", { detail: this.widths }));
      return;
    }
    this.laidOut = inputs;
    const placed = layout(size, order.length, options);
    this.current = placed.page;
    this.pages = Math.max(1, placed.pages);
    const shown = new Map(placed.tiles.map((rect) => [order[rect.index], rect]));
    for (const [id, tile] of this.tiles) {
      const rect = shown.get(id);
      tile.root.hidden = !rect;
      tile.root.classList.toggle("featured", Boolean(rect?.featured));
      tile.root.classList.toggle("floating", Boolean(rect?.floating));
      if (!rect) continue;
      // Unchanged places are not written again (a large room lays out on every change).
      const place = `${rect.x},${rect.y},${rect.width},${rect.height}`;
      if (tile.place === place) continue;
      tile.place = place;
      const style = tile.root.style;
      style.left = `${rect.x + INSET}px`;
      style.top = `${rect.y + INSET}px`;
      style.width = `${rect.width}px`;
      style.height = `${rect.height}px`;
      tile.root.classList.toggle("small", rect.width < 260);
    }
    this.dispatchEvent(new CustomEvent("paged", { detail: { page: this.current, pages: this.pages } }));
    // How wide each other person's video is drawn, in device pixels (0: not on this page): a camera
    // tile taller than the video's aspect draws it wider than itself, cropped at the sides; a
    // shared screen is drawn whole, no wider than its tile.
    const drawn = (id) => {
      const rect = shown.get(id);
      if (!rect) return 0;
      return this.tiles.get(id).media?.screen ? rect.width : Math.max(rect.width, rect.height * ASPECT);
    };
    this.widths = [...this.tiles.keys()].filter((id) => id !== this.selfId).map((id) => [id, Math.round(drawn(id) * ratio)]);
    this.dispatchEvent(new CustomEvent("placed", { detail: this.widths }));
  }

  /** The ids of the tiles, in the order they are laid out. */
  order() {
    return [...this.tiles.keys()];
  }

  /** Everyone this stage has placed, gone since or not, in their places' order. */
  placesKept() {
    return [...this.places.keys()];
  }

  destroy() {
    clearInterval(this.speakingTimer);
    this.resize.disconnect();
    for (const tile of this.tiles.values()) {
      tile.stopMeter?.();
      releaseVideo(tile.video);
    }
  }
}
