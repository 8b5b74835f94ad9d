// One socket at a time, one retry waiting at most, longer waits after each failure.
import { test } from "node:test";
import assert from "node:assert/strict";

import { Connection, signallingUrl } from "../js/connection.js";
import { readParams } from "../js/params.js";

/** A fake page: sockets it opened, timers it set, time it let pass. */
function fakeEnv() {
  const env = { sockets: [], timers: new Map(), next: 1, now: 0, random: () => 0.5 };
  env.WebSocket = class {
    constructor(url) {
      this.url = url;
      this.closed = false;
      this.readyState = 1;
      this.sent = [];
      env.sockets.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.fail(); }
    hello(payload = {}) { this.frame("hello", payload); }
    frame(type, payload = {}) { this.onmessage({ data: JSON.stringify({ type, payload }) }); }
    pings() { return this.sent.filter((f) => f.type === "ping").length; }
    /** The closing handshake has begun; the close event comes later. */
    closing() { this.readyState = 2; }
    fail() {
      if (this.closed) return;
      this.closed = true;
      this.readyState = 3;
      this.onclose({ code: 1006 });
    }
  };
  env.setTimeout = (fn, ms) => {
    const id = env.next++;
    env.timers.set(id, { fn, at: env.now + ms });
    return id;
  };
  env.clearTimeout = (id) => env.timers.delete(id);
  env.advance = (ms) => {
    env.now += ms;
    for (const [id, timer] of [...env.timers]) {
      if (timer.at <= env.now) {
        env.timers.delete(id);
        timer.fn();
      }
    }
  };
  env.time = () => env.now;
  env.live = () => env.sockets.filter((s) => !s.closed).length;
  return env;
}

/** A connection on a fake page, and the `said` events it emits, in order (`failed` with its tries). */
function watched(...said) {
  const env = fakeEnv();
  const connection = new Connection("ws://x/v1/signal", env);
  const events = [];
  for (const name of said) connection.on(name, (detail) => events.push(name === "failed" ? `failed ${detail.tries}` : name));
  return { env, connection, events };
}

test("a failing server never makes the page hold more than one socket or one waiting retry", () => {
  const { env, connection, events } = watched("open", "lost");
  connection.start();
  env.sockets[0].hello();
  env.sockets[0].fail();
  const waits = [];
  for (let i = 0; i < 12; i++) {
    assert.equal(env.live(), 0);
    assert.equal(env.timers.size, 1, "exactly one retry waits");
    const [timer] = env.timers.values();
    waits.push(timer.at - env.now);
    env.advance(timer.at - env.now);
    assert.equal(env.live(), 1, "one socket at a time");
    // The browser says it is online meanwhile: no second socket.
    connection.start();
    assert.equal(env.live(), 1);
    env.sockets.at(-1).fail();
  }
  assert.deepEqual(events, ["open", "lost"], "one loss, however many failed attempts");
  assert.ok(waits[0] < waits[3], "waits grow");
  assert.ok(waits.at(-1) <= 10_000, "up to 10 s");
  env.advance(20_000);
  env.sockets.at(-1).hello();
  assert.deepEqual(events, ["open", "lost", "open"]);
  assert.equal(env.live(), 1);
});

test("stopping closes the socket and cancels the retry; sending needs an open connection", () => {
  const env = fakeEnv();
  const connection = new Connection("ws://x/v1/signal", env);
  assert.equal(connection.send("join_room", {}), false);
  connection.start();
  env.sockets[0].hello();
  assert.equal(connection.send("join_room", { roomName: "/r" }), true);
  assert.deepEqual(env.sockets[0].sent, [{ type: "join_room", payload: { roomName: "/r" } }]);
  // Closing (a server going down), its close event still to come: nothing more is written to it.
  env.sockets[0].closing();
  assert.equal(connection.send("sfu_view", { width: 320 }), false);
  assert.equal(env.sockets[0].sent.length, 1);
  env.sockets[0].fail();
  connection.stop();
  assert.equal(env.timers.size, 0);
  env.advance(60_000);
  assert.equal(env.sockets.length, 1, "no reconnect after stop");
});

test("offline drops the socket at once; online retries at once; still one socket", () => {
  const { env, connection, events } = watched("lost", "open");
  connection.start();
  env.sockets[0].hello();
  connection.drop();
  assert.deepEqual(events, ["open", "lost"], "lost is said once, not again by the late close");
  assert.equal(env.live(), 0);
  assert.equal(env.timers.size, 1);
  connection.drop();
  connection.retryNow();
  connection.retryNow();
  assert.equal(env.sockets.length, 2, "one new socket, however often the browser says online");
  assert.equal(env.timers.size, 1, "the waiting retry was taken (the one timer waits for the new socket's hello)");
  env.sockets[1].hello();
  assert.deepEqual(events, ["open", "lost", "open"]);
  connection.stop();
  connection.retryNow();
  assert.equal(env.sockets.length, 2, "a stopped connection stays closed");
});

