import { startServer } from "./lib/server.mjs";
import { launch, newPage } from "./lib/browser.mjs";
import { TIMEOUT } from "./lib/flows.mjs";
const shot = (p, n) => p.screenshot({ path: `/tmp/walk/${n}.png` });
const server = await startServer();
const browser = await launch({});
const LONG = ["Microphone Array (Realtek(R) High Definition Audio with SST and Intel Smart Sound Technology)", "Integrated Camera: Integrated RGB Camera (04f2:b6dd) — Chicony Electronics Co., Ltd.", "Headset Earphone (Jabra Evolve2 85 Bluetooth Hands-Free AG Audio) - Communications"];
try {
  const meeting = await server.meeting({ isLocked: false });
  for (const [w, hgt] of [[1366, 657], [390, 844], [844, 390]]) {
    const context = await browser.newContext({ viewport: { width: w, height: hgt } });
    await context.addInitScript((LONG) => {
      const orig = MediaDevices.prototype.enumerateDevices;
      MediaDevices.prototype.enumerateDevices = async function () {
        const list = await orig.call(this);
        return list.map((d, i) => ({ deviceId: d.deviceId, groupId: d.groupId, kind: d.kind, label: d.label ? `${LONG[i % LONG.length]} ${i}` : "", toJSON() { return this; } }));
      };
    }, LONG);
    const page = await context.newPage(); page.errors = [];
    page.on("pageerror", (e) => page.errors.push(e.message));
    await page.goto(meeting.roomUrl);
    await page.waitForTimeout(2500);
    await shot(page, `200-precall-${w}x${hgt}`);
    await page.fill("input[name=displayName], #display-name", "Pat").catch(() => {});
    const btn = page.locator("button", { hasText: /Continue|Join|Enter/ }).first();
    await btn.click().catch((e) => console.log("join", e.message.slice(0, 80)));
    await page.waitForSelector(".screen.call", { timeout: TIMEOUT }).catch(() => {});
    await page.waitForTimeout(1000);
    await page.click("#settings-toggle").catch((e) => console.log("settings", e.message.slice(0, 80)));
    await page.waitForTimeout(800);
    await shot(page, `201-settings-${w}x${hgt}`);
    const over = await page.evaluate(() => [...document.querySelectorAll("select, label, option")].filter((e) => e.scrollWidth > e.clientWidth + 1 && e.tagName !== "OPTION").map((e) => `${e.tagName}#${e.id} ${e.scrollWidth}>${e.clientWidth}`));
    console.log(w, hgt, "overflow", over, "docw", await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]), page.errors);
    await context.close();
  }
} finally { await browser.close(); await server.stop(); }
