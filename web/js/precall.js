// The pre-call review (Whereby's precallReview): camera preview, microphone level, device pickers,
// name entry; and with precallCeremony on, a check of camera, microphone, speaker and network that
// reports passed or failed per step (skippable with precallCeremonyCanSkip).

import { h, icon, iconButton, releaseVideo, replace, announce, compactWhenWrapped } from "./dom.js";
import { LANGUAGES, LANGUAGE_NAMES, language, t } from "./i18n.js";
import { meterLevel, problemAdvice } from "./media.js";
import { DevicePickers, MicrophoneMeter } from "./devices.js";
import { nameProblem, NAME_MAX } from "./params.js";
import { applyKnockPage, showLogo } from "./theme.js";

/**
 * Shows the review in `root`. Resolves with {displayName, check} when the person continues.
 * `check` is the ceremony's result (null when there was none).
 */
export function precallReview(root, { params, media, iceServers, knockPage, mayBeRecorded = false, onCheckCompleted }) {
  return new Promise((resolve) => {
    const stops = [];
    // Without camera access there is no picture to preview: the microphone's meter is the review.
    const video = h("video", { class: "preview", autoplay: true, muted: true, playsInline: true, "aria-label": t("Your camera"), hidden: !media.cameraAccess });
    video.srcObject = media.stream;
    const meter = new MicrophoneMeter(media);
    meter.start();
    const onTracks = () => {
      video.srcObject = media.stream;
    };
    media.addEventListener("tracks", onTracks);
    const pickers = new DevicePickers(media);
    stops.push(() => meter.stop(), () => pickers.stop(), () => media.removeEventListener("tracks", onTracks), () => releaseVideo(video));

    // The integrator's own help page for it (Whereby's precallPermissionHelpLink), after our advice.
    const advice = () => (media.problem ? problemAdvice(media.problem, { camera: media.cameraAccess }) : "");
    const problemText = h("span", { text: advice() });
    const helpLink = params.precallPermissionHelpLink
      ? h("a", { class: "help-link", id: "permission-help", href: params.precallPermissionHelpLink, target: "_blank", rel: "noopener noreferrer", text: t("Help me fix this") })
      : null;
    const problemBox = h("div", { class: "problem", role: "alert", hidden: !media.problem }, problemText, helpLink);
    const enableButton = h("button", {
      type: "button",
      class: "secondary",
      hidden: !params.skipMediaPermissionPrompt || media.stream.getTracks().length > 0,
      text: media.cameraAccess ? t("Turn on camera and microphone") : t("Turn on microphone"),
      onclick: async () => {
        await media.start({ audio: params.audio, video: params.video });
        problemBox.hidden = !media.problem;
        problemText.textContent = advice();
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

    const nameInput = h("input", { id: "display-name", type: "text", maxLength: NAME_MAX * 2, autocomplete: "name", value: params.displayName });
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
      stops.splice(0).forEach((stop) => stop());
      resolve({ displayName: nameInput.value.trim(), check: checkResult });
    } },
      h("label", { for: "display-name", text: t("Your name") }), nameInput, nameError,
      continueButton,
    );

    let ceremony = null;
    if (params.precallCeremony) {
      continueButton.disabled = true;
      ceremony = checkPanel({ media, iceServers, withCamera: media.cameraAccess, canSkip: params.precallCeremonyCanSkip, onDone: (result) => {
        checkResult = result;
        continueButton.disabled = false;
        onCheckCompleted?.(result);
        announce(result.skipped ? t("Device check skipped") : t("Device check finished: {summary}", { summary: summary(result) }));
      } });
    }

    const logo = h("img", { class: "room-logo", id: "room-logo", alt: "" });
    showLogo(logo, knockPage?.logoUrl, params);
    // On a phone the two toggles lose their icons rather than take a line each (the pickers and
    // Continue below them then fit the screen).
    const toggles = h("div", { class: "row precall-toggles" }, media.cameraAccess ? cameraToggle : null, micToggle);
    const togglesFit = new ResizeObserver(() => compactWhenWrapped(toggles, "button"));
    togglesFit.observe(toggles);
    stops.push(() => togglesFit.disconnect());
    replace(root, h("section", { class: "screen precall", "data-screen": "precall", "aria-labelledby": "precall-title" },
      logo,
      h("div", { class: "precall-top" },
        h("p", { class: "room-name", text: params.roomTitle }),
        params.localization ? languagePicker(nameInput) : null),
      h("h1", { id: "precall-title", text: media.cameraAccess ? t("Check your camera and microphone") : t("Check your microphone") }),
      h("div", { class: "precall-grid" },
        h("div", { class: "preview-box" }, video, meter.element, toggles,
          // Said before entering, where a host's browser may record the call (their consent).
          mayBeRecorded ? h("p", { class: "may-be-recorded", id: "may-be-recorded" },
            icon("circle-dot"), t("A host may record this call.")) : null),
        h("div", { class: "precall-side" },
          problemBox, enableButton,
          ...pickers.labels,
          ceremony, form,
        ),
      ),
    ));
    applyKnockPage(knockPage, params);
    pickers.start();
    if (params.displayName) validateName();
  });
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

function summary(result) {
  return result.steps.map((s) => `${s.label} ${s.passed ? t("passed") : t("failed")}`).join(", ");
}

const STEPS = () => [
  ["camera", t("Camera")],
  ["microphone", t("Microphone")],
  ["speaker", t("Speaker")],
  ["network", t("Network")],
];

function checkPanel({ media, iceServers, withCamera, canSkip, onDone }) {
  // Without camera access there is no camera to check (its step would only ever fail).
  const steps = STEPS().filter(([id]) => withCamera || id !== "camera");
  const rows = new Map(steps.map(([id, label]) => {
    const status = h("span", { class: "status pending", text: t("waiting") });
    const detail = h("span", { class: "detail" });
    return [id, { status, detail, row: h("li", { "data-step": id }, h("strong", { text: label }), status, detail) }];
  }));
  let finished = false;
  const skip = h("button", { type: "button", class: "secondary", id: "skip-check", hidden: !canSkip, text: t("Skip the check"), onclick: () => {
    if (finished) return;
    finished = true;
    skip.hidden = true;
    onDone({ skipped: true, steps: [] });
  } });
  const run = async () => {
    const results = [];
    for (const [id, label] of steps) {
      const { status, detail } = rows.get(id);
      status.className = "status running";
      status.textContent = t("checking");
      let outcome;
      try {
        outcome = await CHECKS[id]({ media, iceServers, ask: () => askHeard(rows.get(id).detail) });
      } catch (error) {
        outcome = { passed: false, detail: String(error?.message || error) };
      }
      if (finished) return;
      status.className = `status ${outcome.passed ? "passed" : "failed"}`;
      status.textContent = outcome.passed ? t("passed") : t("failed");
      detail.textContent = outcome.detail || "";
      results.push({ name: id, label, ...outcome });
    }
    finished = true;
    skip.hidden = true;
    onDone({ skipped: false, steps: results });
  };
  setTimeout(run, 0);
  return h("div", { class: "check", "aria-label": t("Device and connection check") },
    h("h2", { text: t("Device and connection check") }),
    h("ul", {}, [...rows.values()].map((r) => r.row)),
    skip,
  );
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));

