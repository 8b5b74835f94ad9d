// Whereby's iframe protocol, room side: events go to the embedding page as postMessage
// `{type, payload}` (ready, knock, cancel_knock, join, leave, participant_join, participant_leave,
// participantupdate, camera_toggle, microphone_toggle, screenshare_toggle, precall_check_completed;
// and ours: knock_received, knock_resolved), and commands come back as `{command, args}`.
// Only the embedding page is told anything: messages go to its origin, and commands are taken from
// the parent window only (from that origin when it is known).

export class EmbedBridge {
  constructor(params) {
    this.embedded = window.parent !== window;
    this.origin = params.embedOrigin || referrerOrigin();
    this.commands = new Map();
    window.addEventListener("message", (event) => this.receive(event));
  }

  emit(type, payload = {}) {
    if (!this.embedded) return;
    window.parent.postMessage({ type, payload }, this.origin || "*");
  }

  on(command, handler) {
    this.commands.set(command, handler);
  }

  receive(event) {
    if (!this.embedded || event.source !== window.parent) return;
    if (this.origin && event.origin !== this.origin) return;
    const { command, args } = event.data || {};
    const handler = this.commands.get(command);
    if (handler) handler(...(Array.isArray(args) ? args : []));
  }
}

function referrerOrigin() {
  try {
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
}
