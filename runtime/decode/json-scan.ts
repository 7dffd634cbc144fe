import type { Fields } from '../stages/validate.js';
import { latin1, RecentStrings } from './recent-strings.js';

/**
 * The impression fast path: reads the canonical fields of one flat JSON object straight from the
 * message bytes, without a decoded text, a parsed object or key internalisation. It accepts only a
 * strict subset of JSON whose meaning is unambiguous — one object whose values are printable-ASCII
 * strings without escapes, integers of at most 15 digits, `true`, `false`, `null`, or (for fields
 * other than the canonical ones) objects and arrays of those — and answers `false` for anything
 * else (a top-level array, escapes, non-ASCII bytes, fractions, exponents, syntax errors), so the caller decodes that message with `JSON.parse` as before. On `true`, `into`
 * holds what `JSON.parse` would have given for the canonical names (the last of duplicate keys),
 * `undefined` for an absent one; other keys are checked for syntax and ignored.
 */

export const CANONICAL_IMPRESSION_FIELDS = ['impression_id', 'request_id', 'campaign_id', 'creative_id', 'user_id', 'ts', 'price_micros'] as const;

/** A field bag with the canonical names only, reused from record to record. */
export interface CanonicalImpressionFields extends Fields {
  impression_id: unknown;
  request_id: unknown;
  campaign_id: unknown;
  creative_id: unknown;
  user_id: unknown;
  ts: unknown;
  price_micros: unknown;
}

