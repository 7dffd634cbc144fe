import type { BidRequest, Source } from './contract.js';
import type { WrittenRecord } from './writer-versions.js';

/** Bytes that are not an Avro record (e.g. a truncated one), base64 so they fit in a JSON line. */
export interface RawBytes {
  $base64: string;
}

/**
 * One bid-request message: a record to encode with the contract schema, a record of one of the
 * producers' writer versions (sets generated with `writerVersions`), or raw bytes to send as is.
 */
export type AvroMessage = BidRequest | WrittenRecord | RawBytes;

export function isRawBytes(message: AvroMessage): message is RawBytes {
  return typeof (message as Partial<RawBytes>).$base64 === 'string';
}

/**
 * The Kafka message values of each source, in the order to produce them. Impressions are JSON text
 * (an object, an array of objects, or deliberately broken text); clicks and conversions are CSV text
 * that may hold several lines; bid requests are Avro records (or raw bytes).
 */
export interface GeneratedMessages {
  bidRequests: AvroMessage[];
  impressions: string[];
  clicks: string[];
  conversions: string[];
}

export type PerSource = Record<Source, number>;

export interface GenerateOptions {
  seed: number;
  /** Impressions of the random bulk (the scripted edge cases come on top). */
  impressions: number;
  /** Start of the data, epoch millis, UTC-day aligned; default derived from the seed (early 2026). */
  baseTime?: number;
  /** Hours over which the bulk impressions spread; default 48. */
  hours?: number;
  /** Bulk campaigns; default grows with the impressions (3..40). */
  campaigns?: number;
  /** Include the scripted edge cases (campaign `cmp-edge`, every invalid kind); default true. */
  edgeCases?: boolean;
  /** Bid requests written with three producer schema versions in turn (generator/writer-versions.ts); default false. */
  writerVersions?: boolean;
}

export interface ResolvedOptions {
  seed: number;
  impressions: number;
  baseTime: number;
  hours: number;
  campaigns: number;
  edgeCases: boolean;
  /** Present (true) only for sets with writer versions, so other sets keep their bytes. */
  writerVersions?: true;
}

/** What the generator meant to put in (counted while generating; the reference recomputes it from the bytes). */
export interface Intent {
  accepted: PerSource;
  invalid: PerSource;
  duplicates: PerSource;
  unattributed_clicks: number;
  unattributed_conversions: number;
}

export interface GeneratorSummary {
  options: ResolvedOptions;
  messages: PerSource;
  intent: Intent;
  /** Latest timestamp of any valid event; must be in the past of the processing time. */
  maxValidTs: number;
}

export interface Counters {
  impressions: number;
  clicks: number;
  conversions: number;
  spend_micros: number;
  revenue_micros: number;
}

export interface PerformanceRow extends Counters {
  start: string;
  dimension: string | null;
  ctr: number | null;
  cvr: number | null;
  cpc_micros: number | null;
  cpa_micros: number | null;
  roas: number | null;
}

export type Granularity = 'hour' | 'day';
export type Breakdown = 'country' | 'device_type';

export interface PerformanceQuery {
  campaign_id: string;
  granularity: Granularity;
  from: string;
  to: string;
  by?: Breakdown;
}

/** The query contract's response (section 3). */
export interface PerformanceResponse {
  campaign_id: string;
  granularity: Granularity;
  from: string;
  to: string;
  rows: PerformanceRow[];
  totals: Counters;
}

/** The `/v1/pipeline/stats` object (section 3). */
export interface PipelineStats {
  accepted: PerSource;
  invalid: PerSource;
  duplicates: PerSource;
  unattributed_clicks: number;
  unattributed_conversions: number;
}

export interface ReferenceRules {
  attributionWindowMs: number;
  conversionWindowMs: number;
  futureToleranceMs: number;
}

/** The answer key: what a pipeline must report after consuming every message of the set. */
export interface Expected {
  contract: 'adpipe events v1';
  generator: ResolvedOptions;
  rules: ReferenceRules;
  /** Day-aligned window [from, to) holding every counted event. */
  window: { from: string; to: string };
  stats: PipelineStats;
  /** Per campaign: hour and day, without breakdown and by country and device_type, over `window`. */
  queries: { query: PerformanceQuery; response: PerformanceResponse }[];
}

export interface GeneratedSet {
  summary: GeneratorSummary;
  messages: GeneratedMessages;
  expected: Expected;
}
