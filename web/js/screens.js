// Every screen outside the call, drawn from the flow's state (flow.js): loading, the door (knock),
// waiting (place in line, a host's words, one's own camera with switches), the rejection, and the
// ends (left, ended, removed, replaced, full, unavailable), each with the room's look and a next
// step. A screen is drawn once when it is entered; `update(state)` refreshes it in place, so focus
// and timers survive.

import { served } from "./base.js";
import { copyLink, h, icon, iconButton, releaseVideo, replace, setText, withLinks } from "./dom.js";
import { placeText, roomElsewhere } from "./flow.js";
import { isolated, t } from "./i18n.js";
import { applyKnockPage, leaveDoor, showLogo } from "./theme.js";

/** Draws `state.screen` in `root`; returns {update(state), destroy()}. */
export function drawScreen(root, state, ctx) {
  const draw = SCREENS[state.screen] || loading;
  const screen = draw(root, state, ctx) || {};
  return { update: screen.update || (() => {}), destroy: screen.destroy || (() => {}) };
}

const SCREENS = {
  loading,
  door,
  waiting,
  rejected,
  left: ending,
  ended: ending,
  removed: ending,
  replaced: ending,
  full: ending,
  unavailable: ending,
};

/** The frame around a door screen: the room's logo and name. */
function frame(state, ctx, ...children) {
  const logo = h("img", { id: "room-logo", class: "room-logo", alt: "" });
  showLogo(logo, state.knockPage?.logoUrl, ctx.params);
  return h("section", { class: "screen door", "data-screen": state.screen },
    logo,
    h("p", { class: "room-name", text: ctx.params.roomTitle }),
    ...children);
}

function loading(root, state, ctx) {
  leaveDoor();
  const status = h("p", { class: "loading", role: "status" });
  replace(root, status);
  // Changed only when its words do: a status line is read out again at each change.
  const update = (next) => setText(status, next.connection === "unreachable"
    ? t("Cannot reach {room}. Trying again…", { room: ctx.params.roomTitle })
    : t("Connecting to {room}…", { room: ctx.params.roomTitle }));
  update(state);
  return { update };
}

/** One's own camera, with switches that really close the camera (its light goes off). */
function selfView(ctx) {
  const { media } = ctx;
  const video = h("video", { class: "self-view", autoplay: true, muted: true, playsInline: true, "aria-label": t("Your camera") });
  video.srcObject = media.stream;
  const off = h("div", { class: "self-view-off", text: t("Your camera is off") });
  // As the call's buttons: what would reach the room, not a wish for a device never opened
  // (skipMediaPermissionPrompt, none turned on yet): turning one on opens it.
  const camera = iconButton({ id: "door-camera", name: "video", label: "", onclick: () => media.setCamera(!media.cameraLive) });
  const mic = iconButton({ id: "door-microphone", name: "mic", label: "", onclick: () => media.setMicrophone(!media.microphoneLive) });
  const sync = () => {
    const { cameraLive, microphoneLive } = media;
    camera.setLabel(cameraLive ? "video-off" : "video", cameraLive ? t("Turn camera off") : t("Turn camera on"));
    camera.setAttribute("aria-pressed", String(!cameraLive));
    mic.setLabel(microphoneLive ? "mic-off" : "mic", microphoneLive ? t("Mute microphone") : t("Unmute microphone"));
    mic.setAttribute("aria-pressed", String(!microphoneLive));
    off.hidden = cameraLive;
    if (video.srcObject !== media.stream) video.srcObject = media.stream;
  };
  sync();
  media.addEventListener("toggles", sync);
  media.addEventListener("tracks", sync);
  // Without camera access (cameraAccess=off) there is no picture: only the microphone's switch.
  const element = h("div", { class: "self-view-box" }, h("div", { class: "self-view-frame", hidden: !media.cameraAccess }, video, off), h("div", { class: "row center" }, mic, media.cameraAccess ? camera : null));
  return { element, destroy: () => {
    media.removeEventListener("toggles", sync);
    media.removeEventListener("tracks", sync);
    releaseVideo(video);
  } };
}

/** A button disabled until `until` (ms, the page's clock), with the seconds left beside it. */
function countdown(button, note, untilOf, now = () => Date.now()) {
  let timer = null;
  const tick = () => {
    const until = untilOf();
    const left = until ? Math.ceil((until - now()) / 1000) : 0;
    button.disabled = left > 0;
    note.textContent = left > 0 ? t("You can knock again in {seconds} s.", { seconds: left }) : "";
    clearTimeout(timer);
    if (left > 0) timer = setTimeout(tick, 1000);
  };
  tick();
  return { refresh: tick, stop: () => clearTimeout(timer) };
}

