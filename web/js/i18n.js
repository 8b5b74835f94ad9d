// The words of the page, in the room's language. The English text is the key (as gettext's msgid):
// what the source says is what an English page shows, and a catalog (lang/*.js) maps it to another
// language. Plural rules and ordinals are the browser's own (Intl). A text a catalog lacks is shown
// in English; web/test/i18n.test.mjs checks every catalog has every text the client uses.

/** The languages a room can be shown in (Whereby's `lang` codes: the primary subtag); each but
 * English has `lang/<code>.js`, its texts (`default`) and how it writes 1st, 2nd... (`ordinal`). */
export const LANGUAGES = ["en", "de", "es", "fr", "it", "nl", "pt"];

/** Each language's name in itself, as a picker lists them. */
export const LANGUAGE_NAMES = { en: "English", de: "Deutsch", es: "Español", fr: "Français", it: "Italiano", nl: "Nederlands", pt: "Português" };

let current = "en";
let catalog = {};
let ordinalOf = null;

/**
 * Chooses the page's language: the room URL's `lang`, else the first of the browser's languages we
 * have, else English; and loads its catalog alone (a page does not fetch the others). Resolves to
 * the code chosen.
 */
export async function chooseLanguage(requested, preferred = globalThis.navigator?.languages ?? []) {
  const primary = (tag) => String(tag || "").toLowerCase().split(/[-_]/)[0];
  const wanted = [requested, ...preferred].map(primary).filter(Boolean);
  const code = wanted.find((c) => LANGUAGES.includes(c)) ?? "en";
  const lang = code === "en" ? { default: {}, ordinal: null } : await import(`./lang/${code}.js`);
  [current, catalog, ordinalOf] = [code, lang.default, lang.ordinal ?? null];
  return current;
}

/** The page's language code, as chosen (dates and times are written in it too). */
export function language() {
  return current;
}

/** `text` in the page's language, with `{name}` replaced by `values.name`. */
export function t(text, values) {
  return fill(catalog[text] ?? text, values);
}

/**
 * For a count: `one` or `other` (the English texts; `other` is the catalog's key, whose entry gives
 * the language's forms by plural category, as `Intl.PluralRules` names them). `{count}` is the count.
 */
export function tn(count, one, other, values = {}) {
  const forms = catalog[other] ?? { one, other };
  const category = pluralRules(current).select(count);
  const text = forms[category] ?? forms.other;
  return fill(text, { count, ...values });
}

/** A language's plural rules, made once (making them takes a while; a large room counts often). */
const plurals = new Map();
function pluralRules(code) {
  if (!plurals.has(code)) plurals.set(code, new Intl.PluralRules(code));
  return plurals.get(code);
}

/** 1st, 2nd, 3rd... in the page's language. */
export function ordinal(n) {
  if (ordinalOf) return ordinalOf(n);
  const suffix = { one: "st", two: "nd", few: "rd", other: "th" }[new Intl.PluralRules("en", { type: "ordinal" }).select(n)];
  return `${n}${suffix}`;
}

function fill(text, values) {
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? isolated(String(values[name])) : whole));
}

// Strong right-to-left letters: Hebrew, Arabic, Syriac, Thaana, N'Ko and their presentation forms.
const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]|\ud802[\udc00-\udfff]|\ud83a[\udc00-\udfff]/;

/**
 * What someone wrote, to be put inside a sentence of ours: a name or message with right-to-left
 * letters is isolated (Unicode's FSI…PDI), or its digits and punctuation join the sentence's
 * ("سارة 2 is knocking" would read "2 سارة is knocking"). Every language of ours runs left to
 * right, so other text needs nothing (and stays as it was, for tests that read it).
 */
export function isolated(text) {
  return RTL.test(text) ? `\u2068${text}\u2069` : text;
}
