import { DAY_MS, HOUR_MS } from '../contract.js';
import type { Breakdown, Counters, Granularity, PerformanceQuery, PerformanceResponse, PerformanceRow } from '../types.js';

/** Hourly counters of one campaign: without breakdown, and per country / device_type value. */
export interface CampaignHours {
  total: Map<number, Counters>;
  country: Map<string, Map<number, Counters>>;
  device_type: Map<string, Map<number, Counters>>;
}

export function zeroCounters(): Counters {
  return { impressions: 0, clicks: 0, conversions: 0, spend_micros: 0, revenue_micros: 0 };
}

function addInto(target: Counters, source: Counters): void {
  target.impressions += source.impressions;
  target.clicks += source.clicks;
  target.conversions += source.conversions;
  target.spend_micros += source.spend_micros;
  target.revenue_micros += source.revenue_micros;
}

const isEmpty = (c: Counters): boolean =>
  c.impressions === 0 && c.clicks === 0 && c.conversions === 0 && c.spend_micros === 0 && c.revenue_micros === 0;

/** Ratios are rounded to 4 decimals (as in the contract's example, roas 4.1667), micros to integers. */
const ratio = (num: number, den: number): number | null => (den === 0 ? null : Math.round((num / den) * 10_000) / 10_000);
const micros = (num: number, den: number): number | null => (den === 0 ? null : Math.round(num / den));

/** `2026-11-27T20:00:00Z`: the contract's bucket start format (no milliseconds). */
export function formatBucketStart(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function row(start: number, dimension: string | null, c: Counters): PerformanceRow {
  return {
    start: formatBucketStart(start),
    dimension,
    ...c,
    ctr: ratio(c.clicks, c.impressions),
    cvr: ratio(c.conversions, c.clicks),
    cpc_micros: micros(c.spend_micros, c.clicks),
    cpa_micros: micros(c.spend_micros, c.conversions),
    roas: ratio(c.revenue_micros, c.spend_micros),
  };
}

/**
 * Answers a performance query from hourly counters: buckets whose start is in [from, to), summed to
 * days when asked, empty buckets omitted, rows ordered by start then dimension (code-unit order).
 * `from` and `to` must be whole hours (the finest granularity there is).
 */
export function answerQuery(hours: CampaignHours | undefined, query: PerformanceQuery): PerformanceResponse {
  const from = Date.parse(query.from);
  const to = Date.parse(query.to);
  if (!Number.isFinite(from) || !Number.isFinite(to) || from % HOUR_MS !== 0 || to % HOUR_MS !== 0) {
    throw new Error(`query window ${query.from} .. ${query.to} must be two whole-hour ISO times`);
  }
  const bucketOf = (hour: number): number => (query.granularity === 'day' ? Math.floor(hour / DAY_MS) * DAY_MS : hour);
  const series: [string | null, Map<number, Counters>][] = !hours
    ? []
    : query.by
      ? [...hours[query.by].entries()]
      : [[null, hours.total]];
  const rows: PerformanceRow[] = [];
  const totals = zeroCounters();
  for (const [dimension, perHour] of series) {
    const buckets = new Map<number, Counters>();
    for (const [hour, counters] of perHour) {
      if (hour < from || hour >= to) continue;
      const start = bucketOf(hour);
      let bucket = buckets.get(start);
      if (!bucket) buckets.set(start, (bucket = zeroCounters()));
      addInto(bucket, counters);
      if (dimension === null || query.by) addInto(totals, counters);
    }
    for (const [start, counters] of buckets) if (!isEmpty(counters)) rows.push(row(start, dimension, counters));
  }
  rows.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : (a.dimension ?? '') < (b.dimension ?? '') ? -1 : (a.dimension ?? '') > (b.dimension ?? '') ? 1 : 0));
  return { campaign_id: query.campaign_id, granularity: query.granularity, from: query.from, to: query.to, rows, totals };
}

export const BREAKDOWNS: readonly (Breakdown | undefined)[] = [undefined, 'country', 'device_type'];
export const GRANULARITIES: readonly Granularity[] = ['hour', 'day'];
