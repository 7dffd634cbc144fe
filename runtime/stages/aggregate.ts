import { HOUR_MS } from '../storage/layout.js';
import type { EventKind } from '../storage/layout.js';

/** Query shapes of contract §3. */
export type Granularity = 'hour' | 'day';
export type Breakdown = 'country' | 'device_type';

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

export interface PerformanceQuery {
  campaignId: string;
  from: string;
  to: string;
  granularity: Granularity;
  by?: Breakdown;
}

export interface PerformanceResponse {
  campaign_id: string;
  granularity: Granularity;
  from: string;
  to: string;
  rows: PerformanceRow[];
  totals: Counters;
}

/** Counted events as the query reads them back: one event, or a rolled-up sum of `count` alike. */
export interface EventContribution {
  hourIndex: number;
  kind: EventKind;
  /** The sum of the events' amounts. */
  amount: number;
  country: string;
  deviceType: string;
  /** How many events; 1 when absent. */
  count?: number;
}

const DAY_MS = 24 * HOUR_MS;

export function zeroCounters(): Counters {
  return { impressions: 0, clicks: 0, conversions: 0, spend_micros: 0, revenue_micros: 0 };
}

function add(counters: Counters, event: EventContribution): void {
  const count = event.count ?? 1;
  if (event.kind === 'i') {
    counters.impressions += count;
    counters.spend_micros += event.amount;
  } else if (event.kind === 'c') {
    counters.clicks += count;
  } else {
    counters.conversions += count;
    counters.revenue_micros += event.amount;
  }
}

/** Ratios to 4 decimals (the contract's example: roas 4.1667), micros to whole numbers; null without a denominator. */
const ratio = (numerator: number, denominator: number): number | null => (denominator === 0 ? null : Math.round((numerator / denominator) * 10_000) / 10_000);
const micros = (numerator: number, denominator: number): number | null => (denominator === 0 ? null : Math.round(numerator / denominator));

/** `2026-11-27T20:00:00Z`: bucket starts without milliseconds. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function performanceRow(startMs: number, dimension: string | null, c: Counters): PerformanceRow {
  return {
    start: formatInstant(startMs),
    dimension,
    ...c,
    ctr: ratio(c.clicks, c.impressions),
    cvr: ratio(c.conversions, c.clicks),
    cpc_micros: micros(c.spend_micros, c.clicks),
    cpa_micros: micros(c.spend_micros, c.conversions),
    roas: ratio(c.revenue_micros, c.spend_micros),
  };
}

/** The hour buckets a query reads: those whose start lies in [from, to). */
export function hourRange(fromMs: number, toMs: number): { firstHour: number; endHour: number } {
  return { firstHour: Math.ceil(fromMs / HOUR_MS), endHour: Math.ceil(toMs / HOUR_MS) };
}

/**
 * Sums counted events into the query's buckets (UTC hour, or UTC day of the hour), per dimension
 * value when asked. Rows are ordered by start, then dimension (code-unit order); empty buckets do not
 * appear; totals are the sum of the rows. Pure: events in, a response out.
 */
export class Aggregation {
  private readonly firstHour: number;
  private readonly endHour: number;
  /** By bucket start, then dimension value: found without building a key string per event. */
  private readonly buckets = new Map<number, Map<string | null, { start: number; dimension: string | null; counters: Counters }>>();
  private readonly totals = zeroCounters();

  constructor(
    private readonly query: PerformanceQuery,
    fromMs: number,
    toMs: number,
  ) {
    ({ firstHour: this.firstHour, endHour: this.endHour } = hourRange(fromMs, toMs));
  }

  /** Adds one event; the event is not kept (a reader may hand the same object over again). */
  add(event: EventContribution): void {
    if (event.hourIndex < this.firstHour || event.hourIndex >= this.endHour) return;
    const { query } = this;
    const hourStart = event.hourIndex * HOUR_MS;
    const start = query.granularity === 'day' ? Math.floor(hourStart / DAY_MS) * DAY_MS : hourStart;
    const dimension = query.by === 'country' ? event.country : query.by === 'device_type' ? event.deviceType : null;
    let byDimension = this.buckets.get(start);
    if (!byDimension) this.buckets.set(start, (byDimension = new Map()));
    let bucket = byDimension.get(dimension);
    if (!bucket) byDimension.set(dimension, (bucket = { start, dimension, counters: zeroCounters() }));
    add(bucket.counters, event);
    add(this.totals, event);
  }

  response(): PerformanceResponse {
    const { query } = this;
    const rows = [...this.buckets.values()]
      .flatMap((byDimension) => [...byDimension.values()])
      .sort((a, b) => a.start - b.start || compareText(a.dimension ?? '', b.dimension ?? ''))
      .map((bucket) => performanceRow(bucket.start, bucket.dimension, bucket.counters));
    return { campaign_id: query.campaignId, granularity: query.granularity, from: query.from, to: query.to, rows, totals: this.totals };
  }
}

/** `Aggregation` over a list of events. */
export function aggregate(events: Iterable<EventContribution>, query: PerformanceQuery, fromMs: number, toMs: number): PerformanceResponse {
  const aggregation = new Aggregation(query, fromMs, toMs);
  for (const event of events) aggregation.add(event);
  return aggregation.response();
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
