// A server given a path of a site (`--public-url http://…/meet`), behind nginx configured with
// docs/deployment.md's block with `location /meet/`: the landing page, the pre-call check, a knock,
// a let-in and a call all work there, and no page asks for anything outside the path.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { startServer } from "../lib/server.mjs";
import { documentedBlock, freePort, startNginx } from "../lib/nginx.mjs";
import { launch, opener, screenshot } from "../lib/browser.mjs";
import { TIMEOUT, enterAsHost, knock, openPeople, knockerItem, remoteVideosPlay, noPageErrors } from "../lib/flows.mjs";

let server;
let nginx;
let browser;
let dir;
let publicUrl;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "anteroom-subpath-"));
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}/meet`;
  server = await startServer(["--trusted-proxies", "127.0.0.1"], { publicUrl });
  const location = documentedBlock("the tests read the block below");
  assert.match(location, /^location \/ \{/m, "the documented block is for the site's root");
  const block = location.replace(/^location \/ \{/m, "location /meet/ {").replace("127.0.0.1:8080", new URL(server.backend).host);
  nginx = await startNginx(dir, port, `server {\nlisten 127.0.0.1:${port};\n${block}\n}`, "/meet/readyz");
  browser = await launch();
});

after(async () => {
  await browser?.close();
  nginx?.kill("SIGTERM");
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every request `page` makes to the server, and every one that failed or was answered 4xx/5xx. */
function watchRequests(page) {
  const seen = { urls: [], failed: [] };
  const origin = new URL(publicUrl).origin;
  page.on("request", (request) => {
    if (request.url().startsWith(origin)) seen.urls.push(request.url());
  });
  page.on("requestfailed", (request) => {
    // (A page left while it loaded something aborts it: not the server's doing.)
    const why = request.failure()?.errorText;
    if (why !== "net::ERR_ABORTED") seen.failed.push(`${request.url()} ${why}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) seen.failed.push(`${response.url()} ${response.status()}`);
  });
  page.on("websocket", (socket) => seen.urls.push(socket.url().replace(/^ws/, "http")));
  return seen;
}

function everythingUnderThePath(seen, label) {
  assert.deepEqual(seen.failed, [], `${label}: nothing failed`);
  assert.ok(seen.urls.length > 10, `${label}: its requests were seen (${seen.urls.length})`);
  const outside = seen.urls.filter((url) => !new URL(url).pathname.startsWith("/meet/"));
  assert.deepEqual(outside, [], `${label}: everything asked for is under /meet/`);
}

test("under a path of a site: landing page, pre-call check, knock, let in, call and reactions", async (t) => {
  const open = opener(browser, t);
  const meeting = await server.meeting({ isLocked: true });
  assert.ok(meeting.roomUrl.startsWith(`${publicUrl}/`), `room URLs are under the path: ${meeting.roomUrl}`);

  const host = await open("host");
  const hostRequests = watchRequests(host);
  await enterAsHost(host, meeting);

  // A guest given the room's name comes in through the landing page at the path's slash.
  const guest = await open("guest");
  const guestRequests = watchRequests(guest);
  await guest.goto(`${publicUrl}/`);
  await guest.fill("#room", meeting.roomName.slice(1));
  await guest.click("button[type=submit]");
  await guest.waitForURL(`${publicUrl}${meeting.roomName}`);
  // The pre-call check times the network against the server's probe, under the path too.
  await guest.goto(`${publicUrl}${meeting.roomName}?displayName=Pat&precallCeremony=on`);
  await guest.waitForSelector("#heard-yes", { timeout: 30000 });
  await guest.click("#heard-yes");
  await guest.waitForSelector("#continue:not([disabled])", { timeout: 30000 });
  const network = await guest.textContent('[data-step="network"] .status');
  assert.equal(network, "passed", "the bandwidth probe answered");
  await guest.click("#continue");
  await guest.waitForSelector("#knock", { timeout: TIMEOUT });
  await guest.click("#knock");
  await guest.waitForSelector("#waiting-status", { timeout: TIMEOUT });

  await openPeople(host);
  await knockerItem(host, "Pat").getByRole("button", { name: "Let in" }).click();
  await guest.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await remoteVideosPlay(host, 1);
  await remoteVideosPlay(guest, 1);

  // Icons and reactions' pictures come from the path's assets.
  const icon = await host.locator("#reactions-toggle .icon").evaluate((el) => getComputedStyle(el).getPropertyValue("--icon"));
  assert.match(icon, /\/meet\/assets\/vendor\/icons\//, "icons are under the path");
  await guest.click("#reactions-toggle");
  await guest.click('#reaction-picker [data-reaction="clap"]');
  const bubble = host.locator('.reaction-bubble[data-reaction="clap"] img');
  await bubble.waitFor({ timeout: TIMEOUT });
  assert.ok(await bubble.evaluate((img) => img.complete && img.naturalWidth > 0), "the reaction's picture loaded");
  await screenshot(host, "subpath-call");
  // The invite link the host copies is the room's URL, under the path.
  await host.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(publicUrl).origin });
  await host.click("#copy-invite");
  await host.locator(".toast", { hasText: "Invite link copied" }).waitFor({ timeout: TIMEOUT });
  assert.equal(await host.evaluate(() => navigator.clipboard.readText()), meeting.roomUrl);

  everythingUnderThePath(hostRequests, "host");
  everythingUnderThePath(guestRequests, "guest");
  noPageErrors(host, guest);
});

test("under a path of a site: the API answers there, and outside it says where the server is", async () => {
  const { status, body } = await server.api("GET", "/v1/meetings");
  assert.equal(status, 200, JSON.stringify(body));
  const outside = await fetch(`${server.backend}/v1/meetings`, { headers: { Authorization: `Bearer ${server.key}` } });
  assert.equal(outside.status, 404);
  assert.match((await outside.json()).error, /under \/meet\//);
});
