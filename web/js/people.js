// The People panel. For hosts: who waits at the door, oldest first (let in, put on hold, reject,
// each with an optional message; a word to one or all without a verdict; let everyone in). For
// everyone: who is in the room, with their role and microphone; hosts may send a guest back to the
// door or remove them (removal asks to be confirmed). Focus never falls on a destructive button by
// surprise: when the item that had focus goes, focus moves to the next knocker or to the heading.

import { arrange, avatar, compactWhenWrapped, h, icon, setText, waitedText } from "./dom.js";
import { language, t } from "./i18n.js";
import { ROLE_LABELS, participantsOf, roomIsFull } from "./roster.js";
import { serverNow } from "./server-clock.js";

/** How soon the open panel is drawn again after a change, at the soonest. */
const FRAME_MS = 16;

/** From how many people (waiting and in the room) the panel offers to find someone by name. */
const FIND_FROM = 8;

/** A name as a search compares it: case and accents aside ("emile" finds "Émile"). */
const searchable = (text) => text.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase();

/**
 * The rows for `items`, each the one kept in `rows` (by `idOf`) while `same` says it shows what it
 * did, else a new one from `make` ({el, ...what it shows}). Rows of those no longer `present` are
 * let go (those a search leaves out are kept for when it is cleared).
 */
function keptRows(rows, items, present, idOf, same, make) {
  for (const id of rows.keys()) if (!present.has(id)) rows.delete(id);
  return items.map((item) => {
    const id = idOf(item);
    let row = rows.get(id);
    if (!same(item, row)) rows.set(id, (row = make(item)));
    return row.el;
  });
}

/** A person's line, and whether their connection dropped (the server keeps their place a while). */
const reconnecting = (text, away) => (away ? t("{state} · reconnecting…", { state: text }) : text);

export class PeoplePanel {
  constructor({ signal, host, selfId, capacity, notices }) {
    this.signal = signal;
    this.notices = notices;
    this.host = host;
    this.selfId = selfId;
    this.capacity = capacity;
    this.roster = { clients: [], knockers: [] };
    this.drafts = new Map();
    this.wanted = "";
    this.heading = h("h2", { id: "people-title", tabindex: "-1", text: t("People") });
    this.body = h("div", { class: "panel-body" });
    // Outside the body, which is drawn anew on every change: what is typed and the caret stay.
    this.find = h("input", { type: "search", id: "people-find", dir: "auto", class: "people-find", placeholder: t("Find someone"), "aria-label": t("Find someone by name"), autocomplete: "off", hidden: true, oninput: () => this.render() });
    this.element = h("aside", { class: "panel people", id: "people-panel", "aria-labelledby": "people-title", hidden: true },
      h("header", { class: "panel-header" }, this.heading,
        h("button", { type: "button", class: "icon-only close-panel", "aria-label": t("Close People"), onclick: () => this.onClose?.() }, icon("x"))),
      this.find,
      this.body);
    // A knock's three answers keep one line in a narrow panel or a long language (without icons).
    this.fit = new ResizeObserver(() => this.fitKnockActions());
    this.fit.observe(this.body);
    // How long each knocker has waited, kept current without drawing the list anew (which would
    // take a host's half-typed message or focus).
    this.clock = setInterval(() => this.showWaited(), 20_000);
  }

  destroy() {
    clearTimeout(this.redraw);
    clearInterval(this.clock);
    this.fit.disconnect();
  }

  showWaited(now = serverNow()) {
    for (const el of this.body.querySelectorAll(".waited")) el.textContent = waitedText(now - Number(el.dataset.since));
  }

  fitKnockActions() {
    for (const row of this.body.querySelectorAll(".knock-actions")) compactWhenWrapped(row, "button");
  }

  update(roster) {
    this.roster = roster;
    // A large room changes many times a second: closed, the panel is drawn when opened (`shown`);
    // open, with whatever came meanwhile, a frame later or, when drawing it takes long (hundreds
    // of people), after twice that time, which leaves the page the rest.
    this.stale = true;
    if (this.element.hidden || this.redraw) return;
    this.redraw = setTimeout(() => this.shown(), Math.max(FRAME_MS, (this.nextDrawAt ?? 0) - performance.now()));
  }

  /** The panel was opened (or its redraw is due): drawn as the room is now. */
  shown() {
    clearTimeout(this.redraw);
    this.redraw = null;
    if (this.stale) this.render();
  }

