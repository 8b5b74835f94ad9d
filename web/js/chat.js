// The chat panel: messages as text (never markup; their addresses as links), newest at the bottom,
// and a field to write in.
// One's own messages (a host's: anyone's) can be removed for everyone; a removed one says so. What
// it showed is kept for a reload of the tab (seat.js, KeptChat).

import { h, icon, withLinks } from "./dom.js";
import { language, t } from "./i18n.js";

export class ChatPanel {
  /**
   * `selfId`, whose messages are one's own, and `host`, who removes anyone's, are set by the call
   * (again after a reconnect).
   */
  constructor({ signal, kept = null }) {
    this.signal = signal;
    this.kept = kept;
    this.selfId = null;
    this.host = false;
    this.list = h("ol", { class: "chat-list", id: "chat-list", "aria-live": "polite", "aria-label": t("Messages") });
    this.input = h("input", { type: "text", id: "chat-input", dir: "auto", "aria-label": t("Message"), maxLength: 4000, placeholder: t("Write a message"), autocomplete: "off" });
    this.heading = h("h2", { id: "chat-title", tabindex: "-1", text: t("Chat") });
    this.element = h("aside", { class: "panel chat", id: "chat-panel", "aria-labelledby": "chat-title", hidden: true },
      h("header", { class: "panel-header" }, this.heading,
        h("button", { type: "button", class: "icon-only close-panel", "aria-label": t("Close chat"), onclick: () => this.onClose?.() }, icon("x"))),
      this.list,
      h("form", { class: "chat-form", onsubmit: (event) => {
        event.preventDefault();
        const text = this.input.value.trim();
        if (text) this.signal.send("chat_message", { text });
        this.input.value = "";
      } }, this.input, h("button", { type: "submit", class: "primary icon-only", id: "chat-send", "aria-label": t("Send message") }, icon("send"))));
  }

  /** The messages kept from before a reload, shown as they were (read: they were seen then). */
  restore() {
    for (const message of this.kept?.read() ?? []) {
      this.show(message);
      if (message.removed) this.removed({ id: message.id }, { keep: false });
    }
  }

  /** A message arrived; returns whether it is unread (the panel is closed and it is not ours). */
  add(message) {
    this.kept?.add(message);
    this.show(message);
    return this.element.hidden && message.senderId !== this.selfId;
  }

  show({ id, senderId, displayName, text, timestamp }) {
    const time = new Date(timestamp).toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
    const mine = senderId === this.selfId;
    const remove = id && (mine || this.host)
      ? h("button", { type: "button", class: "icon-only remove-message", title: t("Remove message"), "aria-label": t("Remove message from {name}", { name: displayName }),
        onclick: () => this.signal.send("remove_chat_message", { id }) }, icon("trash-2"))
      : null;
    this.list.append(h("li", { class: mine ? "mine" : "", "data-id": id || null },
      h("span", { class: "chat-name", dir: "auto", text: displayName }),
      h("time", { text: time }),
      remove,
      h("p", { class: "chat-text", dir: "auto" }, withLinks(text))));
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** A `chat_message_removed`: the message stays in its place, saying it was removed. */
  removed({ id }, { keep = true } = {}) {
    if (keep) this.kept?.removed(id);
    const item = [...this.list.children].find((li) => li.dataset.id === id);
    if (!item) return;
    item.classList.add("removed");
    item.querySelector(".remove-message")?.remove();
    item.querySelector(".chat-text").textContent = t("Message removed");
  }
}
