// Monkey: random clicks on visible, enabled buttons in host and guest pages; report page errors.
import { startServer } from "./lib/server.mjs";
import { launch, newPage, offerMagentaScreen } from "./lib/browser.mjs";
import { enterAsHost, knock, openPeople } from "./lib/flows.mjs";
const server = await startServer();
const browser = await launch();
const seed = Number(process.argv[2] || 1);
let s = seed;
const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
try {
  const meeting = await server.meeting({ isLocked: true, recording: { type: "local" }, roomMode: process.env.MODE || "normal" });
  const host = await newPage(browser, "host", { viewport: { width: 1366, height: 657 } });
  await enterAsHost(host, meeting);
  const pages = [host];
  for (const [name, vp] of [["سارة 2", { width: 390, height: 844 }], ["דוד", { width: 844, height: 390 }]]) {
    const g = await newPage(browser, name, { viewport: vp });
    await offerMagentaScreen(g);
    await knock(g, meeting, name);
    pages.push(g);
  }
  await openPeople(host);
  await host.locator(".knocker .let-in").first().click();
  await host.waitForTimeout(500);
  await host.locator(".knocker .let-in").first().click();
  const log = [];
  for (let step = 0; step < 150; step++) {
    const page = pages[Math.floor(rnd() * pages.length)];
    const buttons = await page.locator("button:visible:not([disabled]):not([aria-disabled=true])").all();
    if (!buttons.length) continue;
    const b = buttons[Math.floor(rnd() * buttons.length)];
    const label = await b.evaluate((el) => el.id || el.getAttribute("aria-label") || el.textContent.trim().slice(0, 30)).catch(() => "?");
    if (/end-meeting|leave|cancel-knock|remove|reject|send-back|lock/i.test(label) && rnd() < 0.8) continue;
    log.push(`${page.label}:${label}`);
    await b.click({ timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(100 + rnd() * 300);
  }
  await host.waitForTimeout(1000);
  for (const p of pages) await p.screenshot({ path: `/tmp/walk/330-monkey-${p.label}.png` });
  console.log(log.slice(-40).join(" | "));
  console.log("errors:", pages.flatMap((p) => p.errors));
} finally { await browser.close(); await server.stop(); }
