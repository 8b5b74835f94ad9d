// The room's languages: every text the client shows goes through i18n.js, and every catalog has
// every text, with the same placeholders.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

import { chooseLanguage, isolated, language, ordinal, t, tn, LANGUAGES } from "../js/i18n.js";
import { waitedText } from "../js/dom.js";

const JS = new URL("../js/", import.meta.url);
const sources = readdirSync(JS).filter((f) => f.endsWith(".js") && f !== "i18n.js")
  .map((file) => ({ file, text: withoutComments(readFileSync(new URL(file, JS), "utf8")) }));
/** Code only: comments name texts too. (`://` in an address is not a comment.) */
function withoutComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}
const STRING = String.raw`"((?:[^"\\]|\\.)*)"`;

/** The texts the client asks for: t("…") and tn(count, "…", "…") (keyed by the plural text). */
function used() {
  const keys = new Map();
  for (const { file, text } of sources) {
    for (const m of text.matchAll(new RegExp(String.raw`\bt\(${STRING}`, "g"))) keys.set(JSON.parse(`"${m[1]}"`), { file, plural: false });
    for (const m of text.matchAll(new RegExp(String.raw`\btn\([^,]+,\s*${STRING},\s*${STRING}`, "g"))) keys.set(JSON.parse(`"${m[2]}"`), { file, plural: true });
  }
  return keys;
}

const placeholders = (text) => new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));