export function canonicalImpressionFields(): CanonicalImpressionFields {
  return { impression_id: undefined, request_id: undefined, campaign_id: undefined, creative_id: undefined, user_id: undefined, ts: undefined, price_micros: undefined };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MAX_INTEGER_DIGITS = 15;

const CAMPAIGN = 2;
const CREATIVE = 3;
/** Campaigns and creatives are few: their strings are shared from record to record. */
const recent = [new RecentStrings(), new RecentStrings()];

const NAME_BYTES = CANONICAL_IMPRESSION_FIELDS.map((name) => Buffer.from(name, 'latin1'));
const LITERALS: readonly [Buffer, unknown][] = [
  [Buffer.from('true'), true],
  [Buffer.from('false'), false],
  [Buffer.from('null'), null],
];

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(bytes: Buffer, at: number): number {
  while (isSpace(bytes[at])) at++;
  return at;
}

/** Index of the closing quote of a string starting at `at`, or -1 if it is outside the subset. */
function stringEnd(bytes: Buffer, at: number): number {
  for (let i = at; i < bytes.length; i++) {
    const c = bytes[i]!;
    // One test for the common bytes; the rare ones (controls, space, '!', '"') sorted out after.
    if (c > QUOTE && c !== BACKSLASH && c < 0x7f) continue;
    if (c === QUOTE) return i;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

/** Candidate canonical names by length (no two lengths need more than a byte or two to tell apart). */
const BY_LENGTH: number[][] = [];
NAME_BYTES.forEach((name, k) => (BY_LENGTH[name.length] ??= []).push(k));

/** Which canonical name bytes[start..end) spells, or -1. */
function nameIndex(bytes: Buffer, start: number, end: number): number {
  const candidates = BY_LENGTH[end - start];
  if (candidates === undefined) return -1;
  for (let c = 0; c < candidates.length; c++) {
    const k = candidates[c]!;
    const name = NAME_BYTES[k]!;
    let i = 0;
    while (i < name.length && bytes[start + i] === name[i]) i++;
    if (i === name.length) return k;
  }
  return -1;
}

function store(into: CanonicalImpressionFields, field: number, value: unknown): void {
  switch (field) {
    case 0:
      into.impression_id = value;
      break;
    case 1:
      into.request_id = value;
      break;
    case 2:
      into.campaign_id = value;
      break;
    case 3:
      into.creative_id = value;
      break;
    case 4:
      into.user_id = value;
      break;
    case 5:
      into.ts = value;
      break;
    case 6:
      into.price_micros = value;
      break;
  }
}

/** The end of a `true`, `false` or `null` at `at`, or -1. */
function literalEnd(bytes: Buffer, at: number): number {
  for (const [text] of LITERALS) {
    if (bytes[at] !== text[0]) continue;
    for (let k = 1; k < text.length; k++) if (bytes[at + k] !== text[k]) return -1;
    return at + text.length;
  }
  return -1;
}

/** The end of an integer in the subset at `at` (see the header), or -1. */
function integerEnd(bytes: Buffer, at: number): number {
  if (bytes[at] === MINUS) at++;
  const first = at;
  while (bytes[at] !== undefined && bytes[at]! >= DIGIT_0 && bytes[at]! <= DIGIT_9) at++;
  const digits = at - first;
  if (digits === 0 || digits > MAX_INTEGER_DIGITS || (digits > 1 && bytes[first] === DIGIT_0)) return -1;
  const next = bytes[at];
  return next === 0x2e || next === 0x65 || next === 0x45 ? -1 : at;
}

const MAX_DEPTH = 16;

/** The end of an object or array at `at` whose values are all in the subset, or -1. */
function skipNested(bytes: Buffer, at: number, depth: number): number {
  if (depth >= MAX_DEPTH) return -1;
  const object = bytes[at] === OPEN;
  const close = object ? CLOSE : CLOSE_ARRAY;
  let i = skipSpace(bytes, at + 1);
  if (bytes[i] === close) return i + 1;
  for (;;) {
    if (object) {
      if (bytes[i] !== QUOTE) return -1;
      const keyEnd = stringEnd(bytes, i + 1);
      if (keyEnd < 0) return -1;
      i = skipSpace(bytes, keyEnd + 1);
      if (bytes[i] !== COLON) return -1;
      i = skipSpace(bytes, i + 1);
    }
    const c = bytes[i];
    if (c === QUOTE) {
      const end = stringEnd(bytes, i + 1);
      i = end < 0 ? -1 : end + 1;
    } else if (c === OPEN || c === OPEN_ARRAY) i = skipNested(bytes, i, depth + 1);
    else if (c === MINUS || (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9)) i = integerEnd(bytes, i);
    else i = literalEnd(bytes, i);
    if (i < 0) return -1;
    i = skipSpace(bytes, i);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    return bytes[i] === close ? i + 1 : -1;
  }
}

/** One message that is a single object of the subset (with space around it). */
export function scanImpression(bytes: Buffer, into: CanonicalImpressionFields): boolean {
  const end = scanObject(bytes, skipSpace(bytes, 0), into);
  return end >= 0 && skipSpace(bytes, end) === bytes.length;
}

/**
 * One message that is an array of objects of the subset: `each` gets the fields of every element
 * in order and may stop the scan by answering false. False when the message is anything else.
 */
export function scanImpressionArray(bytes: Buffer, into: CanonicalImpressionFields, each: (index: number) => boolean): boolean {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_ARRAY) return false;
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === CLOSE_ARRAY) return skipSpace(bytes, i + 1) === bytes.length;
  for (let index = 0; ; index++) {
    const end = scanObject(bytes, i, into);
    if (end < 0 || !each(index)) return false;
    i = skipSpace(bytes, end);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    return bytes[i] === CLOSE_ARRAY && skipSpace(bytes, i + 1) === bytes.length;
  }
}

/** The end of the object at `at` read into `into`, or -1 when it is not in the subset. */
function scanObject(bytes: Buffer, at: number, into: CanonicalImpressionFields): number {
  into.impression_id = undefined;
  into.request_id = undefined;
  into.campaign_id = undefined;
  into.creative_id = undefined;
  into.user_id = undefined;
  into.ts = undefined;
  into.price_micros = undefined;
  if (bytes[at] !== OPEN) return -1;
  let i = skipSpace(bytes, at + 1);
  if (bytes[i] === CLOSE) return i + 1;
  for (;;) {
    if (bytes[i] !== QUOTE) return -1;
    const keyEnd = stringEnd(bytes, i + 1);
    if (keyEnd < 0) return -1;
    const field = nameIndex(bytes, i + 1, keyEnd);
    i = skipSpace(bytes, keyEnd + 1);
    if (bytes[i] !== COLON) return -1;
    i = skipSpace(bytes, i + 1);
    const c = bytes[i];
    if (c === undefined) return -1;
    let value: unknown;
    if (c === QUOTE) {
      const end = stringEnd(bytes, i + 1);
      if (end < 0) return -1;
      if (field === CAMPAIGN || field === CREATIVE) value = recent[field - CAMPAIGN]!.utf8(bytes, i + 1, end);
      // Printable ASCII only (stringEnd): Latin-1 is the same text as UTF-8 here, and cheaper.
      else if (field >= 0) value = latin1(bytes, i + 1, end);
      i = end + 1;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      const negative = c === MINUS;
      if (negative) i++;
      const first = i;
      let n = 0;
      for (let d = bytes[i]; d !== undefined && d >= DIGIT_0 && d <= DIGIT_9; d = bytes[++i]) n = n * 10 + (d - DIGIT_0);
      const digits = i - first;
      // No digits, a leading zero (not JSON), too long to be exact here, or a fraction/exponent.
      if (digits === 0 || digits > MAX_INTEGER_DIGITS || (digits > 1 && bytes[first] === DIGIT_0)) return -1;
      const next = bytes[i];
      if (next === 0x2e || next === 0x65 || next === 0x45) return -1;
      value = negative ? -n : n;
    } else if (c === OPEN || c === OPEN_ARRAY) {
      // A nested value can only be an unknown field's (the canonical ones are scalars): checked, skipped.
      if (field >= 0) return -1;
      i = skipNested(bytes, i, 0);
      if (i < 0) return -1;
    } else {
      const end = literalEnd(bytes, i);
      if (end < 0) return -1;
      value = LITERALS[bytes[i] === 0x74 ? 0 : bytes[i] === 0x66 ? 1 : 2]![1];
      i = end;
    }
    if (field >= 0) store(into, field, value);
    i = skipSpace(bytes, i);
    if (bytes[i] === COMMA) {
      i = skipSpace(bytes, i + 1);
      continue;
    }
    return bytes[i] === CLOSE ? i + 1 : -1;
  }
}
