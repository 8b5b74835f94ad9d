// Telling a host someone is at the door, wherever their eyes are: a toast that stays until the
// knock is handled, a chime, the tab's title and icon with the number waiting, and (if the host
// asks for it) a desktop notification while the tab is in the background.

import { served } from "./base.js";
import { chime, toast } from "./dom.js";
import { t } from "./i18n.js";

export class KnockNotices {
  constructor({ title, openPeople }) {
    this.baseTitle = title;
    this.openPeople = openPeople;
    this.toasts = new Map();
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

  /** A new knock: chime, a toast until it is handled, and a desktop notice when hidden. */
  knocked(knock) {
    chime();
    this.toasts.get(knock.clientId)?.remove();
    const item = toast(t("{name} is knocking", { name: knock.displayName }), {
      timeout: 0,
      // Out of sight while People is open, where the knock is anyway (room.css).
      className: "knock-toast",
      actions: [{ label: t("Open People"), run: () => this.openPeople() }],
    });
    if (item) this.toasts.set(knock.clientId, item);
    if (document.hidden && this.desktopAllowed()) {
      const notice = new Notification(t("{name} is knocking", { name: knock.displayName }), { body: this.baseTitle, tag: `knock-${knock.clientId}` });
      notice.onclick = () => {
        window.focus();
        this.openPeople();
        notice.close();
      };
    }
  }

  /** The knock was decided, cancelled or expired: its toast goes. */
  handled(clientId) {
    this.toasts.get(clientId)?.remove();
    this.toasts.delete(clientId);
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
    for (const item of this.toasts.values()) item.remove();
    this.toasts.clear();
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
