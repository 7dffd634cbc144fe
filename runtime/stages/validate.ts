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

/** Thrown inside a validator and caught once per record: keeps each check a single line. */
class Rejection {
  constructor(readonly reason: string) {}
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function requiredString(fields: Fields, name: string, max = Number.POSITIVE_INFINITY): string {
  const value = fields[name];
  if (value === undefined || value === null) throw new Rejection(REASON.missing(name));
  if (typeof value !== 'string') throw new Rejection(REASON.type(name));
  // An empty text carries no value: for CSV there is no other way to leave a field out.
  if (value.length === 0) throw new Rejection(REASON.missing(name));
  if (value.length > max) throw new Rejection(REASON.range(name));
  // A lone surrogate (JSON can escape one) is not text: it has no UTF-8 form, so as a key it would
  // collide with other ids once written to HBase or Kafka.
  if (LONE_SURROGATE.test(value)) throw new Rejection(REASON.type(name));
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
  else if (typeof value === 'string') ms = DIGITS.test(value) ? Number(value) : parseIsoWithOffset(value);
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

/** Field bags whose values are plain strings (CSV) and JSON objects share these validators. */
export function validateImpression(fields: Fields, nowMs: number, numbersAsText = false): Validated<Impression> {
  return guard(() => ({
    impression_id: requiredString(fields, 'impression_id', ID_MAX_LENGTH),
    request_id: requiredString(fields, 'request_id'),
    campaign_id: requiredString(fields, 'campaign_id', ID_MAX_LENGTH),
    creative_id: optionalString(fields, 'creative_id'),
    user_id: optionalString(fields, 'user_id'),
    ts: timestamp(fields, 'ts', nowMs),
    price_micros: nonNegativeInteger(fields, 'price_micros', numbersAsText),
  }));
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
  return guard(() => {
    if (record.request_id.length === 0) throw new Rejection(REASON.missing('request_id'));
    if (!Number.isSafeInteger(record.ts) || record.ts < 0) throw new Rejection(REASON.range('ts'));
    if (record.ts - nowMs > MAX_FUTURE_MS) throw new Rejection(REASON.future('ts'));
    return record;
  });
}
