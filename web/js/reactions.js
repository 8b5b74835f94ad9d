// Reactions (Whereby's `reactions`): a button opens a row of six; one sent shows for everyone, the
// sender too, rising over the stage's bottom left with the sender's name for a few seconds. The
// server takes one every 500 ms from a connection (clicks closer together are not sent) and 20 a
// second from a whole room: one it refused for that is said under the row.

import { served } from "./base.js";
import { announce, h } from "./dom.js";
import { t } from "./i18n.js";

/** The reactions the server knows (protocol.md), in the order offered, with their Twemoji pictures (by code point, web/vendor/emoji). */
export const REACTIONS = [
  { name: "thumbs_up", emoji: "1f44d", label: () => t("Thumbs up") },
  { name: "clap", emoji: "1f44f", label: () => t("Applause") },
  { name: "heart", emoji: "2764", label: () => t("Love") },
  { name: "laugh", emoji: "1f602", label: () => t("Laughter") },
  { name: "surprised", emoji: "1f62e", label: () => t("Surprise") },
  { name: "celebrate", emoji: "1f389", label: () => t("Celebration") },
];

const SHOWN_FOR_MS = 4000;
const AT_MOST_SHOWN = 6;
/** A little over the server's 500 ms, so that a click it would refuse is not sent. */
const SPACED_MS = 600;
/** How long "too many reactions" stays under the row. */
const REFUSAL_SHOWN_MS = 3000;

/** A reaction's picture; `label` says what it is where no text beside it does. */
function picture(emoji, label = "") {
  return h("img", { class: "reaction-emoji", src: served(`/assets/vendor/emoji/${emoji}.svg`), alt: label, draggable: "false" });
}

export class Reactions {
  /**
   * `button`: the control bar's toggle (absent when the bar or the button is hidden: reactions
   * are still shown); `stage`: where they rise; `send(name)`: to the server.
   */
  constructor({ button, stage, send }) {
    this.button = button;
    this.send = send;
    this.lastSent = 0;
    this.picker = h("div", { class: "reaction-picker", id: "reaction-picker", role: "group", "aria-label": t("Reactions"), hidden: true,
      onkeydown: (event) => {
        if (event.key !== "Escape") return;
        event.preventDefault();
        event.stopPropagation();
        this.close();
        this.button?.focus();
      } },
      ...REACTIONS.map(({ name, emoji, label }) => h("button", { type: "button", class: "reaction-choice", "data-reaction": name,
        "aria-label": label(), title: label(), onclick: () => this.choose(name) }, picture(emoji))),
      h("p", { class: "reaction-note" }));
    this.stream = h("div", { class: "reaction-stream", id: "reaction-stream", "aria-live": "polite" });
    stage.append(this.stream);
    // Beside its button (fixed over the stage, above the bar), next in the keyboard's order.
    button?.after(this.picker);
    this.onResize = () => this.place();
    window.addEventListener("resize", this.onResize);
    // A button before it in the bar changes size (its label changes, or the bar drops its labels
    // to fit): the row follows its button.
    this.relayout = new ResizeObserver(this.onResize);
    for (const element of button?.parentElement?.children ?? []) this.relayout.observe(element);
  }

  get open() {
    return !this.picker.hidden;
  }

  toggle() {
    if (this.open) this.close();
    else {
      this.picker.hidden = false;
      this.button?.setAttribute("aria-expanded", "true");
      this.place();
      this.picker.querySelector("button").focus();
    }
  }

  close() {
    this.picker.hidden = true;
    this.picker.classList.remove("refused");
    this.button?.setAttribute("aria-expanded", "false");
  }

  /** Centred over its button, inside the window. */
  place() {
    if (!this.open || !this.button) return;
    const at = this.button.getBoundingClientRect();
    const width = this.picker.offsetWidth;
    const left = Math.max(8, Math.min(window.innerWidth - width - 8, at.left + at.width / 2 - width / 2));
    this.picker.style.left = `${left}px`;
    this.picker.style.bottom = `${window.innerHeight - at.top + 8}px`;
  }

  choose(name) {
    const now = Date.now();
    if (now - this.lastSent < SPACED_MS) return;
    this.lastSent = now;
    this.send(name);
  }

  /** The room refused one (too many at once in it): said under the row for a moment. */
  refused() {
    const note = this.picker.querySelector(".reaction-note");
    note.textContent = t("Too many reactions right now. Try again in a moment.");
    announce(note.textContent);
    this.picker.classList.add("refused");
    this.place();
    clearTimeout(this.refusalShown);
    this.refusalShown = setTimeout(() => {
      this.picker.classList.remove("refused");
      note.textContent = "";
      this.place();
    }, REFUSAL_SHOWN_MS);
  }

  /** A `reaction` frame, with whom it is from; a reaction this client does not know is skipped. */
  show(reaction, name) {
    const known = REACTIONS.find((r) => r.name === reaction);
    if (!known) return;
    const bubble = h("div", { class: "reaction-bubble", "data-reaction": reaction },
      picture(known.emoji, known.label()),
      h("span", { class: "reaction-name", text: name }));
    this.stream.append(bubble);
    while (this.stream.children.length > AT_MOST_SHOWN) this.stream.firstElementChild.remove();
    setTimeout(() => bubble.remove(), SHOWN_FOR_MS);
  }

  destroy() {
    window.removeEventListener("resize", this.onResize);
    this.relayout.disconnect();
    clearTimeout(this.refusalShown);
    this.picker.remove();
    this.stream.remove();
  }
}
