// Text preprocessing from the JSON spec, in JavaScript: a port of common/bundle/textprep.py.
//
// The spec (preprocessing.json) fixes every step from a raw string to model input ids; this
// module applies it the way the Python side does and checks itself on the spec's test vectors
// (preprocessing.vectors.json) before the app classifies anything. Like the Python side it
// refuses a spec with an unknown field or value: a spec this port does not understand must stop
// the app, never be half-applied. Runs in browsers and in Node (tests/test_stage5b_web_app.py).
//
// Strings: JavaScript strings are UTF-16; every step works on Unicode code points
// (Array.from), as Python does, so emoji and other characters outside the BMP count as one.

export const SPEC_FORMAT = "ml-roadmap/text-spec";
export const SPEC_VERSION = 1;
export const PAD = "<pad>";
export const UNK = "<unk>";
export const PAD_ID = 0;
export const UNK_ID = 1;

// Every field the spec may have, with its default (TextSpec in common/bundle/textprep.py) and the check
// of its value. A new optional field is one entry here plus the step that uses it.
const FIELDS = {
  vocabulary: { default: [PAD, UNK], check: isVocabulary },
  normalization: { default: "NFKC", check: oneOf("NFC", "NFKC", "NFD", "NFKD", "none") },
  case: { default: "lower", check: oneOf("lower", "none") },
  token_pattern: { default: "[\\p{L}\\p{N}]+|[\\p{P}\\p{S}]", check: isString },
  min_freq: { default: 1, check: atLeastOne },
  ngram_sizes: { default: [2, 3, 4, 5], check: (v) => isArrayOf(v, atLeastOne) },
  ngram_boundary: { default: ["<", ">"], check: (v) => isArrayOf(v, isString) && v.length === 2 },
  hash: { default: "fnv1a32", check: oneOf("fnv1a32") },
  buckets: { default: 1 << 16, check: atLeastOne },
  max_words: { default: 128, check: atLeastOne },
  max_ngrams: { default: 1024, check: atLeastOne },
  truncation: { default: "head", check: oneOf("head") },
  ngram_scope: { default: "token", check: oneOf("token", "text") },
};

export class SpecError extends Error {}

function oneOf(...choices) {
  const check = (value) => choices.includes(value);
  check.expected = `one of ${choices.join(", ")}`;
  return check;
}
function isString(value) { return typeof value === "string"; }
function atLeastOne(value) { return Number.isInteger(value) && value >= 1; }
function isArrayOf(value, check) { return Array.isArray(value) && value.every(check); }
function isVocabulary(value) {
  return isArrayOf(value, isString) && value[0] === PAD && value[1] === UNK
    && new Set(value).size === value.length;
}

/** Validate a parsed preprocessing.json; returns the spec with defaults filled in. */
export function loadSpec(data) {
  if (data === null || typeof data !== "object" || data.format !== SPEC_FORMAT
      || data.version !== SPEC_VERSION) {
    throw new SpecError(`not a ${SPEC_FORMAT} v${SPEC_VERSION} document`);
  }
  const unknown = Object.keys(data).filter((k) => !(k in FIELDS) && k !== "format" && k !== "version");
  if (unknown.length) throw new SpecError(`unknown spec fields: ${unknown.sort().join(", ")}`);
  const spec = {};
  for (const [name, field] of Object.entries(FIELDS)) {
    const value = name in data ? data[name] : field.default;
    if (!field.check(value)) {
      throw new SpecError(`spec field ${name} has an unsupported value ${JSON.stringify(value)}`
        + (field.check.expected ? ` (expected ${field.check.expected})` : ""));
    }
    spec[name] = value;
  }
  spec.alternatives = parseTokenPattern(spec.token_pattern);
  return spec;
}

// --- token pattern: [\p{L}\p{N}]+|[\p{P}\p{S}] and the like (the portable subset) ---------------
const ALTERNATIVE = /\[((?:\\p\{[A-Z][a-z]?\}|[^\\[\]\-^])+)\](\+?)/uy;
const CLASS_ITEM = /\\p\{([A-Z][a-z]?)\}|([^\n])/gu;  // "." of Python re: all but \n

/** The pattern's alternatives: {categories, literals, repeat}, as parse_token_pattern in Python. */
export function parseTokenPattern(pattern) {
  const alternatives = [];
  let position = 0;
  for (;;) {
    ALTERNATIVE.lastIndex = position;
    const match = ALTERNATIVE.exec(pattern);
    if (match === null) {
      throw new SpecError(`unsupported token pattern ${JSON.stringify(pattern)} at `
        + `${JSON.stringify(pattern.slice(position))}`);
    }
    const categories = new Set();
    const literals = new Set();
    for (const [, category, literal] of match[1].matchAll(CLASS_ITEM)) {
      if (category) categories.add(category); else literals.add(literal);
    }
    alternatives.push({ categories, literals, repeat: match[2] === "+" });
    position = ALTERNATIVE.lastIndex;
    if (position === pattern.length) return alternatives;
    if (pattern[position] !== "|") {
      throw new SpecError(`unsupported token pattern ${JSON.stringify(pattern)} at `
        + `${JSON.stringify(pattern.slice(position))}`);
    }
    position += 1;
  }
}

