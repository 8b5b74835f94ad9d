// The protocol (docs/protocol.md) as the page uses it: every server frame is an event named after
// its type (the payload as `detail`), and `send` writes a frame. Under it, connection.js keeps one
// socket at a time and reconnects; this module knows the frames, not the socket.

import { Connection, signallingUrl } from "./connection.js";
import { Emitter } from "./events.js";

export class Signal extends Emitter {
  constructor(roomName, connection = new Connection(signallingUrl(roomName))) {
    super();
    this.connection = connection;
    connection.on("frame", ({ type, payload }) => this.emit(type, payload));
    connection.on("open", () => this.emit("open", {}));
    connection.on("lost", () => this.emit("lost", {}));
    connection.on("failed", (detail) => this.emit("failed", detail));
  }

  start() {
    this.connection.start();
  }

  stop() {
    this.connection.stop();
  }

  send(type, payload = {}) {
    return this.connection.send(type, payload);
  }
}
