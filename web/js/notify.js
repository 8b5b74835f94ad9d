// Telling a host someone is at the door, wherever their eyes are: a toast that stays while knocks
// wait, a chime, the tab's title and icon with the number waiting, and (if the host asks for it) a
// desktop notification while the tab is in the background. Many knocks at once (a class arriving)
// make one toast that counts them, one chime and one desktop notice, not one each: a toast each
// covered a phone's whole window, its controls too.

import { served } from "./base.js";
import { chime, toast } from "./dom.js";
import { t, tn } from "./i18n.js";

/** The least time between two chimes (ms): a burst of knocks chimes once. */
const CHIME_GAP = 1500;

/** What the knock toast says: the latest knocker, and how many more wait. */
export function knockText(names) {
  const name = names.at(-1);
  if (names.length === 1) return t("{name} is knocking", { name });
  return tn(names.length - 1, "{name} and {count} other are knocking", "{name} and {count} others are knocking", { name });
}

export class KnockNotices {
  constructor({ title, openPeople }) {
    this.baseTitle = title;
    this.openPeople = openPeople;
    /** The knocks toasted and not yet handled: client id → name, the latest last. */
    this.knocks = new Map();
    this.toast = null;
    this.chimedAt = -Infinity;
    this.waiting = 0;
    this.favicon = document.querySelector("link[rel~='icon']");
  }

  /**
   * Whether desktop notices may be shown ("granted", "denied" or "default": not yet asked). Asked
   * of the browser once, when a host's page first wants it (People, a knock in a hidden tab), and
   * kept: asking takes a millisecond or two (some 25 ms of a guest's page entering a call on a
   * busy machine, when every page asked), and People asks on every drawing. A host may answer
   * elsewhere too (the site's settings): the browser says so.
   */
  get permission() {
    if (this.known === undefined) {
      this.known = "Notification" in window ? Notification.permission : "denied";
      navigator.permissions?.query({ name: "notifications" }).then((status) => {
        status.onchange = () => { this.known = Notification.permission; };
      }).catch(() => {});
    }
    return this.known;
  }

  /** A new knock: chime, the toast says it, and a desktop notice when hidden; returns what the toast says. */
  knocked(knock) {
    const now = performance.now();
    if (now - this.chimedAt >= CHIME_GAP) {
      chime();
      this.chimedAt = now;
    }
    this.knocks.delete(knock.clientId);
    this.knocks.set(knock.clientId, knock.displayName);
    const text = this.showToast();
    if (document.hidden && this.desktopAllowed()) {
      // One notice, replaced by the next (its tag), rather than a pile of them.
      const notice = new Notification(text, { body: this.baseTitle, tag: "knocks" });
      notice.onclick = () => {
        window.focus();
        this.openPeople();
        notice.close();
      };
    }
    return text;
  }

  /** The knock was decided, cancelled or expired: the toast counts it no more. */
  handled(clientId) {
    if (this.knocks.delete(clientId)) this.showToast();
  }

  /** The toast as the knocks waiting make it (none: no toast); returns its text. */
  showToast() {
    if (!this.knocks.size) {
      this.toast?.remove();
      this.toast = null;
      return "";
    }
    const text = knockText([...this.knocks.values()]);
    if (this.toast?.isConnected) {
      this.toast.querySelector("span").textContent = text;
    } else {
      this.toast = toast(text, {
        timeout: 0,
        // Out of sight while People is open, where the knocks are anyway (room.css).
        className: "knock-toast",
        actions: [{ label: t("Open People"), run: () => this.openPeople() }],
      });
    }
    return text;
  }

  /** Title and icon show how many wait. */
  setWaiting(count) {
    // (A large room's every change comes here: the title and icon are written when the count moves.)
    if (count === this.waiting) return;
    this.waiting = count;
    document.title = count ? t("({count}) waiting · {title}", { count, title: this.baseTitle }) : this.baseTitle;
    if (this.favicon) this.favicon.href = count ? badgeIcon(count) : served("/assets/favicon.svg");
  }

  desktopAllowed() {
    return this.permission === "granted";
  }

  /** Whether a "notify me" control makes sense (supported, and not yet decided). */
  canAsk() {
    return this.permission === "default";
  }

  async ask() {
    if (!("Notification" in window)) return false;
    this.known = await Notification.requestPermission();
    return this.known === "granted";
  }

  clear() {
    this.knocks.clear();
    this.showToast();
    this.setWaiting(0);
  }
}

/** The favicon with a red count on it, drawn on a canvas (a data: URL the page's policy allows). */
function badgeIcon(count) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const g = canvas.getContext("2d");
  if (!g) return served("/assets/favicon.svg");
  g.fillStyle = "#2f5bea";
  g.beginPath();
  g.roundRect(4, 4, 56, 56, 12);
  g.fill();
  g.fillStyle = "#c62828";
  g.beginPath();
  g.arc(44, 20, 18, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = "#fff";
  g.font = "bold 24px sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(count > 9 ? "9+" : String(count), 44, 21);
  return canvas.toDataURL("image/png");
}
