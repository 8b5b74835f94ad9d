// Outside a locked room: the knock page (with the room's own background and logo, updated live), the
// waiting screen (the host's hold message and name), and the rejection.

import { h, replace, announce } from "./dom.js";

/** Paints the room's knock-page look on the page behind every door screen. */
export function applyKnockPage(page, params) {
  document.body.classList.add("at-door");
  paintBackground(document.body, params.background ? page.backgroundUrl : null, params.background ? page.backgroundPreset : null);
  applyColors(page.colors);
  const logo = document.getElementById("room-logo");
  if (logo) {
    logo.hidden = !(params.logo && page.logoUrl);
    if (page.logoUrl) logo.src = page.logoUrl;
  }
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

function frame(...children) {
  return h("section", { class: "screen door" },
    h("img", { id: "room-logo", class: "room-logo", alt: "", hidden: true }),
    ...children);
}

export function knockPage(root, { page, params, onKnock, notice }) {
  const button = h("button", { type: "button", class: "primary", id: "knock", text: "Knock", onclick: () => {
    button.disabled = true;
    onKnock();
  } });
  replace(root, frame(
    h("h1", { text: "This room is locked" }),
    h("p", { text: "Knock, and a host will let you in." }),
    notice ? h("p", { class: "notice", role: "alert", text: notice }) : null,
    button,
  ));
  applyKnockPage(page, params);
  button.focus();
}

export function waitingScreen(root, { page, params, hold, onCancel }) {
  const status = h("p", { class: "waiting-status", id: "waiting-status", text: "Waiting for a host to let you in…" });
  const holdBox = h("blockquote", { class: "hold", id: "hold-message", hidden: true });
  replace(root, frame(
    h("h1", { text: "You knocked" }),
    h("div", { class: "spinner", "aria-hidden": "true" }),
    status,
    holdBox,
    h("button", { type: "button", class: "secondary", id: "cancel-knock", text: "Cancel", onclick: onCancel }),
  ));
  applyKnockPage(page, params);
  const showHold = (held) => {
    if (!held) return;
    holdBox.hidden = false;
    const who = held.hostDisplayName || "The host";
    replace(holdBox,
      h("p", { class: "hold-text", text: held.message || "Please wait a moment." }),
      h("footer", { class: "hold-by", text: `— ${who}` }));
    status.textContent = `${who} has seen your knock.`;
    announce(`${who}: ${held.message || "please wait a moment"}`);
  };
  showHold(hold);
  return { showHold, setStatus: (text) => { status.textContent = text; } };
}

export function rejectedScreen(root, { page, params, message, hostDisplayName, retryAfterSeconds, onKnockAgain }) {
  const again = h("button", { type: "button", class: "secondary", id: "knock-again", text: "Knock again", disabled: retryAfterSeconds > 0, onclick: onKnockAgain });
  const wait = h("p", { class: "retry", id: "retry-wait" });
  let left = retryAfterSeconds || 0;
  const tick = () => {
    wait.textContent = left > 0 ? `You can knock again in ${left} s.` : "";
    again.disabled = left > 0;
    if (left-- > 0) setTimeout(tick, 1000);
  };
  replace(root, frame(
    h("h1", { text: "The host did not let you in" }),
    message ? h("blockquote", { class: "reason", id: "reject-reason" },
      h("p", { text: message }),
      h("footer", { text: `— ${hostDisplayName || "The host"}` })) : null,
    wait, again,
  ));
  applyKnockPage(page, params);
  tick();
  announce(message ? `The host did not let you in: ${message}` : "The host did not let you in");
}

/** A plain message screen: the room ended, was not found, the person left… */
export function messageScreen(root, title, text, action) {
  leaveDoor();
  replace(root, h("section", { class: "screen message" },
    h("h1", { text: title }),
    text ? h("p", { text }) : null,
    action ? h("button", { type: "button", class: "secondary", text: action.label, onclick: action.run }) : null,
  ));
  announce(title);
}