  send(type, payload) {
    this.signal.send(type, payload);
  }

  decide(clientId, action) {
    if (action === "accept" && this.full) return;
    const message = this.drafts.get(clientId)?.trim() || undefined;
    this.drafts.delete(clientId);
    this.send("handle_knock", { clientId, action, message });
  }

  /** Whether a search shows only some (`wanted` is what was typed, as `render` read it). */
  searching() {
    return this.wanted !== "";
  }

  /** Whether a person's name matches what is typed in the search (everyone, when nothing is). */
  matches(displayName) {
    return !this.searching() || searchable(displayName).includes(this.wanted);
  }

  render() {
    this.stale = false;
    const started = performance.now();
    // A small room is seen at a glance; a search left typed in one that shrank would hide people.
    const many = this.roster.clients.length + (this.host ? this.roster.knockers.length : 0) >= FIND_FROM;
    if (!many && this.find.value) this.find.value = "";
    this.find.hidden = !many;
    this.wanted = searchable(this.find.value.trim());
    const focusKey = document.activeElement?.closest?.("#people-panel") ? document.activeElement.dataset.focusKey : null;
    const focusIndex = focusKey ? this.knockerIndex(focusKey) : -1;
    // Rows and sections are kept and only moved: a change redraws the rows it concerns, and what a
    // host types or has focused elsewhere in the list stays as it was.
    this.sections ??= { waiting: this.host ? this.waitingSection() : null, room: this.roomSection() };
    this.full = roomIsFull(this.roster.clients, this.capacity);
    if (this.host) this.drawWaiting();
    this.drawRoom();
    arrange(this.body, [this.sections.waiting?.section, this.sections.room.section]);
    if (focusKey) this.restoreFocus(focusKey, focusIndex);
    this.nextDrawAt = performance.now() + 2 * (performance.now() - started);
  }

  knockerIndex(focusKey) {
    const id = focusKey.split(":")[1];
    return this.lastKnockerIds?.indexOf(id) ?? -1;
  }

  restoreFocus(focusKey, index) {
    if (document.activeElement?.dataset?.focusKey === focusKey) return;
    const same = this.body.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (same) {
      same.focus();
      return;
    }
    // The knock just decided is gone: go on to the knocker now in its place, else the heading.
    const next = this.body.querySelectorAll(".knocker .let-in")[Math.max(0, index)] || this.body.querySelector(".knocker .let-in");
    (next || this.heading).focus();
  }

  /** The waiting list's parts that stay: its heading, what is done for everyone, the list. */
  waitingSection() {
    const everyone = h("input", { type: "text", class: "message-all", dir: "auto", maxLength: 1000, placeholder: t("Message to everyone waiting"), "aria-label": t("Message to everyone waiting"), "data-focus-key": "all:message" });
    const admitAll = h("button", { type: "button", class: "primary", id: "admit-all", "data-focus-key": "all:admit", onclick: () => this.send("handle_knock", { all: true, action: "accept" }) }, icon("user-check"), t("Let everyone in"));
    // In its place when the room is full (a line more would push the room's first person out of a
    // laptop's panel).
    const full = h("p", { class: "room-full", id: "room-full", text: t("The room is full. You can let someone in when a place is free.") });
    const forEveryone = h("div", { class: "all-actions" }, admitAll,
      h("form", { class: "inline-form", onsubmit: (event) => {
        event.preventDefault();
        const message = everyone.value.trim();
        if (message) this.send("message_knockers", { all: true, message });
        everyone.value = "";
      } }, everyone, h("button", { type: "submit", class: "secondary", "data-focus-key": "all:send" }, icon("send"), h("span", { class: "visually-hidden", text: t("Send to everyone waiting") }))));
    // Beside the heading, not on a line of its own: until the host answers the browser's question,
    // a line more would push the room's first person out of a laptop's panel (1366×657).
    const alerts = h("button", { type: "button", class: "secondary icon-only", id: "desktop-alerts", title: t("Alert me on this computer"), "aria-label": t("Alert me on this computer"), onclick: async () => {
      await this.notices.ask();
      this.render();
    } }, icon("bell"));
    const title = h("h3", { id: "waiting-title" });
    const heading = h("div", { class: "waiting-heading" }, title);
    const list = h("ol", { class: "knockers", id: "knockers" });
    return { section: h("section", { class: "waiting-list", "aria-labelledby": "waiting-title" }, heading), title, heading, alerts, forEveryone, admitAll, full, empty: h("p", { class: "empty" }), list, rows: new Map() };
  }

