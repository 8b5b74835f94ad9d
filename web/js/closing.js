// The room's closing time. An hour after a meeting's end date the server closes its room for
// everyone (`room.closesAt`, protocol.md); those in the call are told five minutes and one minute
// before, in a note and to screen readers, rather than find the call gone mid-sentence.

import { announce, toast } from "./dom.js";
import { tn } from "./i18n.js";
import { serverNow } from "./server-clock.js";

/** Minutes before the closing at which the call is told, largest first. */
export const WARNINGS = [5, 1];

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** A warning stays on screen this long (a note of the usual few seconds is easily missed). */
const SHOWN_MS = 30_000;

/**
 * What to do at `now` (both in milliseconds since 1970, the server's clock), `told` being the
 * smallest warning given so far (`Infinity` for none): `say`, the minutes left to say now (or
 * null); `told`, the smallest warning given after that; `nextAt`, when to look again (or null).
 * Several warnings due at once (a person come in with 40 s left) are said once.
 */
export function closingPlan(closesAt, now, told) {
  const left = closesAt - now;
  if (!Number.isFinite(closesAt) || left <= 0) return { say: null, told, nextAt: null };
  const due = WARNINGS.filter((minutes) => minutes < told && left <= minutes * MINUTE);
  const toldNow = due.length ? Math.min(...due) : told;
  const next = WARNINGS.find((minutes) => minutes < toldNow);
  return {
    say: due.length ? Math.ceil(left / MINUTE) : null,
    told: toldNow,
    nextAt: next === undefined ? null : closesAt - next * MINUTE,
  };
}

export class ClosingNotice {
  constructor() {
    /** Kept across reconnects: a warning given is not given again by a new `room_joined`. */
    this.told = Infinity;
    this.timer = null;
  }

  /** A `room_joined`'s `room.closesAt` (a server of before it sends none: nothing is said). */
  watch(closesAt) {
    clearTimeout(this.timer);
    this.closesAt = closesAt;
    this.check();
  }

  check() {
    const plan = closingPlan(this.closesAt, serverNow(), this.told);
    this.told = plan.told;
    if (plan.say !== null) {
      const text = tn(plan.say, "This meeting ends in {count} minute.", "This meeting ends in {count} minutes.");
      toast(text, { timeout: SHOWN_MS, className: "closing" });
      announce(text);
    }
    // Timers of a hidden tab may fire late, never early: the plan is made again when one fires.
    // A day at most: a browser fires a timer longer than 2³¹ ms (25 days) at once.
    if (plan.nextAt !== null) this.timer = setTimeout(() => this.check(), Math.min(DAY, Math.max(0, plan.nextAt - serverNow())));
  }

  stop() {
    clearTimeout(this.timer);
  }
}
