// Tiny DOM helpers. Everything a person typed goes in as text (textContent / text nodes), never as
// markup: there is no innerHTML anywhere in this client.

import { served } from "./base.js";
import { language, t } from "./i18n.js";
import { initials } from "./roster.js";
import { find as findLinks } from "../vendor/linkify/linkify.mjs";

/** Creates an element. `attrs`: class, text, on<Event> handlers, hidden, and any other attribute. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "hidden") el.hidden = Boolean(value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * What a person wrote, as text with its web and e-mail addresses as links (linkifyjs finds them,
 * leaving out the punctuation around them), opening beside the call: the parts, for `h`. Only
 * http(s) and mailto links are made; everything else stays text.
 */
export function withLinks(text) {
  const parts = [];
  let at = 0;
  for (const { href, start, end } of findLinks(text)) {
    if (!/^(https?|mailto):/i.test(href)) continue;
    parts.push(text.slice(at, start), h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text: text.slice(start, end) }));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

/**
 * Lets go of what a `<video>` shows, before it leaves the page. A removed self-view still showing
 * the camera keeps some of its frames (seemingly until it is garbage-collected): with the review's,
 * the door's and the waiting screen's held, a guest let in sent their first frame 1.4 s late and
 * every camera of the browser stood still for 2.7 s (docs/performance.md, "The second lost
 * between DTLS and the first frame").
 */
export function releaseVideo(video) {
  video.srcObject = null;
}

/**
 * Puts `children` (nulls left out) in `parent`, in that order, moving only what is out of place: a
 * node that stays keeps its focus, its caret and what was typed in it, and is not laid out anew.
 */
export function arrange(parent, children) {
  const wanted = children.filter(Boolean);
  const keep = new Set(wanted);
  for (const node of [...parent.childNodes]) if (!keep.has(node)) node.remove();
  let at = parent.firstChild;
  for (const child of wanted) {
    if (child === at) at = at.nextSibling;
    else parent.insertBefore(child, at);
  }
}

/** Sets an element's text, unless it says that already (which would lay it out anew). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Draws `el` with `draw` unless it shows `what` already (named by a string): a large room's every
 * change comes through the page's drawing, and most change little.
 */
