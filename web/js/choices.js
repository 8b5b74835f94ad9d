// The camera, microphone and speaker a person chose, and the camera's background effect, kept by
// this browser for their next call (as Whereby does): a device's id says nothing about the person,
// and one no longer plugged in gives way to the browser's default. Where the page may keep nothing (storage refused, as in some
// private windows) nothing is kept. The person's name is not kept: on a shared computer the next
// patient would find it.

const KEY = "anteroom:devices";
// Besides the devices, the camera's background effect (media.js; never the integrator's picture).
const KINDS = ["videoinput", "audioinput", "audiooutput", "background"];

export class DeviceChoices {
  constructor(storage = localStorageIfAllowed()) {
    this.storage = storage;
  }

  /** The id last chosen for `kind` ("videoinput", "audioinput" or "audiooutput"), or null. */
  get(kind) {
    const id = this.read()[kind];
    return typeof id === "string" && id ? id : null;
  }

  set(kind, deviceId) {
    if (!KINDS.includes(kind) || !this.storage) return;
    const kept = { ...this.read(), [kind]: deviceId || undefined };
    try {
      this.storage.setItem(KEY, JSON.stringify(kept));
    } catch {
      // Full or refused: the choice holds for this call only.
    }
  }

  read() {
    try {
      const kept = JSON.parse(this.storage?.getItem(KEY) || "{}");
      return kept && typeof kept === "object" ? kept : {};
    } catch {
      return {};
    }
  }
}

function localStorageIfAllowed() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
