// Three anteroom nodes on one PostgreSQL and one Redis, behind Debian's nginx configured with the
// load-balancer block of docs/deployment.md: what a team that outgrows one machine runs.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { documentedBlock, freePort, startNginx } from "./nginx.mjs";
import { BIN, serve, stopChild } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

/** PostgreSQL: the test command's (ANTEROOM_TEST_POSTGRES_URL), or a private one started here. */
function postgres() {
  if (process.env.ANTEROOM_TEST_POSTGRES_URL) return { admin: process.env.ANTEROOM_TEST_POSTGRES_URL, stop() {} };
  // Its own directory under /tmp: PostgreSQL runs as the postgres user, who must reach it.
  const services = mkdtempSync(path.join(tmpdir(), "anteroom-pg-"));
  const exports = execFileSync(path.join(root, "scripts/services.sh"), ["start", services]).toString();
  const admin = exports.match(/ANTEROOM_TEST_POSTGRES_URL=['"]?([^'"\s]+)/)?.[1];
  if (!admin) throw new Error(`scripts/services.sh said no PostgreSQL URL: ${exports}`);
  return {
    admin,
    stop() {
      execFileSync(path.join(root, "scripts/services.sh"), ["stop", services]);
      rmSync(services, { recursive: true, force: true });
    },
  };
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: "ignore" });
  for (let i = 0; i < 250; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    });
    if (up) return { child, url: `redis://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("redis-server did not start");
}

/** nginx on `port` with docs/deployment.md's balancer, its servers the nodes at `upstreams`. */
async function startBalancer(dir, port, upstreams) {
  const servers = upstreams.map((base) => `    server ${new URL(base).host} max_fails=1 fail_timeout=10s;`);
  let block = documentedBlock("the cluster browser test reads the block below");
  const documented = block.match(/^ *server 10\.0\.0\.\d+:8080 .*$/gm) || [];
  if (documented.length !== upstreams.length) throw new Error(`docs/deployment.md's upstream has ${documented.length} servers, not ${upstreams.length}`);
  documented.forEach((line, i) => { block = block.replace(line, servers[i]); });
  // (Plain HTTP on loopback here: no certificate, nor HTTP/2, which browsers speak only over TLS.)
  if (!/listen 443 ssl( http2)?;/.test(block)) throw new Error("docs/deployment.md's balancer has no `listen 443 ssl http2;`");
  block = block.replace(/listen 443 ssl( http2)?;/, `listen 127.0.0.1:${port};`);
  return startNginx(dir, port, block);
}

/** `nodes` anteroom nodes, their store and bus, and nginx in front; people use `base` (nginx). */
export async function startCluster({ nodes = 3, leaseMs = 3000 } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "anteroom-cluster-"));
  const started = [];
  const cleanUp = async () => {
    for (const stop of started.reverse()) {
      try { await stop(); } catch (error) { console.warn(`cleaning up the cluster: ${error.message}`); }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return await startIn(dir, started, cleanUp, { nodes, leaseMs });
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function startIn(dir, started, cleanUp, { nodes, leaseMs }) {
  const pg = postgres();
  started.push(() => pg.stop());
  const database = new URL(pg.admin);
  const name = `e2e_${path.basename(dir).replace(/[^a-z0-9]/gi, "_").toLowerCase()}`;
  execFileSync("psql", [pg.admin, "-q", "-c", `CREATE DATABASE ${name}`]);
  database.pathname = `/${name}`;
  started.push(() => execFileSync("psql", [pg.admin, "-q", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]));
  const redis = await startRedis(dir);
  started.push(() => redis.child.kill("SIGTERM"));
  const key = execFileSync(BIN, ["api-key", "create", "--database-url", database.toString()], { env: { ...process.env, ANTEROOM_LOG: "warn" } })
    .toString().trim();
  const nginxPort = await freePort();
  const base = `http://127.0.0.1:${nginxPort}`;
  const args = ["--database-url", database.toString(), "--redis-url", redis.url, "--public-url", base,
    "--trusted-proxies", "127.0.0.1", "--room-lease-ms", String(leaseMs)];
  const running = [];
  for (let i = 0; i < nodes; i++) {
    const logs = [];
    const dataDir = path.join(dir, `node${i}`);
    mkdirSync(dataDir);
    const node = { ...(await serve(dataDir, "127.0.0.1:0", args, logs)), logs };
    running.push(node);
    started.push(() => stopChild(node.child));
  }
  const nginx = await startBalancer(dir, nginxPort, running.map((node) => node.base));
  started.push(() => nginx.kill("SIGTERM"));
  const alive = (node) => node.child.exitCode === null && !node.child.signalCode;
  /** One figure of a node's /metrics (0 when it has not been counted yet). */
  const figure = async (node, name) => {
    const text = await fetch(`${node.base}/metrics`, { headers: { Authorization: `Bearer ${key}` } }).then((r) => r.text());
    return Number(text.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ").pop() ?? 0);
  };
  return {
    base,
    nodes: running,
    async meeting(options = {}) {
      const response = await fetch(`${base}/v1/meetings`, {
        method: "POST",
        headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
        body: JSON.stringify({ endDate: "2099-01-01T00:00:00Z", fields: ["hostRoomUrl"], ...options }),
      });
      if (response.status !== 201) throw new Error(`creating a meeting failed: ${response.status} ${await response.text()}`);
      return response.json();
    },
    /** The node that runs the room now (the one with a live room), by index. */
    async owner() {
      for (const [index, node] of running.entries()) {
        if (!alive(node)) continue;
        if (await figure(node, "anteroom_live_rooms") > 0) return index;
      }
      return null;
    },
    /** Signalling connections the live nodes bridged to another node, in all. */
    async bridged() {
      let sum = 0;
      for (const node of running.filter(alive)) sum += await figure(node, "anteroom_bridged_connections_total");
      return sum;
    },
    /** SIGKILL: the node dies with whatever it held. */
    async kill9(index) {
      const child = running[index].child;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    stop: cleanUp,
  };
}