export function drawUnlessShown(el, what, draw) {
  if (el.dataset.shows === what) return;
  el.dataset.shows = what;
  draw();
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Says something to screen readers through the polite live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes screen readers speak repeated messages too.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** The most passing notices shown at once: a burst of them (thirty hands raised) must not cover the window. */
const PASSING_SHOWN = 3;

/**
 * A short visible notice at the top (gone after `timeout` ms; 0 keeps it until it is removed). An
 * action with `dismiss` also takes the notice away (what it offered is done). A notice with a
 * `key` takes the place of the one shown with the same key; beyond `PASSING_SHOWN` passing
 * notices, the oldest gives way.
 */
export function toast(text, { timeout = 6000, actions = [], className = "", key = "" } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return null;
  const item = h("div", { class: `toast ${className}`.trim() }, h("span", { text }),
    actions.map(({ label, run, dismiss }) => h("button", { type: "button", class: "secondary", text: label, onclick: () => {
      run();
      if (dismiss) item.remove();
    } })));
  if (key) {
    for (const shown of box.children) if (shown.dataset.key === key) shown.remove();
    item.dataset.key = key;
  }
  if (timeout) item.dataset.passing = "";
  box.append(item);
  const passing = [...box.children].filter((shown) => "passing" in shown.dataset);
  for (const old of passing.slice(0, -PASSING_SHOWN)) old.remove();
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

/**
 * Copies `link` to the clipboard and says `copied` (in a notice, and to screen readers); where the
 * page may not write the clipboard, shows `shown` (the link in words) for `timeout` ms to copy by
 * hand.
 */
export async function copyLink(link, copied, shown, { timeout = 15000 } = {}) {
  try {
    await navigator.clipboard.writeText(link);
    toast(copied);
    announce(copied);
  } catch {
    toast(shown, { timeout });
  }
}

/** A length of time as a clock shows it: `12:34`, `1:02:03` (less than nothing is `0:00`). */
export function durationText(milliseconds) {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const [hours, minutes] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${two(minutes)}:${two(seconds % 60)}` : `${minutes}:${two(seconds % 60)}`;
}

/** How long someone has waited, as people say it: "just now", "4 min", "1 hr 5 min". */
export function waitedText(milliseconds) {
  const minutes = Math.floor(Math.max(0, milliseconds) / 60000);
  if (minutes < 1) return t("just now");
  const unit = (name, n) => new Intl.NumberFormat(language(), { style: "unit", unit: name, unitDisplay: "short" }).format(n);
  const [hours, rest] = [Math.floor(minutes / 60), minutes % 60];
  if (!hours) return unit("minute", minutes);
  return rest ? `${unit("hour", hours)} ${unit("minute", rest)}` : unit("hour", hours);
}

/** An icon from the vendored set (web/vendor/icons, lucide), drawn in the text colour. */
export function icon(name) {
  const el = h("span", { class: "icon", "aria-hidden": "true" });
  el.style.setProperty("--icon", `url("${served(`/assets/vendor/icons/${name}.svg`)}")`);
  return el;
}

/**
 * A button with an icon and a label naming the action; `compact` hides the label visually (it
 * stays the accessible name) where space is short.
 */
export function iconButton({ id, name, label, onclick, className = "", pressed, expanded, controls, badge }) {
  const text = h("span", { class: "label", text: label });
  const button = h("button", { type: "button", id, class: `icon-button ${className}`.trim(), onclick,
    "aria-pressed": pressed === undefined ? null : String(pressed),
    "aria-expanded": expanded === undefined ? null : String(expanded),
    "aria-controls": controls || null,
    title: label }, icon(name), text, badge || null);
  button.setLabel = (nextName, nextLabel) => drawUnlessShown(button, `${nextName} ${nextLabel}`, () => {
    button.querySelector(".icon").style.setProperty("--icon", `url("${served(`/assets/vendor/icons/${nextName}.svg`)}")`);
    text.textContent = nextLabel;
    button.title = nextLabel;
  });
  return button;
}

/** A two-note chime through Web Audio (no sound file to fetch). */
export function chime() {
  try {
    const ctx = chime.ctx || (chime.ctx = new AudioContext());
    const now = ctx.currentTime;
    for (const [i, freq] of [660, 880].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.18);
      osc.stop(now + i * 0.18 + 0.17);
    }
  } catch {
    // No audio output: the visible notice and the live region still tell the host.
  }
}

/**
 * An avatar shows the person's picture (their `avatarUrl`) when they gave one and it loads, else
 * their initials. The picture's server is not told which page showed it.
 */
export function avatar({ displayName, avatarUrl }, className = "avatar") {
  const element = h("span", { class: className, "aria-hidden": "true" });
  fillAvatar(element, { displayName, avatarUrl });
  return element;
}

/** Pictures that did not load: lists drawn again do not ask for them again. */
const unloadable = new Set();

/** Puts a person's picture or initials in an avatar, unless it shows them already. */
export function fillAvatar(element, { displayName, avatarUrl }) {
  const letters = initials(displayName);
  const source = avatarUrl && !unloadable.has(avatarUrl) ? avatarUrl : "";
  if (element.dataset.letters === letters && element.dataset.source === source) return;
  Object.assign(element.dataset, { letters, source });
  if (!source) {
    element.textContent = letters;
    return;
  }
  const picture = h("img", { src: source, alt: "", referrerpolicy: "no-referrer", decoding: "async" });
  picture.addEventListener("error", () => {
    unloadable.add(source);
    if (picture.parentNode === element) element.textContent = letters;
  });
  element.replaceChildren(picture);
}

/**
 * Marks a row `compact` while its `items` would not fit on one line, for the CSS to make them
 * smaller: the control bar's labels go (their names stay, as tooltips and for screen readers; a row
 * of icons is lower than two rows of labelled buttons), a knock's answers lose their icons.
 */
export function compactWhenWrapped(row, items = ".control") {
  row.classList.remove("compact");
  const shown = [...row.querySelectorAll(items)].filter((item) => item.offsetParent);
  const top = (item) => item.getBoundingClientRect().top;
  const wraps = shown.length > 1 && shown.some((item) => Math.abs(top(item) - top(shown[0])) > 4);
  row.classList.toggle("compact", wraps);
}
