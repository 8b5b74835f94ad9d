// Starts the real anteroom binary on a random loopback port with a fresh data directory, and talks
// to its REST API.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.ANTEROOM_BIN || path.resolve(here, "../../target/debug/anteroom");

/** Runs the binary on `listen` and resolves with the process and its base URL once it listens. */
export async function serve(dataDir, listen, extraArgs, logs) {
  // The media server on loopback only (tests send no traffic elsewhere), on a free port.
  // Chromium also sends checks from its other interfaces' addresses: those get no answer.
  const media = ["--media-udp-port", "0", "--media-bind-ip", "127.0.0.1", "--media-public-ip", "127.0.0.1", "--media-peer-networks", "127.0.0.0/8"];
  const child = spawn(BIN, ["serve", "--listen", listen, "--data-dir", dataDir, ...media, ...extraArgs], {
    env: { ...process.env, ANTEROOM_LOG: process.env.ANTEROOM_LOG || "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join("\n")}`)), 20000);
    let buffered = "";
    child.stderr.on("data", (chunk) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop();
      for (const line of lines) {
        logs.push(line);
        const match = line.match(/listening on (http:\/\/\S+)/);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${logs.join("\n")}`)));
  });
  return { child, base };
}

export async function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/**
 * A server of its own. With `publicUrl` (a proxy's address, perhaps with a path), the server is
 * told it is reached there, and `base` (and the REST calls) go there; `backend` is the server's own.
 */
export async function startServer(args = [], { publicUrl } = {}) {
  const extraArgs = publicUrl ? [...args, "--public-url", publicUrl] : args;
  const dataDir = mkdtempSync(path.join(tmpdir(), "anteroom-e2e-"));
  const key = execFileSync(BIN, ["api-key", "create", "--data-dir", dataDir], { env: { ...process.env, ANTEROOM_LOG: "warn" } })
    .toString().trim();
  const logs = [];
  let { child, base: backend } = await serve(dataDir, "127.0.0.1:0", extraArgs, logs);
  const base = publicUrl ?? backend;
  const api = async (method, route, body) => {
    const response = await fetch(base + route, {
      method,
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  return {
    base,
    backend,
    key,
    logs,
    api,
    async meeting(options = {}) {
      const { status, body } = await api("POST", "/v1/meetings", {
        endDate: "2099-01-01T00:00:00Z",
        fields: ["hostRoomUrl", "viewerRoomUrl"],
        ...options,
      });
      if (status !== 201) throw new Error(`creating a meeting failed: ${status} ${JSON.stringify(body)}`);
      return body;
    },
    /** One figure of /metrics (NaN when absent). */
    async metric(name) {
      const response = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${key}` } });
      const text = await response.text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return Number(line?.split(" ").pop() ?? NaN);
    },
    /**
     * A participant's stay in the room's first session, as `/v1/insights/participant` has it once
     * its network samples are kept (the participant has left); within 5 s.
     */
    async stayWithSamples(roomName, clientId) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const sessions = await api("GET", `/v1/insights/room-sessions?roomName=${roomName}`);
        const session = sessions.body?.results?.[0]?.roomSessionId;
        const { body } = await api("GET", `/v1/insights/participant?roomSessionId=${session}&participantId=${clientId}`);
        if (body?.[0]?.sampleRateMs) return body[0];
        if (Date.now() > deadline) throw new Error(`no network samples for ${clientId}: ${JSON.stringify(body)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    /** Open signalling sockets, as the server counts them. */
    async sockets() {
      return this.metric("anteroom_websocket_connections");
    },
    /**
     * Stops the server as an operator would (SIGTERM), or kills it as a crash would (`crash: true`,
     * SIGKILL), and starts it again on the same port and data.
     */
    async restart({ crash = false } = {}) {
      await stopChild(child, crash ? "SIGKILL" : "SIGTERM");
      ({ child } = await serve(dataDir, new URL(backend).host, extraArgs, logs));
    },
    /** Makes the server stand still (SIGSTOP): its sockets stay open, nothing answers on them. */
    pause() {
      child.kill("SIGSTOP");
    },
    resume() {
      child.kill("SIGCONT");
    },
    async stop() {
      await stopChild(child);
      // ANTEROOM_E2E_LOGS=dir keeps each server's log there, to read what it did after a run.
      if (process.env.ANTEROOM_E2E_LOGS) writeFileSync(path.join(process.env.ANTEROOM_E2E_LOGS, `server-${path.basename(dataDir)}.log`), logs.join("\n"));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