/** "Did you hear it?" beside the speaker step; resolves "yes", "no" or "again". */
function askHeard(detail) {
  return new Promise((resolve) => {
    const answer = (value) => () => {
      detail.replaceChildren();
      resolve(value);
    };
    replace(detail, h("span", { class: "question", text: t("Did you hear a tone?") }),
      h("button", { type: "button", class: "secondary small", id: "heard-yes", onclick: answer("yes"), text: t("Yes") }),
      h("button", { type: "button", class: "secondary small", id: "heard-no", onclick: answer("no"), text: t("No") }),
      h("button", { type: "button", class: "secondary small", id: "heard-again", onclick: answer("again"), text: t("Play again") }));
    detail.querySelector("#heard-yes").focus();
  });
}

const CHECKS = {
  async camera({ media }) {
    const track = media.videoTrack;
    if (!track || track.readyState !== "live") return { passed: false, detail: t("no camera is on") };
    const probe = document.createElement("video");
    probe.muted = true;
    probe.srcObject = new MediaStream([track]);
    await probe.play().catch(() => {});
    for (let i = 0; i < 50 && probe.videoWidth === 0; i++) await wait(100);
    // Read the size before detaching the stream: a detached video reports 0×0.
    const [width, height] = [probe.videoWidth, probe.videoHeight];
    probe.srcObject = null;
    return width > 0 ? { passed: true, detail: `${width}×${height}` } : { passed: false, detail: t("the camera shows no picture") };
  },
  async microphone({ media }) {
    const track = media.audioTrack;
    if (!track || track.readyState !== "live") return { passed: false, detail: t("no microphone is on") };
    let loudest = 0;
    const stop = meterLevel(track, (v) => { loudest = Math.max(loudest, v); });
    for (let i = 0; i < 40 && loudest < 0.02; i++) await wait(100);
    stop();
    return loudest >= 0.02 ? { passed: true, detail: t("we can hear you") } : { passed: false, detail: t("we heard nothing: is the right microphone chosen, and unmuted?") };
  },
  async speaker({ media, ask }) {
    // Only the person can tell whether a sound came out: play a tone, then ask.
    for (;;) {
      const ctx = new AudioContext();
      try {
        if (media.speakerId && ctx.setSinkId) await ctx.setSinkId(media.speakerId);
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        gain.gain.value = 0.1;
        osc.frequency.value = 523;
        osc.connect(gain).connect(ctx.destination);
        await ctx.resume();
        osc.start();
        await wait(600);
        osc.stop();
      } finally {
        ctx.close().catch(() => {});
      }
      const answer = await ask();
      if (answer === "yes") return { passed: true, detail: t("you heard the test tone") };
      if (answer === "no") return { passed: false, detail: t("no sound: check the speaker chosen above and the volume") };
    }
  },
  async network({ iceServers }) {
    const ice = await gatherCandidates(iceServers);
    const down = await timeTransfer("GET");
    const up = await timeTransfer("POST");
    const parts = [ice.detail, t("download {rate} Mbit/s", { rate: down.mbps.toFixed(1) }), t("upload {rate} Mbit/s", { rate: up.mbps.toFixed(1) })];
    const passed = ice.passed && down.ok && up.ok && down.mbps >= 1 && up.mbps >= 1;
    return { passed, detail: parts.join("; ") };
  },
};