test("a socket gone silent is asked with a ping after the server's interval, and replaced when it does not answer", () => {
  const { env, connection, events } = watched("lost", "open");
  connection.start();
  env.sockets[0].hello({ protocolVersion: 1, pingInterval: 20 });
  env.advance(19_000);
  assert.equal(env.sockets[0].pings(), 0, "not asked before the interval");
  env.advance(1_000);
  assert.equal(env.sockets[0].pings(), 1, "asked after 20 s of silence");
  env.advance(9_000);
  assert.equal(env.live(), 1, "given half an interval to answer");
  env.advance(1_000);
  assert.equal(env.sockets[0].closed, true, "an unanswered socket is let go");
  assert.deepEqual(events, ["open", "lost"]);
  // The retry loop takes over: a new socket, which opens.
  env.advance(1_000);
  assert.equal(env.sockets.length, 2);
  env.sockets[1].hello({ pingInterval: 20 });
  assert.deepEqual(events, ["open", "lost", "open"]);
});

test("a socket that does not open within the interval (its way into a black hole) is given up and tried again", () => {
  const { env, connection, events } = watched("failed", "open");
  connection.start();
  env.advance(19_000);
  assert.equal(env.sockets[0].closed, false, "an interval (20 s before any hello) to open");
  env.advance(1_000);
  assert.equal(env.sockets[0].closed, true);
  assert.deepEqual(events, ["failed 1"]);
  env.advance(1_000);
  env.sockets[1].hello({ pingInterval: 2 });
  env.sockets[1].fail();
  // The server's own interval from then on: 2 s.
  env.advance(1_000);
  assert.equal(env.sockets.length, 3);
  env.advance(2_000);
  assert.equal(env.sockets[2].closed, true);
  assert.deepEqual(events, ["failed 1", "open", "failed 1"]);
});

test("a socket that talks or answers is never dropped, and not asked while it talks", () => {
  const env = fakeEnv();
  const connection = new Connection("ws://x/v1/signal", env);
  let lost = 0;
  connection.on("lost", () => lost++);
  connection.start();
  const socket = env.sockets[0];
  socket.hello({ pingInterval: 20 });
  for (let i = 0; i < 12; i++) {
    env.advance(5_000);
    socket.frame("room_knocked", {});
  }
  assert.equal(socket.pings(), 0, "frames every 5 s: nothing to ask");
  env.advance(20_000);
  assert.equal(socket.pings(), 1);
  socket.frame("pong");
  env.advance(10_000);
  assert.equal(env.live(), 1);
  env.advance(10_000);
  assert.equal(socket.pings(), 2, "asked again after another interval of silence");
  socket.frame("pong");
  // A hidden tab's timers may fire a minute late: the answer came, the socket stays.
  env.advance(60_000);
  assert.equal(lost, 0);
  assert.equal(env.live(), 1);
  // Without the interval in hello (an older server), 20 s.
  const older = new Connection("ws://x/v1/signal", env);
  older.start();
  env.sockets.at(-1).hello();
  env.advance(20_000);
  assert.equal(env.sockets.at(-1).pings(), 1);
});

test("the signalling URL names the page's room, as it appears in the page's path, for a balancer to hash on", () => {
  const url = (href) => {
    const location = new URL(href);
    return signallingUrl(readParams(location).roomName, location);
  };
  assert.equal(url("https://meet.example.com/team-sync?displayName=Pat"), "wss://meet.example.com/v1/signal?room=team-sync");
  assert.equal(url("http://127.0.0.1:8080/r%C3%A9union/extra"), "ws://127.0.0.1:8080/v1/signal?room=r%C3%A9union");
  assert.equal(url("http://127.0.0.1:8080/"), "ws://127.0.0.1:8080/v1/signal");
});

test("under a public URL with a path, the page's room and its signalling endpoint are under that path", () => {
  const url = (href) => {
    const location = new URL(href);
    return signallingUrl(readParams(location, "/apps/meet").roomName, location, "/apps/meet");
  };
  assert.equal(url("https://example.com/apps/meet/team-sync?displayName=Pat"), "wss://example.com/apps/meet/v1/signal?room=team-sync");
  assert.equal(url("https://example.com/apps/meet/"), "wss://example.com/apps/meet/v1/signal");
  assert.equal(url("https://example.com/apps/meet"), "wss://example.com/apps/meet/v1/signal");
  assert.equal(readParams(new URL("https://example.com/apps/meetings/x"), "/apps/meet").roomName, "/apps",
    "a path that only begins like the base is not under it");
});

test("a socket that never opens is counted, try after try, until one opens", () => {
  const { env, connection, events } = watched("failed", "lost");
  connection.start();
  for (let i = 0; i < 3; i++) {
    env.sockets.at(-1).fail();
    env.advance(20_000);
  }
  env.sockets.at(-1).hello();
  env.sockets.at(-1).fail();
  env.advance(20_000);
  env.sockets.at(-1).fail();
  assert.deepEqual(events, ["failed 1", "failed 2", "failed 3", "lost", "failed 1"], "an open socket's close is a loss; the count starts again after it");
});
