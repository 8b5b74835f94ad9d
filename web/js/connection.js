// The signalling connection (docs/protocol.md): JSON frames over one WebSocket, and one reconnect
// loop. At any moment there is at most one socket and at most one retry waiting; a retry waits
// longer after each failure (0.5 s doubling to 10 s, each with random jitter so that many pages do
// not come back in step), and at once when the browser says it is online again. A socket that has
// gone silent (a laptop woken from sleep, a network that drops rather than refuses: the browser
// would think it open for many minutes) is asked with `ping` after the server's ping interval of
// silence, and dropped for a new one when that is not answered within half an interval more.

import { BASE } from "./base.js";
import { Emitter } from "./events.js";

const BASE_MS = 500;
const MAX_MS = 10_000;
/** The server's ping interval, for a server that does not say it in `hello`. */
const PING_INTERVAL_MS = 20_000;
/** `WebSocket.OPEN`. */
const SOCKET_OPEN = 1;

export class Connection extends Emitter {
  /**
   * @param url the signalling endpoint
   * @param env what the page provides; tests give their own: {WebSocket, setTimeout, clearTimeout, random, time}
   */
  constructor(url, env = browser()) {
    super();
    this.url = url;
    this.env = env;
    this.socket = null;
    this.timer = null;
    this.attempt = 0;
    // Sockets in a row that closed without opening (since the last that opened).
    this.failures = 0;
    this.stopped = false;
    this.open = false;
    // Liveness: the server's ping interval (hello says it), when a frame last came, when the page
    // last asked, the timer that checks.
    this.pingMs = PING_INTERVAL_MS;
    this.heardAt = 0;
    this.askedAt = null;
    this.watch = null;
  }

  /** Connects (or reconnects at once, if a retry is waiting). */
  start() {
    this.stopped = false;
    if (this.timer !== null) {
      this.env.clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.socket) return;
    const socket = new this.env.WebSocket(this.url);
    this.socket = socket;
    // A socket that has not opened within an interval (its way into a black hole) is given up too.
    this.listen(this.pingMs);
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.heardAt = this.env.time();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "hello") {
        this.attempt = 0;
        this.failures = 0;
        this.open = true;
        this.pingMs = (Number(frame.payload?.pingInterval) || PING_INTERVAL_MS / 1000) * 1000;
        this.askedAt = null;
        this.listen(this.pingMs);
        this.emit("open", {});
        return;
      }
      if (frame.type === "pong") return;
      this.emit("frame", { type: frame.type, payload: frame.payload || {} });
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.unwatch();
      const wasOpen = this.open;
      this.open = false;
      if (wasOpen) this.emit("lost", {});
      // Never opened (no server there, no way through, or the server would not take it): how many
      // tries in a row have failed so.
      else this.emit("failed", { tries: ++this.failures });
      this.retryLater();
    };
    socket.onerror = () => {};
  }

  /**
   * The browser says the network is gone, or the server does not answer: the socket cannot be
   * trusted (it may hang until TCP gives up), so it is dropped now and the retry loop takes over.
   */
  drop(why = "network lost") {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.unwatch();
    const wasOpen = this.open;
    this.open = false;
    socket.close(4000, why);
    if (wasOpen) this.emit("lost", {});
    else this.emit("failed", { tries: ++this.failures });
    this.retryLater();
  }

  /** Checks for silence in `ms` (the timer of a hidden tab may fire late: time is read, not assumed). */
  listen(ms) {
    if (this.watch !== null) this.env.clearTimeout(this.watch);
    this.watch = this.env.setTimeout(() => this.check(), ms);
  }

  check() {
    this.watch = null;
    if (!this.open) return this.drop("no answer");
    const now = this.env.time();
    if (this.askedAt !== null) {
      if (this.heardAt < this.askedAt) return this.drop("not answering");
      this.askedAt = null;
    }
    const silent = now - this.heardAt;
    if (silent < this.pingMs) return this.listen(this.pingMs - silent);
    this.askedAt = now;
    this.send("ping");
    this.listen(this.pingMs / 2);
  }

  unwatch() {
    if (this.watch !== null) this.env.clearTimeout(this.watch);
    this.watch = null;
    this.askedAt = null;
  }

  /** The network is back (the browser says so): try at once rather than wait out the backoff. */
  retryNow() {
    if (this.stopped || this.socket) return;
    this.start();
  }

  retryLater() {
    if (this.stopped || this.socket || this.timer !== null) return;
    const delay = Math.min(BASE_MS * 2 ** this.attempt, MAX_MS) * (0.5 + this.env.random() / 2);
    this.attempt += 1;
    this.timer = this.env.setTimeout(() => {
      this.timer = null;
      this.start();
    }, delay);
  }

  send(type, payload = {}) {
    // A socket the server or the network is closing takes nothing more (the browser would log an
    // error for each frame) though its close event has not come yet.
    if (!this.open || this.socket?.readyState !== SOCKET_OPEN) return false;
    this.socket.send(JSON.stringify({ type, payload }));
    return true;
  }

  /** Closes for good: no retry. */
  stop() {
    this.stopped = true;
    if (this.timer !== null) {
      this.env.clearTimeout(this.timer);
      this.timer = null;
    }
    const socket = this.socket;
    this.socket = null;
    this.unwatch();
    this.open = false;
    socket?.close(1000);
  }

}

/** What a real page provides. */
function browser() {
  return {
    WebSocket: globalThis.WebSocket,
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (id) => globalThis.clearTimeout(id),
    random: Math.random,
    time: () => Date.now(),
  };
}

/** The signalling endpoint, with the page's room (`roomName` as readParams gives it: "/name") as
 * `room`: a load balancer that hashes on it sends all of a room's connections to one node, the one
 * that runs the room (docs/deployment.md). The server itself takes the room from `join_room`, not
 * from the URL. */
export function signallingUrl(roomName, location = window.location, base = BASE) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const room = roomName.replace(/^\//, "");
  return `${scheme}//${location.host}${base}/v1/signal${room ? `?room=${encodeURIComponent(room)}` : ""}`;
}