// Unicode general categories, most common first: the category of a code point is the first
// whose \p{..} matches (Python: unicodedata.category).
const CATEGORIES = ["Ll", "Lu", "Zs", "Nd", "Po", "Lo", "Mn", "So", "Sm", "Sc", "Pd", "Ps", "Pe",
  "Pi", "Pf", "Pc", "Sk", "Lt", "Lm", "Mc", "Me", "Nl", "No", "Zl", "Zp", "Cc", "Cf", "Cs", "Co",
  "Cn"].map((name) => [name, new RegExp(`^\\p{${name}}$`, "u")]);
const categoryCache = new Map();

export function category(char) {
  let found = categoryCache.get(char);
  if (found === undefined) {
    found = CATEGORIES.find(([, regex]) => regex.test(char))[0];
    categoryCache.set(char, found);
  }
  return found;
}

function contains(alternative, char) {
  if (alternative.literals.has(char)) return true;
  const name = category(char);
  return alternative.categories.has(name) || alternative.categories.has(name[0]);
}

// --- 32-bit FNV-1a over UTF-8 bytes ---------------------------------------------------------------
const UTF8 = new TextEncoder();

export function fnv1a32(text) {
  let value = 0x811c9dc5;
  for (const byte of UTF8.encode(text)) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return value;
}

/** Applies a spec: normalise → tokens → word ids and hashed n-gram ids (TextEncoder in Python). */
export class SpecEncoder {
  constructor(spec) {
    this.spec = spec;
    this.wordToId = new Map(spec.vocabulary.map((word, index) => [word, index]));
    this.ngramCache = new Map();
  }

  normalize(text) {
    if (this.spec.normalization !== "none") text = text.normalize(this.spec.normalization);
    return this.spec.case === "lower" ? text.toLowerCase() : text;
  }

  /** The pattern's matches in the normalised text, left to right, as code-point strings. */
  tokens(text) {
    const chars = Array.from(this.normalize(text));
    const found = [];
    let start = 0;
    while (start < chars.length) {
      const alternative = this.spec.alternatives.find((alt) => contains(alt, chars[start]));
      if (alternative === undefined) { start += 1; continue; }
      let stop = start + 1;
      if (alternative.repeat) {
        while (stop < chars.length && contains(alternative, chars[stop])) stop += 1;
      }
      found.push(chars.slice(start, stop).join(""));
      start = stop;
    }
    return found;
  }

  /** Character n-grams of one token with boundary marks, shortest n first. */
  ngrams(token) {
    const [open, close] = this.spec.ngram_boundary;
    const marked = Array.from(open + token + close);
    const grams = [];
    for (const n of this.spec.ngram_sizes) {
      for (let i = 0; i + n <= marked.length; i += 1) grams.push(marked.slice(i, i + n).join(""));
    }
    return grams;
  }

  wordNgramIds(token) {
    let ids = this.ngramCache.get(token);
    if (ids === undefined) {
      ids = this.ngrams(token).map((gram) => 1 + (fnv1a32(gram) % this.spec.buckets));
      this.ngramCache.set(token, ids);
    }
    return ids;
  }

  /** ngram_scope "text": n-grams across words (tokens joined by one space, the whole wrapped
   * once in the boundary marks), by start position, then by n, the first max_ngrams of them. */
  textNgramIds(tokens) {
    if (tokens.length === 0) return [];
    const [open, close] = this.spec.ngram_boundary;
    const marked = Array.from(open + tokens.join(" ") + close);
    const ids = [];
    for (let i = 0; i < marked.length && ids.length < this.spec.max_ngrams; i += 1) {
      for (const n of this.spec.ngram_sizes) {
        if (i + n > marked.length || ids.length === this.spec.max_ngrams) continue;
        ids.push(1 + (fnv1a32(marked.slice(i, i + n).join("")) % this.spec.buckets));
      }
    }
    return ids;
  }

  /** {wordIds, ngramIds} of one text, truncated to max_words / max_ngrams (not padded). */
  encode(text) {
    const tokens = this.tokens(text);
    const wordIds = tokens.slice(0, this.spec.max_words)
      .map((token) => this.wordToId.get(token) ?? UNK_ID);
    if (this.spec.ngram_scope === "text") return { wordIds, ngramIds: this.textNgramIds(tokens) };
    const ngramIds = [];
    for (const token of tokens) {
      if (ngramIds.length >= this.spec.max_ngrams) break;
      ngramIds.push(...this.wordNgramIds(token));
    }
    return { wordIds, ngramIds: ngramIds.slice(0, this.spec.max_ngrams) };
  }

  /** The texts of the test vectors this port does not reproduce (empty: all agree). */
  failedVectors(vectors) {
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    return vectors.filter((vector) => {
      const { wordIds, ngramIds } = this.encode(vector.text);
      return this.normalize(vector.text) !== vector.normalized
        || !same(this.tokens(vector.text), vector.tokens)
        || !same(wordIds, vector.word_ids) || !same(ngramIds, vector.ngram_ids);
    }).map((vector) => vector.text);
  }
}
