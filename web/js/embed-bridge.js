// Whereby's iframe protocol, room side: events go to the embedding page as postMessage
// `{type, payload}`, and commands come back as `{command, args}`; docs/embedding.md lists both, with
// the payloads Whereby's element declares and the few of our own.
// Only the embedding page is told anything: messages go to its origin, and commands are taken from
// the parent window only (from that origin when it is known).

export class EmbedBridge {
  constructor(params) {
    this.embedded = window.parent !== window;
    this.origin = params.embedOrigin || referrerOrigin();
    this.commands = new Map();
    // What makes this page's connection unstable now ("signalling", "media"); reported on change.
    this.unstable = new Set();
    // How many people are in the room, as last told (`participantupdate`); null: not in a room.
    this.participantCount = null;
    window.addEventListener("message", (event) => this.receive(event));
  }

  emit(type, payload = {}) {
    // Out of the room: coming back in, the page tells its count afresh.
    if (type === "leave") this.participantCount = null;
    if (!this.embedded) return;
    window.parent.postMessage({ type, payload }, this.origin || "*");
  }

  /** Notes whether `part` of the connection is in trouble; `connection_status_change` on a change. */
  setUnstable(part, unstable) {
    const before = this.unstable.size > 0;
    if (unstable) this.unstable.add(part);
    else this.unstable.delete(part);
    const now = this.unstable.size > 0;
    if (now !== before) this.emit("connection_status_change", { status: now ? "unstable" : "stable" });
  }

  /** Notes how many people are in the room, this one included; `participantupdate` on a change. */
  setParticipantCount(count) {
    if (count === this.participantCount) return;
    this.participantCount = count;
    this.emit("participantupdate", { count });
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

/** Whereby's step names for the pre-call check's steps (ours calls the network step "network"). */
const CHECK_STEPS = { camera: "camera", microphone: "microphone", speaker: "speaker", network: "bandwidth" };

/**
 * The `precall_check_completed` payload, in Whereby's shape, from the check's steps
 * (`[{name, label, passed, detail}]`): `{status, steps: {camera: {status, label, detail}, ...}}`.
 */
export function checkPayload(steps) {
  const verdict = (passed) => (passed ? "passed" : "failed");
  return {
    status: verdict(steps.every((step) => step.passed)),
    steps: Object.fromEntries(steps.map((step) => [
      CHECK_STEPS[step.name] || step.name,
      { status: verdict(step.passed), label: step.label, detail: step.detail || "" },
    ])),
  };
}

function referrerOrigin() {
  try {
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
}