  drawWaiting() {
    const { section, title, heading, alerts, forEveryone, admitAll, full, empty, list, rows } = this.sections.waiting;
    const knockers = this.roster.knockers;
    // Each keeps its place in line (#3) while a search shows only some.
    const listed = knockers.map((knock, i) => [knock, i + 1]).filter(([knock]) => this.matches(knock.displayName));
    this.lastKnockerIds = listed.map(([knock]) => knock.clientId);
    const made = [];
    const present = new Set(knockers.map((knock) => knock.clientId));
    const items = keptRows(rows, listed, present, ([knock]) => knock.clientId, ([knock, place], row) => row?.knock === knock && row.place === place, ([knock, place]) => {
      const el = this.knockerItem(knock, place);
      made.push(el);
      return { knock, place, el };
    });
    arrange(list, items);
    setText(title, t("Waiting to come in ({count})", { count: knockers.length }));
    arrange(heading, [title, this.notices?.canAsk() ? alerts : null]);
    const text = !knockers.length ? t("Nobody is waiting.") : !items.length ? t("Nobody by that name.") : null;
    if (text) setText(empty, text);
    // What is done for everyone is not offered while a search shows only some of them.
    // A full room says so where Let everyone in was (or, while a search hides that, on its own).
    arrange(forEveryone, [this.full ? full : admitAll, forEveryone.querySelector("form")]);
    const everyoneShown = knockers.length && !this.searching();
    arrange(section, [heading, everyoneShown ? forEveryone : null, !everyoneShown && knockers.length && this.full ? full : null, text ? empty : null, list]);
    // In a full room nobody can be let in: each Let in says so (and stays where focus finds it).
    for (const button of list.querySelectorAll(".let-in")) {
      if (this.full) {
        button.setAttribute("aria-disabled", "true");
        button.setAttribute("aria-describedby", full.id);
      } else {
        button.removeAttribute("aria-disabled");
        button.removeAttribute("aria-describedby");
      }
    }
    // (Rows kept were fitted when made; the panel's resizing fits them all again.)
    for (const el of made) compactWhenWrapped(el.querySelector(".knock-actions"), "button");
  }

  knockerItem(knock, place) {
    const id = knock.clientId;
    const key = (what) => `${what}:${id}`;
    const input = h("input", { type: "text", class: "knock-message", dir: "auto", maxLength: 1000, placeholder: t("Message (optional)"), "aria-label": t("Message to {name}", { name: knock.displayName }), value: this.drafts.get(id) || "", "data-focus-key": key("message") });
    input.addEventListener("input", () => this.drafts.set(id, input.value));
    const waiting = knock.state === "held"
      ? (knock.holdMessage ? t("On hold: {message}", { message: knock.holdMessage }) : t("On hold"))
      : t("Waiting");
    // Their connection dropped: the knock keeps its place a while, and a verdict reaches them
    // when they are back.
    const state = reconnecting(waiting, knock.away);
    const say = () => {
      const message = input.value.trim();
      if (!message) {
        input.focus();
        return;
      }
      this.drafts.delete(id);
      input.value = "";
      this.send("message_knockers", { clientId: id, message });
    };
    // The state under the name beside the avatar, one line for the message and one for the
    // decisions: two knockers' cards and the room's first people fit a laptop's panel (1366×657).
    return h("li", { class: `knocker${knock.away ? " away" : ""}`, "data-client-id": id },
      h("div", { class: "person" },
        avatar(knock, "avatar small"),
        h("span", { class: "knocker-text" },
          h("span", { class: "knocker-name", text: knock.displayName, title: knock.displayName }),
          h("span", { class: "knock-state", text: state })),
        h("span", { class: "place" },
          h("span", { text: `#${place}` }),
          h("span", { class: "waited", "data-since": knock.knockedAt, text: waitedText(serverNow() - knock.knockedAt),
            title: t("Knocked at {time}", { time: new Date(knock.knockedAt).toLocaleTimeString(language(), { hour: "numeric", minute: "2-digit" }) }) }))),
      h("form", { class: "inline-form", onsubmit: (event) => {
        event.preventDefault();
        say();
      } },
        input,
        h("button", { type: "submit", class: "secondary say", "data-focus-key": key("say"), title: t("Send message"), "aria-label": t("Send message to {name}", { name: knock.displayName }) }, icon("send"))),
      h("div", { class: "knock-actions" },
        h("button", { type: "button", class: "primary let-in", "data-focus-key": key("accept"), onclick: () => this.decide(id, "accept") }, icon("user-check"), t("Let in")),
        h("button", { type: "button", class: "secondary hold", "data-focus-key": key("hold"), onclick: () => this.decide(id, "hold") }, icon("clock"), t("Put on hold")),
        h("button", { type: "button", class: "danger reject", "data-focus-key": key("reject"), onclick: () => this.decide(id, "reject") }, icon("user-x"), t("Reject")),
      ));
  }

