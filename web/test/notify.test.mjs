// The knock toast's words: one knock names its knocker; many at once make one toast that names the
// latest and counts the rest, in the page's language.
import { test } from "node:test";
import assert from "node:assert/strict";

import { chooseLanguage } from "../js/i18n.js";
import { knockText } from "../js/notify.js";

test("one knock names its knocker; more name the latest and count the others", async () => {
  await chooseLanguage("en");
  assert.equal(knockText(["Pat"]), "Pat is knocking");
  assert.equal(knockText(["Pat", "Lee"]), "Lee and 1 other are knocking");
  assert.equal(knockText(Array.from({ length: 13 }, (_, i) => `K${i}`)), "K12 and 12 others are knocking");
});

test("the count follows the language's plural forms", async () => {
  await chooseLanguage("de");
  assert.equal(knockText(["Pat", "Lee"]), "Lee und 1 weitere Person klopfen an");
  assert.equal(knockText(["Pat", "Lee", "Sam"]), "Sam und 2 weitere Personen klopfen an");
  await chooseLanguage("en");
});
