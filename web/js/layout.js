// Where each video tile goes on the stage: a pure function of the stage's size and the tiles, unit
// tested for 1 to 200 tiles at the window sizes people use (web/test/layout.test.mjs). Tiles keep
// their aspect (on a tall stage they may be taller, see TALLEST); none overlaps another or leaves the
// stage; beyond what fits at a readable size, the grid pages.

export const ASPECT = 16 / 9;
/**
 * On a stage taller than wide (a phone held upright), tiles may be as tall as 2:3, their video
 * cropped at the sides (object-fit: cover), rather than 16:9 with empty bands above and below.
 * (2:3 still shows a webcam's middle 38 %: the head and shoulders of someone facing it.)
 */
export const TALLEST = 2 / 3;
/** The smallest tile worth showing a face in. */
export const MIN_TILE = { width: 160, height: 90 };
export const GAP = 8;

/**
 * @param {object} stage {width, height} of the area tiles may use.
 * @param {number} count how many tiles.
 * @param {object} options {mode: "grid" | "speaker", featured: index, or indices (several in the
 *   spotlight, sharing the large area as a grid), or null, page, gap, aspect,
 *   wholeFeatured: the featured picture is shown whole (a shared screen), so its tile keeps `aspect`,
 *   floating: index | null, a tile (one's own) kept small in the bottom right-hand corner, over
 *   the others, who are laid out as if it were not there (Whereby's `floatSelf`)}
 * @returns {{tiles: {index, x, y, width, height, featured?, floating?}[], page, pages, perPage}}
 */
export function layout(stage, count, options = {}) {
  const gap = options.gap ?? GAP;
  const aspect = options.aspect ?? ASPECT;
  const area = { width: Math.max(0, Math.floor(stage.width)), height: Math.max(0, Math.floor(stage.height)) };
  if (count <= 0 || area.width <= 0 || area.height <= 0) return { tiles: [], page: 0, pages: 0, perPage: 0 };
  const tallest = area.height > area.width ? Math.min(aspect, TALLEST) : aspect;
  const featured = featuredList(options.featured);
  const floating = options.floating ?? null;
  if (floating !== null && count > 1 && !featured.includes(floating)) {
    return withFloating(stage, area, count, floating, { ...options, gap, aspect }, tallest);
  }
  if ((options.mode === "speaker" || featured.length > 0) && count > featured.length) {
    const featuredTallest = options.wholeFeatured ? aspect : tallest;
    return speaker(area, count, featured.length > 0 ? featured : [0], options.page ?? 0, gap, aspect, tallest, featuredTallest);
  }
  return grid({ x: 0, y: 0, ...area }, range(count), options.page ?? 0, gap, aspect, tallest);
}

/** Share of the stage's width a floating tile takes, between the readable minimum and FLOAT_MAX. */
const FLOAT_SHARE = 0.2;
const FLOAT_MAX = 320;

/**
 * The others as if the floating tile were not there, and the floating one in the bottom right-hand
 * corner: 16:9 on a wide stage, as tall as the others may be on a tall one (a phone upright).
 */
function withFloating(stage, area, count, floating, options, tallest) {
  const others = range(count).filter((i) => i !== floating);
  const featured = featuredList(options.featured).map((index) => others.indexOf(index)).filter((index) => index >= 0);
  const rest = layout(stage, count - 1, { ...options, floating: null, featured });
  const wanted = Math.min(Math.floor(area.width / 2), Math.max(MIN_TILE.width, Math.min(FLOAT_MAX, Math.floor(area.width * FLOAT_SHARE))));
  // At most half the stage's height too (a small embed, a phone on its side).
  const height = Math.min(Math.floor(area.height / 2), Math.floor(wanted / tallest));
  const width = Math.min(wanted, Math.floor(height * options.aspect));
  const tile = { index: floating, x: area.width - width, y: area.height - height, width, height, floating: true };
  return { ...rest, tiles: [...rest.tiles.map((t) => ({ ...t, index: others[t.index] })), tile] };
}

/** `featured` as a list: one index, several, or none. */
function featuredList(featured) {
  if (Array.isArray(featured)) return featured;
  return featured === null || featured === undefined ? [] : [featured];
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * The biggest tiles for `n` in `box`: the number of columns that gives tiles the most area, each
 * `aspect` wide or, where its cell has room, taller (down to `tallest`, and no taller than
 * `maxHeight`), and no wider than `maxWidth`. Tiles narrower than a readable width lose to any that
 * are not (tall tiles in many columns would otherwise win).
 */
function bestGrid(box, n, gap, aspect, tallest, maxHeight, maxWidth = Infinity) {
  let best = null;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cellW = (box.width - (cols - 1) * gap) / cols;
    const cellH = (box.height - (rows - 1) * gap) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const width = Math.floor(Math.min(cellW, cellH * aspect, maxWidth));
    const height = Math.floor(Math.max(width / aspect, Math.min(cellH, width / tallest, maxHeight)));
    const fit = { cols, rows, width, height };
    if (!best || better(fit, best)) best = fit;
  }
  return best;
}

