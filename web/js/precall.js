// The pre-call review (Whereby's precallReview): camera preview, microphone level, device pickers,
// name entry; and with precallCeremony on, a check of camera, microphone, speaker and network that
// reports passed or failed per step (device-check.js). A viewer's review asks for no device.

import { h, icon, iconButton, releaseVideo, replace, announce, compactWhenWrapped } from "./dom.js";
import { LANGUAGES, LANGUAGE_NAMES, language, t } from "./i18n.js";
import { deviceAdvice, problemAdvice } from "./media.js";
import { DevicePickers, MicrophoneMeter } from "./devices.js";
import { checkPanel, STEP_IDS, summary } from "./device-check.js";
import { nameProblem, NAME_MAX } from "./params.js";
import { applyKnockPage, showLogo } from "./theme.js";

/**
 * Shows the review in `root`. Resolves with {displayName, check} when the person continues.
 * `check` is the ceremony's result (null when there was none). `turnDevicesOn()` opens the camera
 * and microphone where skipMediaPermissionPrompt left them closed.
 */
export function precallReview(root, { params, media, iceServers, knockPage, turnDevicesOn, mayBeRecorded = false, onCheckCompleted }) {
  return new Promise((resolve) => {
    const stops = [];
    // Without camera access there is no picture to preview: the microphone's meter is the review.
    const video = h("video", { class: "preview", autoplay: true, muted: true, playsInline: true, "aria-label": t("Your camera"), hidden: !media.cameraAccess });
    video.srcObject = media.stream;
    // In the picture's place while no camera sends one (turned off, none found, not yet turned
    // on), as at the door: a dark box alone looked broken.
    const off = h("div", { class: "preview preview-off", id: "preview-off", text: t("Your camera is off") });
    const showPicture = () => {
      video.hidden = !media.cameraAccess || !media.cameraLive;
      off.hidden = !media.cameraAccess || media.cameraLive;
    };
    showPicture();
    const meter = new MicrophoneMeter(media);
    meter.start();
    const onTracks = () => {
      video.srcObject = media.stream;
      showPicture();
    };
    media.addEventListener("tracks", onTracks);
    media.addEventListener("toggles", showPicture);
    stops.push(() => media.removeEventListener("toggles", showPicture));
    const pickers = new DevicePickers(media);
    stops.push(() => meter.stop(), () => pickers.stop(), () => media.removeEventListener("tracks", onTracks), () => releaseVideo(video));

    // The integrator's own help page for it (Whereby's precallPermissionHelpLink), after our advice:
    // why neither device could be used, else why one could not (the other can).
    const advice = () => (media.problem
      ? problemAdvice(media.problem, { camera: media.cameraAccess })
      : ["audio", "video"].filter((kind) => media.unavailable[kind]).map((kind) => deviceAdvice(kind, media.unavailable[kind])).join(" "));
    const problemText = h("span", { text: advice() });
    const helpLink = params.precallPermissionHelpLink
      ? h("a", { class: "help-link", id: "permission-help", href: params.precallPermissionHelpLink, target: "_blank", rel: "noopener noreferrer", text: t("Help me fix this") })
      : null;
    const problemBox = h("div", { class: "problem", role: "alert", hidden: !advice() }, problemText, helpLink);
    const syncProblem = () => {
      problemText.textContent = advice();
      problemBox.hidden = !problemText.textContent;
    };
    for (const event of ["refused", "tracks"]) media.addEventListener(event, syncProblem);
    stops.push(() => ["refused", "tracks"].forEach((event) => media.removeEventListener(event, syncProblem)));
    const enableButton = h("button", {
      type: "button",
      class: "secondary",
      hidden: !params.skipMediaPermissionPrompt || media.stream.getTracks().length > 0,
      text: media.cameraAccess ? t("Turn on camera and microphone") : t("Turn on microphone"),
      onclick: async () => {
        await turnDevicesOn();
        syncProblem();
        enableButton.hidden = media.stream.getTracks().length > 0;
        await pickers.fill();
      },
    });

    const cameraToggle = iconButton({ id: "precall-camera", name: "video", label: "", className: "secondary", onclick: () => media.setCamera(!media.cameraOn) });
    const micToggle = iconButton({ id: "precall-microphone", name: "mic", label: "", className: "secondary", onclick: () => media.setMicrophone(!media.microphoneOn) });
    const syncToggles = () => {
      cameraToggle.setLabel(media.cameraOn ? "video-off" : "video", media.cameraOn ? t("Turn camera off") : t("Turn camera on"));
      cameraToggle.setAttribute("aria-pressed", String(!media.cameraOn));
      micToggle.setLabel(media.microphoneOn ? "mic-off" : "mic", media.microphoneOn ? t("Mute microphone") : t("Unmute microphone"));
      micToggle.setAttribute("aria-pressed", String(!media.microphoneOn));
    };
    syncToggles();
    media.addEventListener("toggles", syncToggles);
    stops.push(() => media.removeEventListener("toggles", syncToggles));

    const entry = nameEntry({ params, media, iceServers, only: STEP_IDS.filter((id) => media.cameraAccess || id !== "camera"),
      onCheckCompleted, finish: (result) => {
        stops.splice(0).forEach((stop) => stop());
        resolve(result);
      } });

    // On a phone the two toggles lose their icons rather than take a line each (the pickers and
    // Continue below them then fit the screen).
    const toggles = h("div", { class: "row precall-toggles" }, media.cameraAccess ? cameraToggle : null, micToggle);
    const togglesFit = new ResizeObserver(() => compactWhenWrapped(toggles, "button"));
    togglesFit.observe(toggles);
    stops.push(() => togglesFit.disconnect());
    replace(root, h("section", { class: "screen precall", "data-screen": "precall", "aria-labelledby": "precall-title" },
      ...roomHeading(params, knockPage, entry.nameInput),
      h("h1", { id: "precall-title", text: media.cameraAccess ? t("Check your camera and microphone") : t("Check your microphone") }),
      h("div", { class: "precall-grid" },
        h("div", { class: "preview-box" }, video, off, meter.element, toggles,
          // Said before entering, where a host's browser may record the call (their consent).
          mayBeRecorded ? h("p", { class: "may-be-recorded", id: "may-be-recorded" },
            icon("circle-dot"), t("A host may record this call.")) : null),
        h("div", { class: "precall-side" },
          problemBox, enableButton,
          ...pickers.labels,
          entry.ceremony, entry.form,
        ),
      ),
    ));
    applyKnockPage(knockPage, params);
    pickers.start();
    if (params.displayName) entry.validateName();
  });
}