/** ICE reachability: with STUN/TURN configured, a server-reflexive or relay candidate must appear. */
async function gatherCandidates(iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  const types = new Set();
  pc.onicecandidate = (event) => { if (event.candidate?.type) types.add(event.candidate.type); };
  pc.createDataChannel("check");
  await pc.setLocalDescription(await pc.createOffer());
  for (let i = 0; i < 50 && pc.iceGatheringState !== "complete"; i++) await wait(100);
  pc.close();
  if (iceServers.length === 0) {
    return { passed: types.has("host"), detail: t("no STUN/TURN configured: direct connections only") };
  }
  const reached = types.has("srflx") || types.has("relay");
  return { passed: reached, detail: reached ? t("reached {types}", { types: [...types].join(", ") }) : t("no STUN/TURN server answered") };
}

async function timeTransfer(method) {
  const bytes = 256 * 1024;
  const started = performance.now();
  try {
    const response = method === "GET"
      ? await fetch(`/bandwidth-probe?bytes=${bytes}`, { cache: "no-store" })
      : await fetch("/bandwidth-probe", { method: "POST", body: new Uint8Array(bytes) });
    if (!response.ok) return { ok: false, mbps: 0 };
    await response.arrayBuffer();
  } catch {
    return { ok: false, mbps: 0 };
  }
  const seconds = Math.max((performance.now() - started) / 1000, 0.001);
  return { ok: true, mbps: (bytes * 8) / seconds / 1e6 };
}