  /** The room's list's parts that stay: its heading with the actions for everyone, the list. */
  roomSection() {
    // A host silences everyone heard at once (a noisy room); each may turn their own back on.
    const muteAll = h("button", { type: "button", class: "secondary mute-all", id: "mute-all", "data-focus-key": "all:mute", onclick: () => this.send("ask_media", { clientIds: this.heard.map((c) => c.id), ask: "mute" }) },
      icon("mic-off"), t("Mute everyone"));
    const lowerAll = h("button", { type: "button", class: "secondary lower-all-hands", id: "lower-all-hands", "data-focus-key": "all:hands", onclick: () => this.send("lower_all_hands", {}) },
      icon("hand"), t("Lower all hands"));
    const title = h("h3", { id: "in-room-title" });
    const actions = h("span", { class: "in-room-actions" });
    const empty = h("p", { class: "empty", text: t("Nobody by that name.") });
    const list = h("ul", { class: "participants", id: "participants" });
    const heading = h("div", { class: "in-room-heading" }, title, actions);
    return { section: h("section", { "aria-labelledby": "in-room-title" }, heading), heading, title, actions, muteAll, lowerAll, empty, list, rows: new Map() };
  }

  drawRoom() {
    const { section, heading, title, actions, muteAll, lowerAll, empty, list, rows } = this.sections.room;
    // Oneself first, then hands up (oldest first: who asked first speaks first), then the rest.
    const hands = (this.roster.hands || []).map((x) => x.clientId);
    const rank = (c) => (c.id === this.selfId ? -1 : hands.includes(c.id) ? hands.indexOf(c.id) : hands.length);
    const clients = [...this.roster.clients].sort((a, b) => rank(a) - rank(b));
    const count = this.host && this.capacity ? t("{count} of {capacity}", { count: participantsOf(clients).length, capacity: this.capacity.participants }) : String(clients.length);
    const shown = clients.filter((client) => this.matches(client.displayName))
      .map((client) => ({ client, spotlit: this.roster.spotlights.includes(client.id), raised: hands.includes(client.id) }));
    const items = keptRows(rows, shown, new Set(clients.map((c) => c.id)), ({ client }) => client.id,
      (person, row) => row?.client === person.client && row.spotlit === person.spotlit && row.raised === person.raised,
      (person) => ({ ...person, el: this.participantItem(person) }));
    arrange(list, items);
    this.heard = this.host && !this.searching() ? clients.filter((c) => c.id !== this.selfId && c.role !== "viewer" && !c.away && c.media?.audio) : [];
    setText(title, t("In the room ({count})", { count }));
    arrange(actions, [this.host && !this.searching() && hands.length > 1 ? lowerAll : null, this.heard.length > 1 ? muteAll : null]);
    arrange(section, [heading, items.length ? null : empty, list]);
  }

  participantItem({ client, spotlit, raised }) {
    const self = client.id === this.selfId;
    const media = client.media;
    const guest = this.host && !self && client.role !== "host";
    let role = ROLE_LABELS[client.role]?.() ?? client.role;
    if (spotlit) role = t("{role} · in the spotlight", { role });
    if (raised) role = t("{role} · hand raised", { role });
    // Away: their connection dropped and the server keeps their place. A host may remove them
    // (their return is then refused); sending them to the waiting room waits for their return.
    return h("li", { class: `participant${client.away ? " away" : ""}`, "data-client-id": client.id },
      avatar(client, "avatar small"),
      h("span", { class: "participant-text" },
        h("span", { class: "participant-name", title: client.displayName, text: self ? t("{name} (you)", { name: client.displayName }) : client.displayName }),
        h("span", { class: "role", text: reconnecting(role, client.away) })),
      media && !media.audio && client.role !== "viewer" && !client.away ? h("span", { class: "participant-muted", title: t("Microphone off") }, icon("mic-off"), h("span", { class: "visually-hidden", text: t("microphone off") })) : null,
      // (A host's own row has none: it keeps the list short enough for two knockers' cards and the
      // first person in a laptop's panel. A host puts themself in the spotlight with autoSpotlight.)
      this.host && !self ? this.moreActions(client, { canSendBack: guest && !client.away, canSpotlight: client.role !== "viewer", spotlit, raised }) : null);
  }

