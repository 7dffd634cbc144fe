import type { BidRequest, Click, Conversion, Impression } from '../model.js';

/**
 * Validation after decoding and field mapping: a canonical-named field bag in, a typed record or a
 * reason code out. Pure; `nowMs` is the processing time the future-timestamp rule compares with.
 * Hand-written checks (no schema library): see docs/decisions/0042-decode-and-validate-libraries.md.
 */

export type Fields = Record<string, unknown>;

/** The contract's reason codes in one place (the dead-letter header `adpipe-reason`). */
export const REASON = {
  jsonParse: 'json.parse',
  jsonShape: 'json.type',
  csvColumnCount: 'csv.column_count',
  csvQuote: 'csv.quote',
  csvEncoding: 'csv.encoding',
  avroDecode: 'avro.decode',
  avroSchema: 'avro.schema',
  /** A Confluent-framed record whose schema id the registry does not know. */
  unknownSchemaId: (id: number) => `avro.schema:unknown_id_${id}`,
  /** A schema id whose writer schema cannot be resolved to the contract's reader schema. */
  unreadableSchemaId: (id: number) => `avro.schema:unreadable_id_${id}`,
  emptyMessage: 'message.empty',
  missing: (field: string) => `field.missing:${field}`,
  type: (field: string) => `field.type:${field}`,
  range: (field: string) => `field.range:${field}`,
  format: (field: string) => `field.format:${field}`,
  future: (field: string) => `field.future:${field}`,
} as const;

/** A timestamp more than this far ahead of processing time is invalid (contract §2.1). */
export const MAX_FUTURE_MS = 3_600_000;

export const ID_MAX_LENGTH = 128;

// ISO-8601 date-time with an explicit offset (Z or ±hh:mm); a local time would be a guess.
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const DIGITS = /^\d{1,16}$/;

/** Epoch millis of a real calendar instant, NaN otherwise (Date.parse would roll 31 Feb into March). */
export function parseIsoWithOffset(text: string): number {
  const fast = parseIsoFast(text);
  return fast === undefined ? parseIsoByPattern(text) : fast;
}

