// The signalling connection (docs/protocol.md): JSON frames over one WebSocket, with reconnection.
// Every server frame is dispatched as an event named after its type, with the payload as `detail`.
// After a network blip the connection comes back by itself and emits `reconnected`; the caller then
// rejoins (a knocker with its resume token keeps its place).

export class SignalClient extends EventTarget {
  constructor(url = defaultUrl()) {
    super();
    this.url = url;
    this.socket = null;
    this.closedOnPurpose = false;
    this.attempt = 0;
    this.everConnected = false;
  }

  /** Opens the connection; resolves once it is open (and `hello` arrived). */
  connect() {
    this.closedOnPurpose = false;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      let settled = false;
      socket.addEventListener("message", (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch {
          return;
        }
        if (frame.type === "hello" && !settled) {
          settled = true;
          this.attempt = 0;
          const again = this.everConnected;
          this.everConnected = true;
          resolve();
          if (again) this.emit("reconnected", {});
          return;
        }
        this.emit(frame.type, frame.payload || {});
      });
      socket.addEventListener("close", (event) => {
        if (!settled) {
          settled = true;
          reject(new Error("the connection to the server failed"));
        }
        if (this.socket !== socket) return;
        this.emit("disconnected", { code: event.code });
        // 1000: the room closed us on purpose (kicked, ended); 1008/1009: we misbehaved. Do not retry.
        if (!this.closedOnPurpose && ![1000, 1008, 1009].includes(event.code)) this.reconnectLater();
      });
    });
  }

  reconnectLater() {
    const delay = Math.min(500 * 2 ** this.attempt, 5000);
    this.attempt += 1;
    setTimeout(() => {
      if (this.closedOnPurpose) return;
      this.connect().catch(() => this.reconnectLater());
    }, delay);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /** Resolves with the next event of one of these types. */
  next(...types) {
    return new Promise((resolve) => {
      const offs = types.map((type) =>
        this.on(type, (detail) => {
          offs.forEach((off) => off());
          resolve({ type, detail });
        }),
      );
    });
  }

  send(type, payload = {}) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type, payload }));
      return true;
    }
    return false;
  }

  get connected() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  close() {
    this.closedOnPurpose = true;
    if (this.socket) this.socket.close(1000);
  }
}

function defaultUrl() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/v1/signal`;
}
