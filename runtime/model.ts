import type { SourceName } from '../api/runtime-config.js';

/**
 * Canonical records (contract v1, after field mapping and validation) and the items that carry
 * them, or their failure, through a batch. Timestamps are epoch milliseconds.
 */

export interface BidRequest {
  request_id: string;
  ts: number;
  exchange: string;
  publisher_id: string;
  site_domain: string | null;
  app_bundle: string | null;
  device_type: string;
  country: string;
  user_id: string | null;
  floor_price_micros: number;
}

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

export interface RecordOf {
  bidRequests: BidRequest;
  impressions: Impression;
  clicks: Click;
  conversions: Conversion;
}

/** Where a record came from: one Kafka message, and which record inside it (CSV line, array element). */
export interface SourceRef {
  partition: number;
  offset: string;
  index: number;
  /** The Kafka message timestamp: the record's arrival time, fixed under replay (lateness uses it). */
  arrivalMs: number;
}

/** One Kafka message as the decoders see it. */
export interface InMessage {
  partition: number;
  offset: string;
  timestamp: string;
  value: Buffer | null;
}

export interface Valid<T> {
  ok: true;
  record: T;
  ref: SourceRef;
}

export interface Invalid {
  ok: false;
  /** A short machine-readable code from the contract, e.g. `csv.column_count`, `field.missing:ts`. */
  reason: string;
  /** The original bytes: the whole message, or the one CSV line / JSON array element that failed. */
  raw: Buffer;
  /** For `processing.failed`: the code of the error the record kept causing. */
  errorCode?: string;
  ref: SourceRef;
}

export type Item<T> = Valid<T> | Invalid;

export type DecodedBatch<S extends SourceName> = Item<RecordOf[S]>[];

export function idOf(source: SourceName, record: RecordOf[SourceName]): string {
  switch (source) {
    case 'bidRequests':
      return (record as BidRequest).request_id;
    case 'impressions':
      return (record as Impression).impression_id;
    case 'clicks':
      return (record as Click).click_id;
    case 'conversions':
      return (record as Conversion).conversion_id;
  }
}

export function refOf(message: InMessage, index: number): SourceRef {
  return { partition: message.partition, offset: message.offset, index, arrivalMs: Number(message.timestamp) };
}

/**
 * `Number(message.timestamp)` with the last answer kept: messages of a batch often carry the same
 * timestamp text, and parsing 13 digits costs more than comparing them. One per batch.
 */
export function arrivalTimes(): (message: InMessage) => number {
  let lastText: string | undefined;
  let lastMs = 0;
  return (message) => {
    if (message.timestamp !== lastText) {
      lastText = message.timestamp;
      lastMs = Number(lastText);
    }
    return lastMs;
  };
}

/** `refOf` with the message's arrival time already read (decoders read it once per message). */
export function refAt(message: InMessage, index: number, arrivalMs: number): SourceRef {
  return { partition: message.partition, offset: message.offset, index, arrivalMs };
}

/**
 * The processing time the "more than 1 h in the future" rule compares with: the message's Kafka
 * timestamp when it is earlier than the clock. A replay hours later must judge a record as the first
 * pass did, or a record rejected as future-dated would be accepted (and counted) on replay.
 */
export function processingTime(message: InMessage, nowMs: number): number {
  return processingTimeAt(Number(message.timestamp), nowMs);
}

/** `processingTime` from the message's arrival time (`SourceRef.arrivalMs`). */
export function processingTimeAt(arrivalMs: number, nowMs: number): number {
  return arrivalMs > 0 && arrivalMs < nowMs ? arrivalMs : nowMs;
}
