// A real TURN server for the tests: Debian's coturn on a free loopback port, with the shared-secret
// ("TURN REST API") authentication that anteroom mints browser credentials for.
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";

/** A UDP port nothing listens on right now. */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export async function startTurn() {
  const port = await freeUdpPort();
  const secret = randomBytes(24).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "anteroom-turn-"));
  const child = spawn("turnserver", [
    "-n", "--no-cli", "--no-tls", "--no-dtls",
    "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${port}`,
    "--use-auth-secret", `--static-auth-secret=${secret}`, "--realm=anteroom",
    "--allow-loopback-peers", `--userdb=${path.join(dir, "turndb")}`,
    `--pidfile=${path.join(dir, "turnserver.pid")}`, "--log-file=stdout", "--simple-log",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  const logs = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start:\n${logs.join("")}`)), 10000);
    const watch = (chunk) => {
      logs.push(chunk.toString());
      // coturn says this once its listeners are up.
      if (/Total General servers/.test(logs.join(""))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", watch);
    child.stderr.on("data", watch);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`coturn exited with ${code}:\n${logs.join("")}`)));
  });
  return {
    port,
    secret,
    logs,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
