import { startServer } from "./lib/server.mjs";
import { launch, newPage } from "./lib/browser.mjs";
import { enter, enterAsHost, TIMEOUT } from "./lib/flows.mjs";
const shot = (p, n) => p.screenshot({ path: `/tmp/walk/${n}.png` });
const server = await startServer();
const browser = await launch({ cameras: 3 });
try {
  const meeting = await server.meeting({ isLocked: false });
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const host = await ctx.newPage();
  await enter(host, meeting.hostRoomUrl, "Dr Lee");
  await host.waitForSelector(".screen.call", { timeout: TIMEOUT });
  await host.click("#people-toggle");
  await host.waitForTimeout(1500);
  await shot(host, "210-1024-1");
  const g = await (await browser.newContext({ viewport: { width: 800, height: 600 } })).newPage();
  await enter(g, meeting.roomUrl, "Ann");
  await host.waitForTimeout(3000);
  await shot(host, "211-1024-2");
  const g2 = await (await browser.newContext({ viewport: { width: 800, height: 600 } })).newPage();
  await enter(g2, meeting.roomUrl, "Bob");
  await host.waitForTimeout(3000);
  await shot(host, "212-1024-3");
  console.log(await host.evaluate(() => [...document.querySelectorAll(".tile")].map((t) => `${t.offsetWidth}x${t.offsetHeight}`)));
} finally { await browser.close(); await server.stop(); }
