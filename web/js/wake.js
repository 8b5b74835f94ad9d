// The screen kept on while the person waits to be let in and while they are in the call: a phone
// or tablet would otherwise dim and lock while they watch (or wait, and miss being let in). The
// Screen Wake Lock API, where the browser has it; the browser lets the lock go whenever the page
// is hidden, so it is asked for again each time the page is shown.

/**
 * Whether this document may keep the screen on: the browser has the API, and (in an iframe) the
 * embedding page allowed it (`allow="screen-wake-lock"`); asking where it may not is a console
 * error, not just a refusal.
 */
function allowed() {
  if (!navigator.wakeLock?.request) return false;
  const policy = document.permissionsPolicy ?? document.featurePolicy;
  return policy?.allowsFeature ? policy.allowsFeature("screen-wake-lock") : true;
}

export class ScreenKeeper {
  constructor() {
    this.wanted = false;
    this.lock = null;
    /** The browser's answer awaited, if any. */
    this.asking = null;
    this.onVisibility = () => this.request();
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  /** Keeps the screen on (`true`) or lets it dim again (`false`). */
  keep(on) {
    if (on === this.wanted) return;
    this.wanted = on;
    if (on) this.request();
    else this.release();
  }

  async request() {
    if (!this.wanted || !allowed() || document.visibilityState !== "visible") return;
    if ((this.lock && !this.lock.released) || this.asking) return;
    this.asking = navigator.wakeLock.request("screen");
    try {
      const lock = await this.asking;
      // Let go meanwhile (the call ended while the browser answered): released at once.
      if (this.wanted) this.lock = lock;
      else lock.release().catch(() => {});
    } catch (error) {
      // Refused (battery saver, a policy): the screen may dim, nothing else changes.
      console.info(`the screen may dim during the call: ${error?.message || error}`);
    } finally {
      this.asking = null;
    }
  }

  release() {
    this.lock?.release().catch(() => {});
    this.lock = null;
  }
}
