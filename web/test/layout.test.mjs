// The stage layout, for 1 to 200 tiles at the window sizes people use.
import { test } from "node:test";
import assert from "node:assert/strict";

import { layout, ASPECT, MIN_TILE, TALLEST } from "../js/layout.js";

// Stage areas: the window less the header (about 3 rem) and the control bar (1 or 2 rows), with and
// without a side panel; and a 560 px embed.
const WINDOWS = [[1920, 969], [1536, 730], [1440, 789], [1366, 657], [1280, 800], [390, 844], [844, 390], [560, 420]];
const STAGES = WINDOWS.flatMap(([w, h]) => [
  { width: w, height: h - 48 - 64 },
  { width: w - 352, height: h - 48 - 64 },
  { width: w, height: h - 48 - 128 },
]).filter((s) => s.width > 0 && s.height > 0);

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function check(stage, count, options) {
  const result = layout(stage, count, options);
  const label = `${count} tiles in ${stage.width}x${stage.height} ${JSON.stringify(options)}`;
  assert.ok(result.tiles.length > 0, `${label}: nothing shown`);
  for (const tile of result.tiles) {
    assert.ok(tile.x >= 0 && tile.y >= 0, `${label}: tile ${tile.index} starts outside`);
    assert.ok(tile.x + tile.width <= stage.width && tile.y + tile.height <= stage.height, `${label}: tile ${tile.index} ends outside ${JSON.stringify(tile)}`);
    // 16:9, or taller (down to 2:3) only on a stage taller than wide.
    const tallest = stage.height > stage.width ? TALLEST : ASPECT;
    const aspect = tile.width / tile.height;
    assert.ok(aspect < ASPECT + 0.05 && aspect > tallest - 0.05, `${label}: tile ${tile.index} lost its aspect (${aspect.toFixed(2)})`);
  }
  for (let i = 0; i < result.tiles.length; i++) {
    for (let j = i + 1; j < result.tiles.length; j++) {
      assert.ok(!overlaps(result.tiles[i], result.tiles[j]), `${label}: tiles ${result.tiles[i].index} and ${result.tiles[j].index} overlap`);
    }
  }
  return result;
}

test("every tile fits, keeps its aspect and overlaps none, for 1 to 200 tiles", () => {
  for (const stage of STAGES) {
    for (let count = 1; count <= 200; count++) {
      const first = check(stage, count, {});
      // Paged: every tile is on exactly one page.
      const seen = new Set();
      for (let page = 0; page < first.pages; page++) {
        for (const tile of check(stage, count, { page }).tiles) {
          assert.ok(!seen.has(tile.index), `tile ${tile.index} on two pages`);
          seen.add(tile.index);
        }
      }
      assert.equal(seen.size, count, `${count} tiles in ${stage.width}x${stage.height}: some on no page`);
    }
  }
});

test("tiles are never smaller than readable; beyond that the grid pages", () => {
  for (const stage of STAGES) {
    for (const count of [4, 25, 100, 200]) {
      const result = layout(stage, count, {});
      const fitsOne = stage.width >= MIN_TILE.width && stage.height >= MIN_TILE.height;
      if (result.pages > 1 && fitsOne) {
        for (const tile of result.tiles) {
          assert.ok(tile.width >= MIN_TILE.width - 1, `${count} in ${stage.width}x${stage.height}: ${tile.width} px wide`);
        }
      }
    }
  }
});

test("a lone person fills the stage", () => {
  const { tiles } = layout({ width: 1920, height: 857 }, 1, {});
  assert.equal(tiles.length, 1);
  assert.ok(tiles[0].height >= 850 || tiles[0].width >= 1500, JSON.stringify(tiles[0]));
});

test("speaker view: the featured tile is large, the others in a strip, all without overlap", () => {
  for (const stage of STAGES) {
    for (const count of [2, 3, 6, 30, 200]) {
      for (const featured of [0, count - 1]) {
        const result = check(stage, count, { mode: "speaker", featured });
        const big = result.tiles.find((t) => t.featured);
        assert.equal(big.index, featured);
        for (const other of result.tiles.filter((t) => !t.featured)) {
          assert.ok(other.width <= big.width, `${count} in ${stage.width}x${stage.height}: a strip tile is bigger than the speaker`);
        }
      }
    }
  }
});