test("t and tn are only ever given texts written out, so that the catalogs can be checked", () => {
  for (const { file, text } of sources) {
    assert.deepEqual([...text.matchAll(/\bt\((?!")[^)]*\)/g)].map((m) => m[0]), [], `${file}: t() of something not a string literal`);
    assert.deepEqual([...text.matchAll(new RegExp(String.raw`\btn\((?![^,]+,\s*${STRING},\s*${STRING})[^)]*\)`, "g"))].map((m) => m[0]), [], `${file}: tn() without its texts written out`);
  }
});

test("no text a person reads is left out of the catalogs", () => {
  // Where words go: text, labels, titles, placeholders, and what is announced or shown as a toast.
  const sinks = /(?:\b(?:text|label|title|placeholder|"aria-label")\s*:\s*|\b(?:announce|toast|say)\(\s*|\bsetLabel\([^,]+,\s*|setAttribute\("(?:aria-label|title|placeholder)",\s*|textContent\s*=\s*)(["`])((?:(?!\1)[^\\]|\\.)*)\1/g;
  for (const { file, text } of sources) {
    for (const m of text.matchAll(sinks)) {
      // (The product's name is not translated.)
      const words = m[2].replace(/\$\{[^}]*\}/g, "").replace("anteroom", "");
      assert.ok(!/[A-Za-z]{2,}/.test(words), `${file}: ${m[0]} is not translated`);
    }
  }
});

test("every catalog has every text, with the same placeholders, and nothing else", async () => {
  const keys = used();
  assert.ok(keys.size > 150, `found ${keys.size} texts`);
  const files = readdirSync(new URL("lang/", JS)).filter((f) => f.endsWith(".js")).map((f) => f.slice(0, -3));
  assert.deepEqual(files.sort(), LANGUAGES.filter((c) => c !== "en").sort(), "every catalog is offered, and every language offered has one");
  for (const code of LANGUAGES.filter((c) => c !== "en")) {
    const { default: catalog } = await import(`../js/lang/${code}.js`);
    for (const [key, { file, plural }] of keys) {
      assert.ok(key in catalog, `${code}: missing ${JSON.stringify(key)} (${file})`);
      const entry = catalog[key];
      const forms = plural ? Object.values(entry) : [entry];
      assert.ok(plural ? typeof entry === "object" && "other" in entry : typeof entry === "string", `${code}: ${JSON.stringify(key)} has the wrong shape`);
      for (const form of forms) {
        const wanted = placeholders(key);
        if (!plural) assert.deepEqual(placeholders(form), wanted, `${code}: ${JSON.stringify(form)} has other placeholders than ${JSON.stringify(key)}`);
        wanted.add("count");
        for (const name of placeholders(form)) assert.ok(wanted.has(name), `${code}: {${name}} in ${JSON.stringify(form)}`);
      }
    }
    for (const key of Object.keys(catalog)) assert.ok(keys.has(key), `${code}: ${JSON.stringify(key)} is used nowhere`);
  }
});

test("the language: the room URL's lang, else the browser's, else English; texts, plurals and ordinals follow", async () => {
  assert.equal(await chooseLanguage(null, ["en-GB"]), "en");
  assert.equal(t("Knock"), "Knock");
  assert.equal(t("{name} joined", { name: "Ann" }), "Ann joined");
  assert.equal(tn(2, "{count} waiting", "{count} waiting"), "2 waiting");
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal), ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]);

  assert.equal(await chooseLanguage("fr"), "fr");
  assert.equal(language(), "fr");
  assert.notEqual(t("Knock"), "Knock");
  assert.equal(t("a text no catalog has"), "a text no catalog has", "English when a catalog lacks it");
  assert.equal(tn(1, "{count} waiting", "{count} waiting"), "1 en attente");
  assert.equal(tn(3, "{count} waiting", "{count} waiting"), "3 en attente");
  assert.equal(tn(1, "{count} unread", "{count} unread"), "1 non lu");
  assert.equal(tn(2, "{count} unread", "{count} unread"), "2 non lus");
  assert.deepEqual([1, 2, 10].map(ordinal), ["1er", "2e", "10e"]);
  assert.equal(await chooseLanguage("FR-ca"), "fr", "a region or case does not matter");
  assert.equal(await chooseLanguage(null, ["ja-JP", "fr-FR", "en"]), "fr", "the first of the browser's we have");
  assert.equal(await chooseLanguage("es-MX"), "es");
  assert.deepEqual([tn(1, "{count} waiting to be let in", "{count} waiting to be let in"), tn(3, "{count} waiting to be let in", "{count} waiting to be let in"), ordinal(2)], ["1 persona espera para entrar", "3 personas esperan para entrar", "2.º"]);
  assert.equal(await chooseLanguage("de-AT"), "de");
  assert.deepEqual([tn(1, "{count} waiting", "{count} waiting"), tn(4, "{count} waiting", "{count} waiting"), ordinal(2)], ["1 wartet", "4 warten", "2."]);
  assert.equal(await chooseLanguage("xx", ["en-US"]), "en", "an unknown lang: the browser's");
  assert.equal(await chooseLanguage("xx", []), "en");
  assert.equal(t("Knock"), "Knock");
});

test("how long a knocker has waited, in the page's language", async () => {
  const minute = 60_000;
  await chooseLanguage("en");
  assert.deepEqual([-5000, 59_000, 4 * minute + 30_000, 60 * minute, 65 * minute].map(waitedText), ["just now", "just now", "4 min", "1 hr", "1 hr 5 min"]);
  await chooseLanguage("de");
  assert.deepEqual([0, 4 * minute, 65 * minute].map(waitedText), ["gerade eben", "4 Min.", "1 Std. 5 Min."]);
  await chooseLanguage("en");
});

test("what someone wrote in a right-to-left script is isolated inside our sentences; other text is left as it is", () => {
  const [FSI, PDI] = ["\u2068", "\u2069"];
  assert.equal(t("{name} is knocking", { name: "سارة 2" }), `${FSI}سارة 2${PDI} is knocking`, "Arabic");
  assert.equal(t("{name} (you)", { name: "ד״ר כהן" }), `${FSI}ד״ר כהן${PDI} (you)`, "Hebrew");
  assert.equal(isolated("𞤀𞤣𞤤𞤢𞤥"), `${FSI}𞤀𞤣𞤤𞤢𞤥${PDI}`, "Adlam, beyond the basic plane");
  assert.equal(t("{name} is knocking", { name: "Zoë 2" }), "Zoë 2 is knocking");
  assert.equal(tn(3, "{count} waiting", "{count} waiting"), "3 waiting", "numbers are not isolated");
  assert.equal(isolated("山田 太郎"), "山田 太郎", "left-to-right scripts need nothing");
});
