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

/** The room's colours, as CSS custom properties every screen uses. */
export function applyColors(colors) {
  const style = document.documentElement.style;
  for (const name of ["primary", "secondary", "focus"]) {
    if (colors?.[name]) style.setProperty(`--${name}`, colors[name]);
    else style.removeProperty(`--${name}`);
  }
}

/** Shows the room's logo in `img` (hidden without one, or with logo=off). */
export function showLogo(img, url, params) {
  img.hidden = !(params.logo && url);
  if (url && img.getAttribute("src") !== url) img.src = url;
}