test("several in the spotlight share the large area, the others in the strip, none larger than they", () => {
  for (const stage of STAGES) {
    for (const count of [3, 5, 30, 200]) {
      for (const featured of [[0, 1], [count - 1, 0, 1], [0, 1, 2, count - 1]]) {
        if (new Set(featured).size !== featured.length || featured.length >= count) continue;
        const result = check(stage, count, { featured });
        const big = result.tiles.filter((t) => t.featured);
        // As many as fit at a readable size (all of them, but on a sliver of a stage), in order.
        assert.ok(big.length >= 1, `${count} in ${stage.width}x${stage.height}: the spotlight's large`);
        assert.deepEqual(big.map((t) => t.index), featured.slice(0, big.length), `${count} in ${stage.width}x${stage.height}: in order`);
        if (stage.width >= 390 && stage.height >= 300) assert.equal(big.length, featured.length, `${count} in ${stage.width}x${stage.height}: all large`);
        // (Compared by area: on a tall stage, the spotlight's tiles may be taller than wide.)
        const smallest = Math.min(...big.map((t) => t.width * t.height));
        for (const other of result.tiles.filter((t) => !t.featured)) {
          assert.ok(other.width * other.height <= smallest, `${count} in ${stage.width}x${stage.height}: a strip tile is bigger than one in the spotlight`);
        }
      }
    }
  }
  // Everyone on the stage is in the spotlight (a viewer's stage, without a tile of their own): a grid.
  const all = check(STAGES[0], 2, { featured: [0, 1] });
  assert.equal(all.tiles.length, 2);
  // One's own floating tile stays afloat beside several featured.
  const floating = layout(STAGES[0], 4, { featured: [1, 2], floating: 0 });
  assert.ok(floating.tiles.find((t) => t.index === 0).floating);
  assert.deepEqual(floating.tiles.filter((t) => t.featured).map((t) => t.index), [1, 2]);
});

test("nothing to show, or no room to show it", () => {
  assert.deepEqual(layout({ width: 800, height: 600 }, 0), { tiles: [], page: 0, pages: 0, perPage: 0 });
  assert.deepEqual(layout({ width: 0, height: 600 }, 3), { tiles: [], page: 0, pages: 0, perPage: 0 });
});

test("on a phone held upright, tiles grow taller instead of leaving empty bands", () => {
  // 390x844 less the header and two rows of controls.
  const stage = { width: 390, height: 844 - 48 - 128 };
  const two = layout(stage, 2, {});
  const usedH = two.tiles.reduce((sum, t) => sum + t.height, 0);
  assert.ok(usedH >= stage.height - 16, `two tiles use ${usedH} of ${stage.height} px in height`);
  for (const tile of two.tiles) assert.ok(tile.width >= stage.width - 16, `tile ${tile.index} is ${tile.width} px wide`);
  // Four and six share two columns of taller tiles rather than a narrow column of small ones.
  for (const count of [4, 6]) {
    const tiles = layout(stage, count, {}).tiles;
    assert.equal(new Set(tiles.map((t) => t.x)).size, 2, JSON.stringify(tiles));
    assert.ok(tiles.every((t) => t.width >= MIN_TILE.width && t.height > t.width), JSON.stringify(tiles[0]));
  }
  const alone = layout(stage, 1, {}).tiles[0];
  assert.ok(Math.abs(alone.width / alone.height - TALLEST) < 0.02, `alone: ${alone.width}x${alone.height}`);
  // Held sideways, and on desktops, tiles stay 16:9.
  for (const wide of [{ width: 844, height: 390 - 48 - 64 }, { width: 1366, height: 657 - 48 - 64 }]) {
    for (const tile of layout(wide, 2, {}).tiles) assert.ok(Math.abs(tile.width / tile.height - ASPECT) < 0.02);
  }
});