/**
 * A viewer's review: a viewer sends nothing, so their camera and microphone are never asked for
 * (nor their light turned on); they give their name, and with precallCeremony the speaker and the
 * network are checked. Resolves as `precallReview` does.
 */
export function viewerReview(root, { params, media, iceServers, knockPage, onCheckCompleted }) {
  return new Promise((resolve) => {
    const entry = nameEntry({ params, media, iceServers, only: ["speaker", "network"], onCheckCompleted, finish: resolve });
    replace(root, h("section", { class: "screen precall viewer-review", "data-screen": "precall", "aria-labelledby": "precall-title" },
      ...roomHeading(params, knockPage, entry.nameInput),
      h("h1", { id: "precall-title", text: t("Join as a viewer") }),
      h("p", { class: "viewer-note", id: "viewer-note", text: t("You will see and hear the meeting. Nobody will see or hear you: your camera and microphone are not used.") }),
      entry.ceremony, entry.form));
    applyKnockPage(knockPage, params);
    if (params.displayName) entry.validateName();
  });
}

/** The room's logo and title, and the language picker (Whereby's `localization`). */
function roomHeading(params, knockPage, nameInput) {
  const logo = h("img", { class: "room-logo", id: "room-logo", alt: "" });
  showLogo(logo, knockPage?.logoUrl, params);
  return [logo, h("div", { class: "precall-top" },
    h("p", { class: "room-name", text: params.roomTitle }),
    params.localization ? languagePicker(nameInput) : null)];
}

/**
 * The name, Continue, and (with precallCeremony) the check of the steps in `only`, which Continue
 * waits for. `finish({displayName, check})` once the person continues with a good name.
 */
function nameEntry({ params, media, iceServers, only, onCheckCompleted, finish }) {
  const nameInput = h("input", { id: "display-name", type: "text", dir: "auto", maxLength: NAME_MAX * 2, autocomplete: "name", value: params.displayName });
  const nameError = h("p", { id: "name-error", class: "field-error", role: "alert" });
  const validateName = () => {
    const problem = nameProblem(nameInput.value);
    nameError.textContent = problem || "";
    nameInput.setAttribute("aria-invalid", String(Boolean(problem)));
    return !problem;
  };
  nameInput.addEventListener("input", validateName);

  let checkResult = null;
  const continueButton = h("button", { type: "submit", class: "primary", id: "continue", text: t("Continue") });
  const form = h("form", { class: "precall-form", onsubmit: (event) => {
    event.preventDefault();
    if (!validateName()) {
      nameInput.focus();
      return;
    }
    finish({ displayName: nameInput.value.trim(), check: checkResult });
  } },
    h("label", { for: "display-name", text: t("Your name") }), nameInput, nameError,
    continueButton,
  );

  let ceremony = null;
  if (params.precallCeremony) {
    continueButton.disabled = true;
    ceremony = checkPanel({ media, iceServers, only, canSkip: params.precallCeremonyCanSkip, onDone: (result) => {
      checkResult = result;
      continueButton.disabled = false;
      onCheckCompleted?.(result);
      announce(result.skipped ? t("Device check skipped") : t("Device check finished: {summary}", { summary: summary(result) }));
    } });
  }
  return { nameInput, validateName, form, ceremony };
}

/**
 * Whereby's language picker (hidden with `localization=off`): the page again in the language
 * chosen, with the name typed so far kept.
 */
function languagePicker(nameInput) {
  const select = h("select", { id: "language-picker", "aria-label": t("Language"), onchange: () => {
    const url = new URL(window.location.href);
    url.searchParams.set("lang", select.value);
    if (nameInput.value.trim()) url.searchParams.set("displayName", nameInput.value.trim());
    window.location.replace(url);
  } }, LANGUAGES.map((code) => h("option", { value: code, lang: code, selected: code === language(), text: LANGUAGE_NAMES[code] })));
  return select;
}