/** "This call is being recorded", at the door and while waiting (hidden until it is). */
function recordingNotice() {
  return h("p", { class: "door-recording", id: "door-recording", hidden: true },
    h("span", { class: "recording-dot", "aria-hidden": "true" }), t("This call is being recorded."));
}

function door(root, state, ctx) {
  const notice = h("p", { class: "notice", role: "alert" });
  const knock = h("button", { type: "button", class: "primary big", id: "knock", onclick: () => {
    knock.disabled = true;
    ctx.dispatch({ type: "knock" });
  } }, icon("bell"), t("Knock"));
  const wait = h("p", { class: "retry", id: "retry-wait" });
  const hint = h("p", { id: "door-hint" });
  const recording = recordingNotice();
  const view = selfView(ctx);
  replace(root, frame(state, ctx,
    h("h1", { text: t("This room is locked") }),
    hint, recording,
    view.element, notice, knock, wait));
  applyKnockPage(state.knockPage, ctx.params);
  const timer = countdown(knock, wait, () => ctx.state().door.cooldownUntil);
  const update = (next) => {
    notice.hidden = !next.door.notice;
    notice.textContent = next.door.notice || "";
    recording.hidden = !next.inside.recording;
    hint.textContent = next.inside.hostPresent
      ? t("Knock, and a host will let you in.")
      : t("No host is here yet. Knock now, and a host will see it when they arrive.");
    showLogo(document.getElementById("room-logo"), next.knockPage?.logoUrl, ctx.params);
    applyKnockPage(next.knockPage, ctx.params);
    timer.refresh();
  };
  update(state);
  knock.focus();
  return { update, destroy: () => {
    timer.stop();
    view.destroy();
  } };
}

function waiting(root, state, ctx) {
  const status = h("p", { class: "waiting-status", id: "waiting-status", role: "status" });
  const place = h("p", { class: "place-in-line", id: "place-in-line" });
  const notice = h("p", { class: "notice", id: "waiting-notice", hidden: true });
  const holdBox = h("blockquote", { class: "hold", id: "hold-message", hidden: true });
  const messages = h("ul", { class: "host-messages", id: "host-messages", "aria-label": t("Messages from the host") });
  const view = selfView(ctx);
  const cancel = h("button", { type: "button", class: "secondary", id: "cancel-knock", onclick: () => ctx.dispatch({ type: "cancel" }) }, icon("x"), t("Stop waiting"));
  const title = h("h1", { tabindex: "-1" });
  const recording = recordingNotice();
  replace(root, frame(state, ctx, title, notice, place, status, recording, holdBox, messages, view.element, cancel));
  applyKnockPage(state.knockPage, ctx.params);
  const update = (next) => {
    const wait = next.wait || { messages: [] };
    title.textContent = wait.sentBack ? t("You are back in the waiting room") : t("Waiting to be let in");
    place.hidden = !wait.position;
    place.textContent = wait.position ? placeText(wait.position) : "";
    notice.hidden = !wait.notice;
    notice.textContent = wait.notice || "";
    if (next.connection === "lost") status.textContent = t("Connection lost. Reconnecting… you keep your place in line.");
    else if (next.connection === "restarting") status.textContent = t("The server is restarting. You will be back in line in a moment.");
    else if (next.connection === "retrying") status.textContent = t("The room cannot be reached right now. You will be back in line in a moment.");
    else if (wait.hold) status.textContent = t("{host} has seen your knock.", { host: wait.hold.host || t("The host") });
    else status.textContent = next.inside.hostPresent ? t("A host has been told you are here.") : t("No host is here yet. They will see your knock as soon as they arrive.");
    recording.hidden = !next.inside.recording;
    holdBox.hidden = !wait.hold;
    if (wait.hold) {
      replace(holdBox,
        h("p", { class: "hold-text", dir: "auto" }, withLinks(wait.hold.message || t("Please wait a moment."))),
        h("footer", { class: "hold-by", text: `— ${isolated(wait.hold.host || t("The host"))}` }));
    }
    replace(messages, ...wait.messages.map((m) => h("li", {},
      h("p", { class: "host-message-text", dir: "auto" }, withLinks(m.message)), h("footer", { text: `— ${isolated(m.host)}` }))));
    showLogo(document.getElementById("room-logo"), next.knockPage?.logoUrl, ctx.params);
    applyKnockPage(next.knockPage, ctx.params);
  };
  update(state);
  title.focus();
  return { update, destroy: view.destroy };
}

