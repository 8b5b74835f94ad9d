// What every screen must hold at every size: controls that can be clicked where they are drawn,
// tiles that overlap nothing, and no serious accessibility fault (axe-core, from npm).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** The window sizes people use (and the one the issue found tests hiding behind). */
export const SIZES = [
  { name: "1920x969", width: 1920, height: 969 },
  { name: "1536x730", width: 1536, height: 730 },
  { name: "1366x657", width: 1366, height: 657 },
  { name: "1280x800", width: 1280, height: 800 },
  { name: "390x844", width: 390, height: 844 },
  { name: "844x390", width: 844, height: 390 },
];

/**
 * The geometry of the call screen as drawn: for every visible button in the header, the controls
 * and the open panel, what `elementFromPoint` finds at its centre; every visible tile's rectangle;
 * the control bar's, the header's and the open panel's.
 */
async function callGeometry(page) {
  return page.evaluate(() => {
    const rect = (el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    };
    const visible = (el) => el.checkVisibility() && el.getBoundingClientRect().width > 0;
    const buttons = [...document.querySelectorAll(".call-header button, .controls button, .panel:not([hidden]) button")]
      .filter(visible)
      .map((button) => {
        // A button in a scrolling panel is reachable by scrolling to it, as a person would.
        button.scrollIntoView({ block: "nearest", inline: "nearest" });
        const r = button.getBoundingClientRect();
        const cx = r.x + r.width / 2;
        const cy = r.y + r.height / 2;
        const hit = document.elementFromPoint(cx, cy);
        return {
          name: button.id || button.getAttribute("aria-label") || button.textContent.trim(),
          inside: cx >= 0 && cy >= 0 && cx <= innerWidth && cy <= innerHeight,
          hit: Boolean(hit && button.contains(hit)),
          found: hit ? `${hit.tagName.toLowerCase()}${hit.id ? `#${hit.id}` : ""}.${hit.className}` : "nothing",
        };
      });
    const panel = document.querySelector(".panel:not([hidden])");
    return {
      viewport: { width: innerWidth, height: innerHeight },
      buttons,
      tiles: [...document.querySelectorAll(".tile")].filter(visible).map((tile) => {
        const video = tile.querySelector("video");
        // Where the stage placed it (its style), and its video's box: a stylesheet's rule meant
        // for something else can draw a tile smaller than its place, or its video inside a margin.
        const placed = { width: parseFloat(tile.style.width), height: parseFloat(tile.style.height) };
        return { id: tile.dataset.clientId, ...rect(tile), placed, video: video ? rect(video) : null };
      }),
      controls: rect(document.querySelector(".controls")),
      // Whether the control bar's buttons take more than one row.
      controlsWrap: (() => {
        const tops = [...document.querySelectorAll(".controls .control")].filter(visible).map((b) => b.getBoundingClientRect().top);
        return tops.some((top) => Math.abs(top - tops[0]) > 4);
      })(),
      header: document.querySelector(".call-header")?.checkVisibility() ? rect(document.querySelector(".call-header")) : null,
      panel: panel ? rect(panel) : null,
    };
  });
}

const overlap = (a, b) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

/**
 * The call fits once the stage has laid itself out again (a ResizeObserver, then a frame): on a
 * loaded machine that can take longer than a frame, so the check is repeated for up to 3 s and
 * the last failure reported.
 */
export async function callFitsSoon(page, label) {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      assertCallFits(await callGeometry(page), label);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await page.waitForTimeout(100);
    }
  }
}

/**
 * Asserts the call screen holds: every control reachable, every tile drawn where the stage placed
 * it with its video filling it, no tile over another or over the bars.
 */
function assertCallFits(geometry, label) {
  const unreachable = geometry.buttons.filter((b) => !b.inside || !b.hit);
  assert.deepEqual(unreachable, [], `${label}: controls covered or off screen`);
  const { tiles, controls, header, panel, viewport, controlsWrap } = geometry;
  // On a computer's window the bar keeps one row (its labels go first); a phone's has two.
  if (viewport.width > 760 && viewport.height > 500) assert.ok(!controlsWrap, `${label}: the control bar takes two rows`);
  for (const [i, tile] of tiles.entries()) {
    const near = (a, b) => Math.abs(a - b) <= 1;
    assert.ok(near(tile.width, tile.placed.width) && near(tile.height, tile.placed.height),
      `${label}: tile ${tile.id} is drawn ${tile.width}×${tile.height}, placed ${tile.placed.width}×${tile.placed.height}`);
    if (tile.video) {
      assert.ok(["x", "y", "width", "height"].every((key) => near(tile.video[key], tile[key])),
        `${label}: tile ${tile.id}'s video does not fill it: ${JSON.stringify({ tile, video: tile.video })}`);
    }
    assert.ok(tile.x >= 0 && tile.y >= 0 && tile.x + tile.width <= viewport.width + 0.5 && tile.y + tile.height <= viewport.height + 0.5,
      `${label}: tile ${tile.id} leaves the window ${JSON.stringify(tile)}`);
    for (const [name, box] of [["the control bar", controls], ["the header", header], ["the panel", panel]]) {
      if (box) assert.ok(!overlap(tile, box), `${label}: tile ${tile.id} overlaps ${name}: ${JSON.stringify({ tile, box })}`);
    }
    for (const other of tiles.slice(i + 1)) {
      assert.ok(!overlap(tile, other), `${label}: tiles overlap ${JSON.stringify({ tile, other })}`);
    }
  }
}

/**
 * Fails when any visible text among `selector` reads at less than WCAG's 4.5:1 against the
 * background it is drawn on (its own or its nearest ancestor's). axe-core leaves text of the very
 * colour of its background for a person to review, rather than failing it: this does not.
 */
export async function assertReadable(page, selector, label) {
  const unreadable = await page.evaluate(async (selector) => {
    // The client's own WCAG ratio (theme.js; its unit tests hold it to WCAG's figures).
    const { contrast } = await import("/assets/js/theme.js");
    const channels = (color) => color.match(/[\d.]+/g)?.map(Number) ?? null;
    const background = (el) => {
      for (let at = el; at; at = at.parentElement) {
        const rgb = channels(getComputedStyle(at).backgroundColor);
        if (rgb && (rgb.length < 4 || rgb[3] > 0)) return rgb;
      }
      return [255, 255, 255];
    };
    return [...document.querySelectorAll(selector)]
      .filter((el) => el.checkVisibility() && el.textContent.trim())
      .map((el) => {
        const ratio = contrast(channels(getComputedStyle(el).color).slice(0, 3), background(el).slice(0, 3));
        return { element: `${el.tagName.toLowerCase()}.${el.className}`, text: el.textContent.trim().slice(0, 40), ratio: Number(ratio.toFixed(2)) };
      })
      .filter((found) => found.ratio < 4.5);
  }, selector);
  assert.deepEqual(unreadable, [], `${label}: text that does not read on its background`);
}

/** Runs axe-core on the page as it stands; fails on any serious or critical violation. */
export async function assertAccessible(page, label) {
  // The source goes in as DevTools evaluates it, which the page's script policy does not govern.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  assert.deepEqual(violations, [], `${label}: accessibility violations`);
}