/** The definition: `ISO_WITH_OFFSET` and the calendar round trip. `parseIsoFast` must agree with it. */
export function parseIsoByPattern(text: string): number {
  const m = ISO_WITH_OFFSET.exec(text);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const [month, day, hour, minute, second] = [Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const millis = fraction ? Math.floor(Number(`0.${fraction}`) * 1000 + 1e-9) : 0;
  const local = Date.UTC(Number(y), month - 1, day, hour, minute, second, millis);
  if (new Date(local).getUTCDate() !== day) return Number.NaN;
  if (zone === 'Z') return local;
  const offsetHours = Number(zone!.slice(1, 3));
  const offsetMinutes = Number(zone!.slice(4, 6));
  if (offsetHours > 23 || offsetMinutes > 59) return Number.NaN;
  return local - (zone!.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
}

const CHAR_0 = 48;

/** The digits text[at..at+count) as a number, or -1 when one of them is not an ASCII digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - CHAR_0;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `parseIsoByPattern` without a regular expression, match array or Date object, for the shapes
 * producers send (years from 100 on); `undefined` hands any other text to `parseIsoByPattern`.
 */
function parseIsoFast(text: string): number | undefined {
  const length = text.length;
  if (length < 20 || length > 35) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  // Fraction: 1-9 digits; milliseconds are its first three (floor of 0.fraction × 1000).
  let at = 19;
  let millis = 0;
  if (text.charCodeAt(at) === 46) {
    let digits = 0;
    for (at++; at < length; at++, digits++) {
      const d = text.charCodeAt(at) - CHAR_0;
      if (d < 0 || d > 9) break;
      if (digits < 3) millis = millis * 10 + d;
    }
    if (digits === 0 || digits > 9) return undefined;
    for (let pad = digits; pad < 3; pad++) millis *= 10;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90 && at + 1 === length) offsetMinutes = 0; // Z
  else if ((zone === 43 || zone === 45) && at + 6 === length && text.charCodeAt(at + 3) === 58) {
    const offsetHours = digitsAt(text, at + 1, 2);
    const minutes = digitsAt(text, at + 4, 2);
    if (offsetHours < 0 || minutes < 0) return undefined;
    if (offsetHours > 23 || minutes > 59) return Number.NaN;
    offsetMinutes = (zone === 45 ? -1 : 1) * (offsetHours * 60 + minutes);
  } else return undefined;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day < 1 || day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return Number.NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

/** Thrown inside a validator and caught once per record: keeps each check a single line. */
class Rejection {
  constructor(readonly reason: string) {}
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether strings parsed from this JSON text can hold a lone surrogate: only a `\u` escape can
 * produce one, since text decoded from UTF-8 never does. Lets a decoder skip the per-id check.
 */
export function mayHoldLoneSurrogate(jsonText: string): boolean {
  return jsonText.indexOf('\\u') !== -1;
}

function requiredString(fields: Fields, name: string, max = Number.POSITIVE_INFINITY, surrogates = true): string {
  const value = fields[name];
  if (value === undefined || value === null) throw new Rejection(REASON.missing(name));
  if (typeof value !== 'string') throw new Rejection(REASON.type(name));
  // An empty text carries no value: for CSV there is no other way to leave a field out.
  if (value.length === 0) throw new Rejection(REASON.missing(name));
  if (value.length > max) throw new Rejection(REASON.range(name));
  // A lone surrogate (JSON can escape one) is not text: it has no UTF-8 form, so as a key it would
  // collide with other ids once written to HBase or Kafka.
  if (surrogates && LONE_SURROGATE.test(value)) throw new Rejection(REASON.type(name));
  return value;
}

function optionalString(fields: Fields, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new Rejection(REASON.type(name));
  return value;
}

function nonNegativeInteger(fields: Fields, name: string, numbersAsText: boolean): number {
  const value = fields[name];
  if (value === undefined || value === null) throw new Rejection(REASON.missing(name));
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Rejection(REASON.range(name));
    return value;
  }
  // Only CSV hands numbers over as text (any text that is not digits is out of range there); a JSON
  // string where a number belongs is the wrong type.
  if (typeof value === 'string' && numbersAsText) {
    if (value === '') throw new Rejection(REASON.missing(name));
    const parsed = DIGITS.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(parsed)) throw new Rejection(REASON.range(name));
    return parsed;
  }
  throw new Rejection(REASON.type(name));
}

/** `ts` as epoch millis (number or digits) or ISO-8601 with offset; at most 1 h in the future. */
function timestamp(fields: Fields, name: string, nowMs: number): number {
  const value = fields[name];
  if (value === undefined || value === null || value === '') throw new Rejection(REASON.missing(name));
  let ms: number;
  // Anything that is not a timestamp of the two allowed forms is the wrong type for `ts`.
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') ms = value.length <= 16 && DIGITS.test(value) ? Number(value) : parseIsoWithOffset(value);
  else ms = Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) throw new Rejection(REASON.type(name));
  if (ms - nowMs > MAX_FUTURE_MS) throw new Rejection(REASON.future(name));
  return ms;
}

function guard<T>(check: () => T): T | Rejection {
  try {
    return check();
  } catch (error) {
    if (error instanceof Rejection) return error;
    throw error;
  }
}

export type Validated<T> = T | Rejection;
export { Rejection };

/**
 * Field bags whose values are plain strings (CSV) and JSON objects share these validators.
 * `surrogates: false` skips the lone-surrogate check of ids when the caller knows there can be
 * none (see `mayHoldLoneSurrogate`). One pass with no closure: the decoders' hot path.
 */
export function validateImpression(fields: Fields, nowMs: number, numbersAsText = false, surrogates = true): Validated<Impression> {
  try {
    return {
      impression_id: requiredString(fields, 'impression_id', ID_MAX_LENGTH, surrogates),
      request_id: requiredString(fields, 'request_id', Number.POSITIVE_INFINITY, surrogates),
      campaign_id: requiredString(fields, 'campaign_id', ID_MAX_LENGTH, surrogates),
      creative_id: optionalString(fields, 'creative_id'),
      user_id: optionalString(fields, 'user_id'),
      ts: timestamp(fields, 'ts', nowMs),
      price_micros: nonNegativeInteger(fields, 'price_micros', numbersAsText),
    };
  } catch (error) {
    if (error instanceof Rejection) return error;
    throw error;
  }
}

export function validateClick(fields: Fields, nowMs: number): Validated<Click> {
  return guard(() => ({
    click_id: requiredString(fields, 'click_id', ID_MAX_LENGTH),
    impression_id: requiredString(fields, 'impression_id', ID_MAX_LENGTH),
    ts: timestamp(fields, 'ts', nowMs),
    user_id: optionalString(fields, 'user_id'),
  }));
}

export function validateConversion(fields: Fields, nowMs: number): Validated<Conversion> {
  return guard(() => ({
    conversion_id: requiredString(fields, 'conversion_id', ID_MAX_LENGTH),
    click_id: requiredString(fields, 'click_id', ID_MAX_LENGTH),
    ts: timestamp(fields, 'ts', nowMs),
    // Free text, and the contract sets no rule on it: an empty type is still a conversion.
    type: typeof fields.type === 'string' ? fields.type : fields.type === undefined ? '' : String(fields.type),
    value_micros: nonNegativeInteger(fields, 'value_micros', true),
  }));
}

/** Avro already guarantees the types; what is left are the contract's value rules. */
export function validateBidRequest(record: BidRequest, nowMs: number): Validated<BidRequest> {
  const reason = bidRequestRejection(record, nowMs);
  return reason === undefined ? record : new Rejection(reason);
}

/** `validateBidRequest` without an object on either side: the reason code, or undefined when valid. */
export function bidRequestRejection(record: BidRequest, nowMs: number): string | undefined {
  if (record.request_id.length === 0) return REASON.missing('request_id');
  if (!Number.isSafeInteger(record.ts) || record.ts < 0) return REASON.range('ts');
  if (record.ts - nowMs > MAX_FUTURE_MS) return REASON.future('ts');
  return undefined;
}
