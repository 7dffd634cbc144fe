import type { BidRequest } from '../model.js';
import { RecentStrings, utf8 } from './recent-strings.js';

/**
 * The bid-request fast path: Avro binary of the canonical schema (`bid-request-schema.ts`, field by
 * field below) read straight into a `BidRequest`, with no Tap, no generated record and no copy.
 * It accepts only well-formed bytes — varints of at most 7 bytes (exact as doubles), string lengths
 * within the buffer, union branches 0/1, enum indices of a symbol, no trailing byte — and answers
 * `undefined` otherwise, so the caller decodes those bytes with avsc as before and gets avsc's own
 * verdict. Strings are decoded as avsc decodes them (Buffer's UTF-8 decoder, the same replacement
 * of malformed sequences).
 */

/** The canonical schema's fields in order, with the Avro type this reader gives each. */
export const READER_LAYOUT = [
  ['request_id', 'string'],
  ['ts', 'long'],
  ['exchange', 'string'],
  ['publisher_id', 'string'],
  ['site_domain', 'null|string'],
  ['app_bundle', 'null|string'],
  ['device_type', 'enum'],
  ['country', 'string'],
  ['user_id', 'null|string'],
  ['floor_price_micros', 'long'],
] as const;

export const DEVICE_TYPES = ['DESKTOP', 'MOBILE', 'TABLET', 'CTV', 'OTHER'] as const;

const MAX_VARINT_BYTES = 7;

/** A read position shared by the helpers below (one reader runs at a time: JS is single-threaded). */
const EMPTY = Buffer.alloc(0);
let bytes: Buffer = EMPTY;
let pos = 0;
/** A zig-zag varint, or NaN when it is longer than 7 bytes or runs past the end. */
function long(): number {
  let n = 0;
  let scale = 1;
  for (let k = 0; k < MAX_VARINT_BYTES; k++) {
    const b = bytes[pos++];
    if (b === undefined) return Number.NaN;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
    scale *= 128;
  }
  return Number.NaN;
}

/**
 * A string, or undefined when its length is negative, not a varint we read, or past the end.
 * Fields with few distinct values pass `recent` and share their strings from record to record.
 */
function string(recent?: RecentStrings): string | undefined {
  const length = long();
  if (!(length >= 0) || pos + length > bytes.length) return undefined;
  const start = pos;
  pos += length;
  return recent ? recent.utf8(bytes, start, pos) : utf8(bytes, start, pos);
}

/** An optional string (`["null", "string"]`): null, the text, or undefined for anything else. */
function optionalString(recent?: RecentStrings): string | null | undefined {
  const branch = long();
  if (branch === 0) return null;
  if (branch === 1) return string(recent);
  return undefined;
}

const recent = { exchange: new RecentStrings(), publisher: new RecentStrings(), site: new RecentStrings(), app: new RecentStrings(), country: new RecentStrings() };

export function readBidRequest(buffer: Buffer, start: number): BidRequest | undefined {
  bytes = buffer;
  pos = start;
  const request_id = string();
  const ts = long();
  const exchange = string(recent.exchange);
  const publisher_id = string(recent.publisher);
  const site_domain = optionalString(recent.site);
  const app_bundle = optionalString(recent.app);
  const device_type = DEVICE_TYPES[long()];
  const country = string(recent.country);
  const user_id = optionalString();
  const floor_price_micros = long();
  const end = pos;
  bytes = EMPTY; // never keep a message (or the fetch buffer it is a slice of) alive
  if (
    request_id === undefined ||
    Number.isNaN(ts) ||
    exchange === undefined ||
    publisher_id === undefined ||
    site_domain === undefined ||
    app_bundle === undefined ||
    device_type === undefined ||
    country === undefined ||
    user_id === undefined ||
    Number.isNaN(floor_price_micros) ||
    end !== buffer.length
  ) {
    return undefined;
  }
  return { request_id, ts, exchange, publisher_id, site_domain, app_bundle, device_type, country, user_id, floor_price_micros };
}
