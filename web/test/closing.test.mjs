// When the call is told that its room closes: five minutes and one minute before, each once.
import { test } from "node:test";
import assert from "node:assert/strict";

import { closingPlan } from "../js/closing.js";

const MINUTE = 60_000;
const CLOSES = 10 * 60 * MINUTE;

/** What a page that comes in at `from` says, looking again whenever its plan asks, until the close. */
function said(from) {
  const sayings = [];
  let told = Infinity;
  for (let now = from; now !== null;) {
    const plan = closingPlan(CLOSES, now, told);
    if (plan.say !== null) sayings.push([CLOSES - now, plan.say]);
    assert.ok(plan.nextAt === null || plan.nextAt > now || plan.say !== null, `no loop at ${now}`);
    told = plan.told;
    now = plan.nextAt;
  }
  return sayings;
}

test("in the call long before: five minutes, then one minute before", () => {
  assert.deepEqual(said(0), [[5 * MINUTE, 5], [MINUTE, 1]]);
});

test("come in with three minutes left: told at once, then at one minute", () => {
  assert.deepEqual(said(CLOSES - 3 * MINUTE + 1), [[3 * MINUTE - 1, 3], [MINUTE, 1]]);
});

test("come in with 40 s left: told once, not twice", () => {
  assert.deepEqual(said(CLOSES - 40_000), [[40_000, 1]]);
});

test("a reconnect tells no warning again", () => {
  const first = closingPlan(CLOSES, CLOSES - 4 * MINUTE, Infinity);
  assert.equal(first.say, 4);
  const again = closingPlan(CLOSES, CLOSES - 3 * MINUTE, first.told);
  assert.equal(again.say, null);
  assert.equal(again.nextAt, CLOSES - MINUTE);
});

test("closed already, or no closing time known: nothing", () => {
  assert.deepEqual(closingPlan(CLOSES, CLOSES + 1, Infinity), { say: null, told: Infinity, nextAt: null });
  assert.deepEqual(closingPlan(undefined, 0, Infinity), { say: null, told: Infinity, nextAt: null });
});
