// The pre-call review's check (Whereby's precallCeremony): camera, microphone, speaker and network,
// each step reported passed or failed, skippable with precallCeremonyCanSkip.

import { served } from "./base.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { meterLevel } from "./media.js";

/** The check's outcome in a sentence, for screen readers. */
export function summary(result) {
  return result.steps.map((s) => `${s.label} ${s.passed ? t("passed") : t("failed")}`).join(", ");
}

/** The check's steps, in the order they run. */
export const STEP_IDS = ["camera", "microphone", "speaker", "network"];

const STEP_LABELS = () => ({ camera: t("Camera"), microphone: t("Microphone"), speaker: t("Speaker"), network: t("Network") });

/**
 * The check's panel: it runs the steps named in `only` (of `STEP_IDS`) one after another, then
 * calls `onDone({skipped, steps})`.
 */
export function checkPanel({ media, iceServers, only, canSkip, onDone }) {
  const labels = STEP_LABELS();
  const steps = STEP_IDS.filter((id) => only.includes(id)).map((id) => [id, labels[id]]);
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
      ? await fetch(served(`/bandwidth-probe?bytes=${bytes}`), { cache: "no-store" })
      : await fetch(served("/bandwidth-probe"), { method: "POST", body: new Uint8Array(bytes) });
    if (!response.ok) return { ok: false, mbps: 0 };
    await response.arrayBuffer();
  } catch {
    return { ok: false, mbps: 0 };
  }
  const seconds = Math.max((performance.now() - started) / 1000, 0.001);
  return { ok: true, mbps: (bytes * 8) / seconds / 1e6 };
}