test("on a phone held upright, a shared screen keeps its aspect and leaves the rest to the others", () => {
  const stage = { width: 390, height: 844 - 48 - 128 };
  const result = layout(stage, 4, { featured: 0, wholeFeatured: true });
  const big = result.tiles.find((t) => t.featured);
  assert.ok(Math.abs(big.width / big.height - ASPECT) < 0.02, JSON.stringify(big));
  assert.equal(result.pages, 1, "the three others fit beside it on one page");
  for (const tile of result.tiles) assert.ok(tile.width >= MIN_TILE.width && tile.height <= big.height, JSON.stringify(tile));
  // A featured camera may still be taller (it is cropped, not shown whole).
  const camera = layout(stage, 4, { featured: 0 }).tiles.find((t) => t.featured);
  assert.ok(camera.height > camera.width, JSON.stringify(camera));
});

test("a shared screen and the one other sit together, centred, not a band apart (a phone upright and on its side)", () => {
  const stage = { width: 374, height: 686 };
  const [screen, other] = layout(stage, 2, { featured: 0, wholeFeatured: true }).tiles;
  assert.equal(other.y - (screen.y + screen.height), 8, `the other right under the screen: ${JSON.stringify([screen, other])}`);
  const above = screen.y;
  const below = stage.height - (other.y + other.height);
  assert.ok(Math.abs(above - below) <= 1, `as much room above as below: ${above}, ${below}`);
  // On its side: the other right beside the screen, as much room left as right.
  const wide = { width: 828, height: 270 };
  const [shown, beside] = layout(wide, 2, { featured: 0, wholeFeatured: true }).tiles;
  assert.equal(beside.x - (shown.x + shown.width), 8, `the other right beside the screen: ${JSON.stringify([shown, beside])}`);
  assert.ok(Math.abs(shown.x - (wide.width - beside.x - beside.width)) <= 1, JSON.stringify([shown, beside]));
});

test("floatSelf: one's own tile small in the bottom right-hand corner, the others laid out whole", () => {
  for (const stage of STAGES) {
    for (const count of [2, 3, 5, 30]) {
      const self = 0;
      const result = layout(stage, count, { floating: self });
      const label = `${count} tiles in ${stage.width}x${stage.height}`;
      const floating = result.tiles.filter((t) => t.floating);
      assert.equal(floating.length, 1, `${label}: one floating tile`);
      const [own] = floating;
      assert.equal(own.index, self);
      assert.ok(own.x + own.width === stage.width && own.y + own.height === stage.height, `${label}: in the corner ${JSON.stringify(own)}`);
      assert.ok(own.width >= Math.min(MIN_TILE.width, stage.width / 2 - 1) && own.width <= stage.width / 2 && own.height <= stage.height / 2, `${label}: small but readable ${JSON.stringify(own)}`);
      const tallest = stage.height > stage.width ? TALLEST : ASPECT;
      const aspect = own.width / own.height;
      assert.ok(aspect < ASPECT + 0.05 && aspect > tallest - 0.05, `${label}: floating tile's aspect ${aspect.toFixed(2)}`);
      // The others are exactly what a stage without one's own tile would show.
      const without = layout(stage, count - 1, {});
      const others = result.tiles.filter((t) => !t.floating);
      assert.deepEqual(others.map(({ x, y, width, height }) => ({ x, y, width, height })), without.tiles.map(({ x, y, width, height }) => ({ x, y, width, height })), label);
      assert.ok(others.every((t) => t.index !== self), `${label}: one's own tile placed twice`);
    }
  }
  // Alone, or featured (pinned, sharing a screen): laid out as anyone else.
  const stage = { width: 1366, height: 545 };
  assert.equal(layout(stage, 1, { floating: 0 }).tiles[0].floating, undefined);
  const featured = layout(stage, 3, { floating: 1, featured: 1 });
  assert.ok(featured.tiles.every((t) => !t.floating) && featured.tiles.find((t) => t.index === 1).featured);
  // Someone else featured: still featured, one's own tile floats.
  const speaker = layout(stage, 3, { floating: 0, featured: 2 });
  assert.equal(speaker.tiles.find((t) => t.index === 2).featured, true);
  assert.equal(speaker.tiles.find((t) => t.index === 0).floating, true);
});
