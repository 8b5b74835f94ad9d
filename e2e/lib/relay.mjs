// A TCP relay between browsers and the server that can go silent without closing anything, as a
// laptop woken from sleep or a network that drops packets rather than refusing them does: once
// cut, what either side sends is swallowed, and every connection stays open (none ever closes or
// resets); connections made while it is cut are as silent. Healed, new connections carry again;
// the ones it swallowed stay dead.
import net from "node:net";

export async function startRelay() {
  let upstream = null;
  let cut = false;
  const pairs = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(upstream, "127.0.0.1");
    const pair = { inbound, outbound, dead: cut };
    pairs.add(pair);
    inbound.on("data", (data) => { if (!pair.dead) outbound.write(data); });
    outbound.on("data", (data) => { if (!pair.dead) inbound.write(data); });
    const end = () => {
      if (pair.dead) return;
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    for (const socket of [inbound, outbound]) {
      socket.on("error", () => {});
      socket.on("close", end);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    /** Where it relays to: the server's own address (`startServer`'s `backend`). */
    to(backend) { upstream = Number(new URL(backend).port); },
    cut() {
      cut = true;
      for (const pair of pairs) pair.dead = true;
    },
    heal() { cut = false; },
    async stop() {
      for (const { inbound, outbound } of pairs) {
        inbound.destroy();
        outbound.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
