import avro from 'avsc';
import { BID_REQUEST_SCHEMA, CLICK_COLUMNS, CONVERSION_COLUMNS, type BidRequest } from '../contract.js';
import { isRawBytes, type AvroMessage } from '../types.js';
import { isWrittenRecord, writerType } from '../writer-versions.js';
import { splitCsvMessage } from './csv.js';
import { parseTimestamp } from './timestamps.js';

/**
 * Decode and validate (contract section 2.1), one outcome per record. Reason codes follow the
 * contract's examples; the reference counts invalid records, it does not promise the runtime's codes.
 * The future check (ts more than 1h after processing time) is applied by the caller, which knows
 * the processing time.
 */
export type Outcome<T> = { ok: true; record: T } | { ok: false; reason: string };

export interface Impression {
  impression_id: string;
  request_id: string;
  campaign_id: string;
  creative_id: string | null;
  user_id: string | null;
  ts: number;
  price_micros: number;
}

export interface Click {
  click_id: string;
  impression_id: string;
  ts: number;
  user_id: string | null;
}

export interface Conversion {
  conversion_id: string;
  click_id: string;
  ts: number;
  type: string;
  value_micros: number;
}

const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function boundedString(obj: Record<string, unknown>, name: string, maxLength: number | undefined): string | { reason: string } {
  const value = obj[name];
  if (value === undefined || value === null) return { reason: `field.missing:${name}` };
  if (typeof value !== 'string') return { reason: `field.type:${name}` };
  if (value.length === 0) return { reason: `field.missing:${name}` };
  if (maxLength !== undefined && value.length > maxLength) return { reason: `field.range:${name}` };
  return value;
}

function optionalString(obj: Record<string, unknown>, name: string): string | null | { reason: string } {
  const value = obj[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return { reason: `field.type:${name}` };
  return value;
}

function impressionFrom(value: unknown): Outcome<Impression> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('json.type');
  const obj = value as Record<string, unknown>;
  const impressionId = boundedString(obj, 'impression_id', 128);
  if (typeof impressionId !== 'string') return bad(impressionId.reason);
  const requestId = boundedString(obj, 'request_id', undefined);
  if (typeof requestId !== 'string') return bad(requestId.reason);
  const campaignId = boundedString(obj, 'campaign_id', 128);
  if (typeof campaignId !== 'string') return bad(campaignId.reason);
  const creativeId = optionalString(obj, 'creative_id');
  if (creativeId !== null && typeof creativeId !== 'string') return bad(creativeId.reason);
  const userId = optionalString(obj, 'user_id');
  if (userId !== null && typeof userId !== 'string') return bad(userId.reason);
  if (obj.ts === undefined || obj.ts === null) return bad('field.missing:ts');
  const ts = parseTimestamp(obj.ts);
  if (ts === undefined) return bad('field.type:ts');
  const price = obj.price_micros;
  if (price === undefined || price === null) return bad('field.missing:price_micros');
  if (typeof price !== 'number') return bad('field.type:price_micros');
  if (!Number.isSafeInteger(price) || price < 0) return bad('field.range:price_micros');
  return {
    ok: true,
    record: { impression_id: impressionId, request_id: requestId, campaign_id: campaignId, creative_id: creativeId, user_id: userId, ts, price_micros: price },
  };
}

/** One JSON message: an object, or an array of objects (each element one record). */
export function decodeImpressionMessage(text: string): Outcome<Impression>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [bad('json.parse')];
  }
  return Array.isArray(parsed) ? parsed.map(impressionFrom) : [impressionFrom(parsed)];
}

function requiredCsv(fields: string[], index: number, name: string): string | { reason: string } {
  const value = fields[index]!;
  return value.length === 0 ? { reason: `field.missing:${name}` } : value;
}

function clickFrom(fields: string[]): Outcome<Click> {
  if (fields.length !== CLICK_COLUMNS.length) return bad('csv.column_count');
  const clickId = requiredCsv(fields, 0, 'click_id');
  if (typeof clickId !== 'string') return bad(clickId.reason);
  const impressionId = requiredCsv(fields, 1, 'impression_id');
  if (typeof impressionId !== 'string') return bad(impressionId.reason);
  const tsText = requiredCsv(fields, 2, 'ts');
  if (typeof tsText !== 'string') return bad(tsText.reason);
  const ts = parseTimestamp(tsText);
  if (ts === undefined) return bad('field.type:ts');
  const userId = fields[3]!;
  return { ok: true, record: { click_id: clickId, impression_id: impressionId, ts, user_id: userId === '' ? null : userId } };
}

function conversionFrom(fields: string[]): Outcome<Conversion> {
  if (fields.length !== CONVERSION_COLUMNS.length) return bad('csv.column_count');
  const conversionId = requiredCsv(fields, 0, 'conversion_id');
  if (typeof conversionId !== 'string') return bad(conversionId.reason);
  const clickId = requiredCsv(fields, 1, 'click_id');
  if (typeof clickId !== 'string') return bad(clickId.reason);
  const tsText = requiredCsv(fields, 2, 'ts');
  if (typeof tsText !== 'string') return bad(tsText.reason);
  const ts = parseTimestamp(tsText);
  if (ts === undefined) return bad('field.type:ts');
  const valueText = requiredCsv(fields, 4, 'value_micros');
  if (typeof valueText !== 'string') return bad(valueText.reason);
  if (!/^\d+$/.test(valueText) || !Number.isSafeInteger(Number(valueText))) return bad('field.range:value_micros');
  return { ok: true, record: { conversion_id: conversionId, click_id: clickId, ts, type: fields[3]!, value_micros: Number(valueText) } };
}

export function decodeClickMessage(text: string): Outcome<Click>[] {
  return splitCsvMessage(text).map((r) => ('error' in r ? bad(r.error) : clickFrom(r.fields)));
}

export function decodeConversionMessage(text: string): Outcome<Conversion>[] {
  return splitCsvMessage(text).map((r) => ('error' in r ? bad(r.error) : conversionFrom(r.fields)));
}

/** Decodes bid requests with the contract schema; made per call so no state lives in module globals. */
export function bidRequestDecoder(): (message: AvroMessage | Buffer) => Outcome<BidRequest> {
  const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
  return (message) => {
    let record: BidRequest;
    if (Buffer.isBuffer(message) || isRawBytes(message)) {
      const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message.$base64, 'base64');
      try {
        record = type.fromBuffer(bytes) as BidRequest;
      } catch {
        return bad('avro.decode');
      }
    } else if (isWrittenRecord(message)) {
      // A producer's writer version: its bytes as the contract's reader resolves them.
      const writer = writerType(message.$writer);
      if (!writer.isValid(message.record)) return bad('avro.decode');
      record = type.fromBuffer(writer.toBuffer(message.record), type.createResolver(writer)) as BidRequest;
    } else {
      // A record given as JSON is what its Avro encoding would decode to, if the schema admits it.
      if (!type.isValid(message)) return bad('avro.decode');
      record = message;
    }
    return { ok: true, record: { ...record, ts: Number(record.ts) } };
  };
}
