// Debian's nginx in front of anteroom, configured with a block docs/deployment.md gives (the tests
// read it from there, so the documented configuration is the tested one).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first ```nginx block of docs/deployment.md after `marker` (a comment there). */
export function documentedBlock(marker) {
  const doc = readFileSync(path.join(root, "docs/deployment.md"), "utf8");
  const at = doc.indexOf(marker);
  if (at < 0) throw new Error(`docs/deployment.md lost its marker ${JSON.stringify(marker)}`);
  const start = doc.indexOf("```nginx\n", at) + "```nginx\n".length;
  return doc.slice(start, doc.indexOf("```", start));
}

/**
 * nginx on 127.0.0.1:`port` with `server` (a `server { … }` block, or what goes inside one, then
 * `wrap`ped), its files in `dir`; resolves once `ready` (a path) answers through it.
 */
export async function startNginx(dir, port, server, ready = "/readyz") {
  const at = (name) => path.join(dir, name);
  const config = `daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log stderr;\npid ${at("nginx.pid")};\nevents {}\nhttp {\n`
    + `access_log off;\nclient_body_temp_path ${at("body")};\nproxy_temp_path ${at("proxy")};\nfastcgi_temp_path ${at("fcgi")};\n`
    + `uwsgi_temp_path ${at("uwsgi")};\nscgi_temp_path ${at("scgi")};\n`
    + `map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n${server}\n}\n`;
  writeFileSync(at("nginx.conf"), config);
  const child = spawn("nginx", ["-c", at("nginx.conf"), "-p", dir, "-e", "stderr"], { stdio: ["ignore", "ignore", "pipe"] });
  const errors = [];
  child.stderr.on("data", (chunk) => errors.push(chunk.toString()));
  for (let i = 0; i < 250; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}${ready}`).then((r) => r.ok, () => false);
    if (ok) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGTERM");
  throw new Error(`nginx did not start: ${errors.join("")}`);
}