  /** A host's requests of someone's microphone and camera: off now, or asked to turn it on. */
  mediaActions(client) {
    if (client.role === "viewer" || client.away || !client.media) return [];
    const { audio, video } = client.media;
    const ask = (what) => () => this.send("ask_media", { clientIds: [client.id], ask: what });
    return [
      h("button", { type: "button", class: "secondary ask-microphone", "data-focus-key": `mic:${client.id}`, onclick: ask(audio ? "mute" : "unmute") },
        icon(audio ? "mic-off" : "mic"), audio ? t("Mute") : t("Ask to unmute")),
      h("button", { type: "button", class: "secondary ask-camera", "data-focus-key": `camera:${client.id}`, onclick: ask(video ? "turn_off_camera" : "turn_on_camera") },
        icon(video ? "video-off" : "video"), video ? t("Turn off camera") : t("Ask to turn on camera")),
    ];
  }

  /**
   * What a host may do to someone in the room sits behind a "More" button, so that moving through
   * the list never lands on sending someone out.
   */
  moreActions(client, { canSendBack, canSpotlight, spotlit, raised }) {
    const id = `actions-${client.id}`;
    // Made when shown: a list of hundreds draws a button per person, not seven.
    const fill = () => actions.replaceChildren(...[
      ...this.mediaActions(client),
      raised ? h("button", { type: "button", class: "secondary lower-hand", "data-focus-key": `hand:${client.id}`, onclick: () => this.send("set_hand", { raised: false, clientId: client.id }) }, icon("hand"), t("Lower hand")) : null,
      canSpotlight ? h("button", { type: "button", class: "secondary spotlight", "data-focus-key": `spotlight:${client.id}`, onclick: () => this.send(spotlit ? "remove_spotlight" : "add_spotlight", { clientId: client.id }) },
        icon(spotlit ? "star-off" : "star"), spotlit ? t("Take out of the spotlight") : t("Put in the spotlight")) : null,
      canSendBack ? h("button", { type: "button", class: "secondary send-back", "data-focus-key": `back:${client.id}`, onclick: () => this.send("send_to_waiting_room", { clientId: client.id }) }, icon("door-open"), t("Send to waiting room")) : null,
      this.removeButton(client),
    ].filter(Boolean));
    const actions = h("div", { class: "participant-actions", id, hidden: !this.opened?.has(client.id) });
    if (!actions.hidden) fill();
    const more = h("button", { type: "button", class: "icon-only more", "data-focus-key": `more:${client.id}`, "aria-expanded": String(!actions.hidden), "aria-controls": id, "aria-label": t("More actions for {name}", { name: client.displayName }) }, icon("ellipsis"));
    more.addEventListener("click", () => {
      this.opened ??= new Set();
      if (actions.hidden) fill();
      actions.hidden = !actions.hidden;
      more.setAttribute("aria-expanded", String(!actions.hidden));
      if (actions.hidden) this.opened.delete(client.id);
      else this.opened.add(client.id);
    });
    return [more, actions];
  }

  /** Removing someone takes two presses: the first only asks "sure?". */
  removeButton(client) {
    const button = h("button", { type: "button", class: "danger remove", "data-focus-key": `remove:${client.id}`, "aria-label": t("Remove {name}", { name: client.displayName }) }, icon("user-x"), h("span", { class: "label", text: t("Remove") }));
    button.addEventListener("click", () => {
      if (button.dataset.armed) {
        this.send("kick_client", { clientId: client.id });
        return;
      }
      button.dataset.armed = "1";
      button.classList.add("armed");
      button.setAttribute("aria-label", t("Confirm: remove {name}", { name: client.displayName }));
      button.querySelector(".label").textContent = t("Confirm remove");
    });
    return button;
  }
}