function rejected(root, state, ctx) {
  const again = h("button", { type: "button", class: "secondary", id: "knock-again", onclick: () => ctx.dispatch({ type: "knock" }) }, icon("bell"), t("Knock again"));
  const wait = h("p", { class: "retry", id: "retry-wait" });
  const { rejection } = state;
  replace(root, frame(state, ctx,
    h("h1", { tabindex: "-1", text: t("The host did not let you in") }),
    rejection?.message ? h("blockquote", { class: "reason", id: "reject-reason" },
      h("p", { dir: "auto" }, withLinks(rejection.message)),
      h("footer", { text: `— ${isolated(rejection.host || t("The host"))}` })) : null,
    wait, again));
  applyKnockPage(state.knockPage, ctx.params);
  const timer = countdown(again, wait, () => ctx.state().rejection?.retryAt);
  root.querySelector("h1").focus();
  return { update: () => timer.refresh(), destroy: timer.stop };
}

/** What a person can do next on each end page. */
function nextStep(state, ctx) {
  const rejoin = (label) => h("button", { type: "button", class: "primary", id: "rejoin", onclick: () => ctx.dispatch({ type: "rejoin" }) }, icon("refresh-cw"), label);
  switch (state.screen) {
    case "left":
      return [h("p", { text: t("You can close this tab, or go back in.") }), rejoin(t("Rejoin"))];
    case "removed":
      return [h("p", { text: t("If this was a mistake, ask the host to let you in again.") }), rejoin(t("Ask to come back"))];
    case "replaced":
      return [h("p", { text: t("Carry on in the other window, or use this one instead.") }), rejoin(t("Use this window"))];
    case "full":
      return [rejoin(t("Try again"))];
    case "ended":
      return [h("p", { text: t("You can close this tab. For another meeting, use the link you are sent for it.") })];
    case "unavailable": {
      if (state.ending?.reason === "browser_unsupported") return [copyTheLink(state)];
      const there = roomElsewhere(state.ending?.address, state.roomName, window.location, state.roomKey);
      return there ? [h("a", { class: "button primary", id: "room-elsewhere", href: there }, t("Go to the room"))] : checkTheLink();
    }
    default:
      return checkTheLink();
  }
}

/** The room's link as it was given (the host's key too, which the page took out of its address
 * bar), to paste into another browser. */
function copyTheLink(state) {
  const link = roomElsewhere(`${window.location.origin}${served("")}`, state.roomName, window.location, state.roomKey);
  return h("button", {
    type: "button", class: "primary", id: "copy-room-link",
    onclick: () => copyLink(link, t("Link copied"), t("The room's link: {link}", { link }), { timeout: 30000 }),
  }, icon("link"), t("Copy the room's link"));
}

function checkTheLink() {
  return [h("p", { text: t("Check the link you were given, or ask whoever sent it for a new one.") }),
    h("a", { class: "button secondary", href: served("/") }, t("About this service"))];
}

function ending(root, state, ctx) {
  const ending = state.ending || { title: t("This page is closed") };
  const logo = h("img", { id: "room-logo", class: "room-logo", alt: "" });
  showLogo(logo, state.knockPage?.logoUrl, ctx.params);
  replace(root, h("section", { class: "screen door message", "data-screen": state.screen },
    logo,
    h("p", { class: "room-name", text: ctx.params.roomTitle }),
    h("h1", { tabindex: "-1", text: ending.title }),
    ending.text ? h("p", { text: ending.text }) : null,
    ...nextStep(state, ctx)));
  applyKnockPage(state.knockPage, ctx.params);
  root.querySelector("h1").focus();
}

/** A strip across the top while the connection is down: what happens, and that it is handled. */
export function connectionBanner(banner, state) {
  const text = {
    lost: t("Connection lost. Reconnecting…"),
    restarting: t("The server is restarting. Reconnecting…"),
    retrying: t("The room cannot be reached right now. Reconnecting…"),
  }[state.connection];
  banner.hidden = !text || ["left", "ended", "removed", "replaced", "full", "unavailable"].includes(state.screen);
  // No icon here: with the network or the server gone, an image could not be fetched.
  if (text) replace(banner, h("span", { class: "banner-dot", "aria-hidden": "true" }), h("span", { text }));
}
