// The room's look on the page: its colours (CSS custom properties every screen uses), its logo, and
// its backgrounds (an uploaded image, or one of Whereby's presets drawn by CSS).

/** Paints the room's knock-page look behind every screen outside the call. */
export function applyKnockPage(page, params) {
  document.body.classList.add("at-door");
  paintBackground(document.body, params.background ? page?.backgroundUrl : null, params.background ? page?.backgroundPreset : null);
  applyColors(page?.colors);
}

export function leaveDoor() {
  document.body.classList.remove("at-door");
  paintBackground(document.body, null, null);
}

/** A background: an uploaded image, or a preset ({palette, theme}) drawn by CSS classes. */
export function paintBackground(el, url, preset) {
  el.style.backgroundImage = url ? `url("${encodeURI(url)}")` : "";
  for (const name of [...el.classList]) if (name.startsWith("preset-")) el.classList.remove(name);
  if (preset?.palette) el.classList.add(`preset-palette-${preset.palette}`);
  if (preset?.theme) el.classList.add(`preset-theme-${preset.theme}`);
}

/**
 * The room's colours, as CSS custom properties every screen uses, with what stays readable on them
 * and beside them: a brand's yellow primary takes dark text on its buttons, a dark secondary light
 * text (`--on-primary`, `--on-secondary`), and the primary written as text on the page's white
 * cards is darkened until it reads there (`--primary-ink`).
 */
export function applyColors(colors) {
  const style = document.documentElement.style;
  for (const name of ["primary", "secondary", "focus"]) {
    if (colors?.[name]) style.setProperty(`--${name}`, colors[name]);
    else style.removeProperty(`--${name}`);
  }
  const derived = derivedColors(colors);
  for (const name of ["on-primary", "on-secondary", "primary-ink"]) {
    if (derived[name]) style.setProperty(`--${name}`, derived[name]);
    else style.removeProperty(`--${name}`);
  }
}

/** The page's text colour (the stylesheet's `--text`; web/test/theme.test.mjs holds them equal). */
export const TEXT = "#1d2230";
const WHITE = "#ffffff";
/** WCAG's least contrast for body text. */
const READABLE = 4.5;

/** What `applyColors` derives from a room's colours (none for a colour not given as #rrggbb). */
export function derivedColors(colors) {
  const derived = {};
  const primary = rgb(colors?.primary);
  const secondary = rgb(colors?.secondary);
  if (primary) {
    derived["on-primary"] = textOn(primary);
    derived["primary-ink"] = hex(inkOn(primary, rgb(WHITE)));
  }
  if (secondary) derived["on-secondary"] = textOn(secondary);
  return derived;
}

/** White or the page's dark text, whichever reads better on `background`. */
function textOn(background) {
  return contrast(rgb(WHITE), background) >= contrast(rgb(TEXT), background) ? WHITE : TEXT;
}

/** `color`, darkened (its hue kept) until it reads as text on `background`. */
function inkOn(color, background) {
  let ink = color;
  while (contrast(ink, background) < READABLE) ink = ink.map((channel) => Math.floor(channel * 0.9));
  return ink;
}

function rgb(value) {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value || "");
  return match ? match.slice(1).map((pair) => parseInt(pair, 16)) : null;
}

function hex(channels) {
  return `#${channels.map((channel) => channel.toString(16).padStart(2, "0")).join("")}`;
}

/** WCAG 2's contrast ratio of two colours, 1 to 21. */
export function contrast(a, b) {
  const [lighter, darker] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (lighter + 0.05) / (darker + 0.05);
}

function luminance(channels) {
  const [r, g, b] = channels.map((channel) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Shows the room's logo in `img` (hidden without one, or with logo=off). */
export function showLogo(img, url, params) {
  img.hidden = !(params.logo && url);
  if (url && img.getAttribute("src") !== url) img.src = url;
}
