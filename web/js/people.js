// The People panel: for hosts, the knock queue (oldest first) with Let in / Put on hold / Reject, each
// with an optional message, and Admit all; for everyone, who is in the room (hosts may remove people).

import { h, replace } from "./dom.js";

export class PeoplePanel {
  constructor({ signal, host, selfId }) {
    this.signal = signal;
    this.host = host;
    this.selfId = selfId;
    this.knockers = [];
    this.clients = new Map();
    this.element = h("aside", { class: "panel people", id: "people-panel", "aria-label": "People", hidden: true });
  }

  setKnockers(list) {
    this.knockers = list.slice();
    this.render();
  }

  knocked(knock) {
    this.knockers = this.knockers.filter((k) => k.clientId !== knock.clientId).concat([knock]);
    this.render();
  }

  resolved({ clientId, resolution, message }) {
    if (resolution === "held") {
      this.knockers = this.knockers.map((k) => (k.clientId === clientId ? { ...k, state: "held", holdMessage: message } : k));
    } else {
      this.knockers = this.knockers.filter((k) => k.clientId !== clientId);
    }
    this.render();
  }

  left(clientId) {
    this.knockers = this.knockers.filter((k) => k.clientId !== clientId);
    this.render();
  }

  setClients(clients) {
    this.clients = clients;
    this.render();
  }

  decide(clientId, action, input) {
    const message = input?.value.trim() || undefined;
    this.signal.send("handle_knock", { clientId, action, message });
  }

  render() {
    const sections = [];
    if (this.host) {
      const items = this.knockers.map((knock) => {
        const input = h("input", { type: "text", class: "knock-message", placeholder: "Message (optional)", "aria-label": `Message to ${knock.displayName}`, maxLength: 1000 });
        const state = knock.state === "held"
          ? h("span", { class: "knock-state", text: knock.holdMessage ? `On hold: ${knock.holdMessage}` : "On hold" })
          : h("span", { class: "knock-state", text: "Waiting" });
        return h("li", { class: "knocker", "data-client-id": knock.clientId },
          h("span", { class: "knocker-name", text: knock.displayName }),
          state,
          input,
          h("div", { class: "row" },
            h("button", { type: "button", class: "primary let-in", text: "Let in", onclick: () => this.decide(knock.clientId, "accept", input) }),
            h("button", { type: "button", class: "secondary hold", text: "Put on hold", onclick: () => this.decide(knock.clientId, "hold", input) }),
            h("button", { type: "button", class: "danger reject", text: "Reject", onclick: () => this.decide(knock.clientId, "reject", input) }),
          ));
      });
      sections.push(h("section", { "aria-labelledby": "waiting-title" },
        h("h2", { id: "waiting-title", text: `Waiting (${this.knockers.length})` }),
        this.knockers.length
          ? h("button", { type: "button", class: "secondary", id: "admit-all", text: "Admit all", onclick: () => this.signal.send("handle_knock", { all: true, action: "accept" }) })
          : h("p", { class: "empty", text: "Nobody is waiting." }),
        h("ol", { class: "knockers", id: "knockers" }, items),
      ));
    }
    const people = [...this.clients.values()].map((client) =>
      h("li", { class: "participant", "data-client-id": client.id },
        h("span", { class: "participant-name", text: client.id === this.selfId ? `${client.displayName} (you)` : client.displayName }),
        h("span", { class: "role", text: client.role.replace("_", " ") }),
        this.host && client.id !== this.selfId
          ? h("button", { type: "button", class: "danger remove", text: "Remove", "aria-label": `Remove ${client.displayName}`, onclick: () => this.signal.send("kick_client", { clientId: client.id }) })
          : null));
    sections.push(h("section", { "aria-labelledby": "in-room-title" },
      h("h2", { id: "in-room-title", text: `In the room (${this.clients.size})` }),
      h("ul", { class: "participants", id: "participants" }, people)));
    replace(this.element, ...sections);
  }
}