function better(a, b) {
  const readable = (fit) => fit.width >= MIN_TILE.width;
  if (readable(a) !== readable(b)) return readable(a);
  return a.width * a.height > b.width * b.height;
}

/** How many tiles of at least the minimum size fit in `box`. */
function capacity(box, gap, aspect) {
  const minW = Math.max(MIN_TILE.width, MIN_TILE.height * aspect);
  const cols = Math.max(1, Math.floor((box.width + gap) / (minW + gap)));
  const rows = Math.max(1, Math.floor((box.height + gap) / (minW / aspect + gap)));
  return cols * rows;
}

/** A grid of `items` (tile indices) in `box`, paged when they do not fit at the minimum size. */
function grid(box, items, page, gap, aspect, tallest, maxHeight = Infinity, maxWidth = Infinity) {
  const perPage = Math.max(1, Math.min(items.length, capacity(box, gap, aspect)));
  const pages = Math.ceil(items.length / perPage);
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown = items.slice(current * perPage, (current + 1) * perPage);
  const fit = bestGrid(box, shown.length, gap, aspect, tallest, maxHeight, maxWidth);
  if (!fit) return { tiles: [], page: current, pages, perPage };
  const usedW = fit.cols * fit.width + (fit.cols - 1) * gap;
  const usedH = fit.rows * fit.height + (fit.rows - 1) * gap;
  const left = box.x + Math.floor((box.width - usedW) / 2);
  const top = box.y + Math.floor((box.height - usedH) / 2);
  const tiles = shown.map((index, i) => {
    const row = Math.floor(i / fit.cols);
    const col = i % fit.cols;
    // The last row, when short, is centred too.
    const inRow = row === fit.rows - 1 ? shown.length - row * fit.cols : fit.cols;
    const rowShift = Math.floor(((fit.cols - inRow) * (fit.width + gap)) / 2);
    return {
      index,
      x: left + rowShift + col * (fit.width + gap),
      y: top + row * (fit.height + gap),
      width: fit.width,
      height: fit.height,
    };
  });
  return { tiles, page: current, pages, perPage };
}

/**
 * The featured tiles (the active speaker, a pinned person, a shared screen, or those in the
 * spotlight as a grid) large, the others in a strip beside them (on wide stages) or below them (on
 * tall ones), paged when they do not fit. On a tall stage, a featured tile that keeps its aspect
 * leaves the height it does not use to the strip.
 */
function speaker(area, count, featuredWanted, page, gap, aspect, tallest, featuredTallest) {
  const wide = area.width / area.height > aspect;
  const stripShare = 0.22;
  let main;
  let strip;
  if (wide) {
    const stripW = Math.max(MIN_TILE.width, Math.floor(area.width * stripShare));
    main = { x: 0, y: 0, width: area.width - stripW - gap, height: area.height };
    strip = { x: main.width + gap, y: 0, width: stripW, height: area.height };
  } else {
    const stripH = Math.max(MIN_TILE.height, Math.floor(area.height * stripShare));
    const mainH = Math.min(area.height - stripH - gap, Math.floor(area.width / featuredTallest));
    main = { x: 0, y: 0, width: area.width, height: mainH };
    strip = { x: 0, y: mainH + gap, width: area.width, height: area.height - mainH - gap };
  }
  if (main.width <= 0 || main.height <= 0) {
    return grid({ x: 0, y: 0, ...area }, range(count), page, gap, aspect, tallest);
  }
  // As many of those featured as the large area holds at a readable size; the rest lead the strip.
  const featured = featuredWanted.slice(0, capacity(main, gap, aspect));
  const others = [...featuredWanted.slice(featured.length), ...range(count).filter((i) => !featuredWanted.includes(i))];
  const big = grid(main, featured, 0, gap, aspect, featuredTallest).tiles.map((t) => ({ ...t, featured: true }));
  // No one in the strip is drawn taller, or wider, than the ones featured.
  const small = grid(strip, others, page, gap, aspect, tallest, Math.min(...big.map((t) => t.height)), Math.min(...big.map((t) => t.width)));
  if (wide) stackCentred(area.width, big, small.tiles, gap, "x", "width");
  else stackCentred(area.height, big, small.tiles, gap, "y", "height");
  return { tiles: [...big, ...small.tiles], page: small.page, pages: small.pages, perPage: small.perPage };
}

/**
 * The strip's tiles right beside (or under) the large ones, the two centred together along `axis`:
 * the room neither uses goes at both ends. A shared screen keeps its aspect, and so left a band
 * between itself and the strip (on a phone held upright, or on its side).
 */
function stackCentred(length, big, small, gap, axis, size) {
  if (!big.length || !small.length) return;
  const span = (tiles) => [Math.min(...tiles.map((t) => t[axis])), Math.max(...tiles.map((t) => t[axis] + t[size]))];
  const [bigStart, bigEnd] = span(big);
  const [smallStart, smallEnd] = span(small);
  const start = Math.floor((length - (bigEnd - bigStart + gap + smallEnd - smallStart)) / 2);
  for (const tile of big) tile[axis] += start - bigStart;
  for (const tile of small) tile[axis] += start + bigEnd - bigStart + gap - smallStart;
}
