// Cluster mode as its users meet it: three nodes behind nginx (docs/deployment.md's block), a host
// and two knockers whose pages and sockets land wherever nginx sends them (their sockets, by the
// room they name, on the room's node). The node running the room is killed mid-queue: everyone
// comes back by themselves, in the same order, with the same hold message, and the host decides as
// before.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { launch, opener, screenshot } from "../lib/browser.mjs";
import { startCluster } from "../lib/cluster.mjs";
import { TIMEOUT, until, enterAsHost, knock, openPeople, knockerItem, knockerNames, remoteVideosPlay, noPageErrorsBut } from "../lib/flows.mjs";

let cluster;
let browser;

before(async () => {
  cluster = await startCluster({ nodes: 3, leaseMs: 3000 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** Until a live node other than `killed` runs the room (its lease ran out and it was taken). */
async function newOwner(killed) {
  return until(async () => {
    const owner = await cluster.owner();
    return owner !== null && owner !== killed ? owner : undefined;
  }, "no live node took the room over");
}

/** Until the page's connection banner has stayed hidden for a second. The page hides it only when
 * the room answers (flow.js); the second guards against that rule ever being loosened again, as it
 * was when the banner hid at a socket's opening and the page was sent away again at once. */
async function connectedForASecond(page) {
  let since = null;
  await until(async () => {
    if (await page.locator("#connection-banner").isVisible()) since = null;
    else since ??= Date.now();
    return since !== null && Date.now() - since >= 1000 ? true : undefined;
  }, "the connection banner never stayed hidden");
}

/** The knocker's page waits, connected, with `hold` as the host's message. */
async function waitsWithHold(page, hold) {
  await page.waitForFunction((text) => document.getElementById("app").dataset.screen === "waiting"
    && !document.getElementById("connection-banner").checkVisibility()
    && document.getElementById("hold-message").checkVisibility()
    && document.getElementById("hold-message").textContent.includes(text), hold, { timeout: 2 * TIMEOUT });
}

test("three nodes behind nginx: knock, hold, the room's node killed, then let in and rejected", async (t) => {
  const open = opener(browser, t);
  const meeting = await cluster.meeting({ isLocked: true });
  assert.ok(meeting.roomUrl.startsWith(cluster.base), `room URLs go through the balancer: ${meeting.roomUrl}`);
  const host = await open("host");
  const kim = await open("Kim");
  const lee = await open("Lee");
  await enterAsHost(host, meeting);
  await openPeople(host);
  await knock(kim, meeting, "Kim");
  await knock(lee, meeting, "Lee");
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 2, null, { timeout: TIMEOUT });
  assert.deepEqual(await knockerNames(host), ["Kim", "Lee"]);
  await knockerItem(host, "Kim").locator(".knock-message").fill("Two minutes, please");
  await knockerItem(host, "Kim").locator(".hold").click();
  await waitsWithHold(kim, "Two minutes, please");

  // nginx hashes on the room the pages name in their signalling URL: all three reached the room's
  // node, and none was bridged there from another.
  assert.equal(await cluster.bridged(), 0, "no connection bridged: the balancer sent each to the room's node");

  // kill -9 the node that runs the room: its lease runs out and a live node takes the room over.
  const owner = await cluster.owner();
  assert.notEqual(owner, null, "a node runs the room");
  await cluster.kill9(owner);
  const killedAt = Date.now();
  await newOwner(owner);
  await Promise.all([host, kim, lee].map(connectedForASecond));
  await host.waitForFunction(() => document.querySelectorAll(".knocker").length === 2, null, { timeout: 2 * TIMEOUT });
  await waitsWithHold(kim, "Two minutes, please");
  await lee.waitForFunction(() => document.getElementById("app").dataset.screen === "waiting"
    && !document.getElementById("connection-banner").checkVisibility(), null, { timeout: 2 * TIMEOUT });
  t.diagnostic(`node ${owner} killed → everyone back (a second connected): ${Date.now() - killedAt} ms`);
  assert.deepEqual(await knockerNames(host), ["Kim", "Lee"], "the queue kept its order, once each");
  assert.notEqual(await cluster.owner(), owner, "another node runs the room");
  // The room moved to the node nginx now sends its people to: while the lease ran out their pages
  // came back to it about every half second (each attempt is greeted, which resets the backoff),
  // and the other live node waits a lease more before it adopts a room nobody came back to
  // (services/orphans.rs).
  assert.equal(await cluster.bridged(), 0, "no connection bridged after the move either");
  await screenshot(kim, "cluster-kim-on-hold-after-failover");

  // The host's screen is as it was: People still open, and no knock announced again (Kim was
  // answered with the hold; Lee's notice is the one from before).
  await screenshot(host, "cluster-host-back");
  assert.ok(await host.locator("#people-panel").isVisible(), "People stays open across the move");
  assert.deepEqual(await host.locator(".toast").allTextContents(), ["Lee is knockingOpen People"], "no knock announced twice");

  // The host decides as before: Kim in (both see each other), Lee turned away.
  await knockerItem(host, "Kim").locator(".let-in").click();
  await kim.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await knockerItem(host, "Lee").locator(".knock-message").fill("Not today");
  await knockerItem(host, "Lee").locator(".reject").click();
  await lee.waitForFunction(() => document.getElementById("app").dataset.screen === "rejected"
    && document.body.textContent.includes("Not today"), null, { timeout: TIMEOUT });
  await remoteVideosPlay(host, 1);
  await remoteVideosPlay(kim, 1);
  await screenshot(host, "cluster-host-after-failover");
  // While its node was dead, each page's browser reported the failed attempts to reconnect.
  noPageErrorsBut([/WebSocket connection to .* failed/], host, kim, lee);
});
