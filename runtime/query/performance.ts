import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import { RuntimeError } from '../errors.js';
import { aggregate, hourRange, type Breakdown, type EventContribution, type Granularity, type PerformanceQuery, type PerformanceResponse } from '../stages/aggregate.js';
import { ATTRIBUTION, COUNTED_PREFIXES, LEDGER, ROLLUP, STATS_PREFIX, countedAmount, decodeCounted, forEachBestCounted, hourKey, parseHourRow, type Families } from '../storage/layout.js';
import { UNKNOWN } from '../stages/enrich.js';
import type { RolledUpSum } from '../stages/rollup.js';
import { restoreCoverage, rollupOf, settled } from '../storage/rollups.js';
import { cellValue, type Store, type StoreRowCell } from '../storage/store.js';
import { prefixEnd } from '../storage/keys.js';

/**
 * The query side of contract §3, shared by the HTTP API and `adpipe query performance`: one scan
 * of a campaign's hour rows over the hours asked (one row per hour, one column per counted event),
 * summed by the pure aggregate stage.
 */

export interface QuerySettings {
  saltBuckets: number;
  families: Families;
}

export interface PipelineStats {
  accepted: Record<SourceName, number>;
  invalid: Record<SourceName, number>;
  duplicates: Record<SourceName, number>;
  unattributed_clicks: number;
  unattributed_conversions: number;
}

const GRANULARITIES: readonly Granularity[] = ['hour', 'day'];
const BREAKDOWNS: readonly Breakdown[] = ['country', 'device_type'];

/** Checks and normalises query parameters; a bad one is a QUERY_ARGUMENT error naming it. */
export function performanceQuery(campaignId: string, params: { from?: string | null; to?: string | null; granularity?: string | null; by?: string | null }): PerformanceQuery & { fromMs: number; toMs: number } {
  if (!campaignId) throw new RuntimeError('QUERY_ARGUMENT', 'campaign id is required');
  const instant = (name: 'from' | 'to'): [string, number] => {
    const text = params[name];
    if (!text) throw new RuntimeError('QUERY_ARGUMENT', `'${name}' is required (an ISO-8601 time such as 2026-11-27T00:00:00Z)`);
    const ms = Date.parse(text);
    if (!Number.isFinite(ms) || !/T.*(Z|[+-]\d{2}:?\d{2})$/.test(text)) throw new RuntimeError('QUERY_ARGUMENT', `'${name}' must be an ISO-8601 time with offset, not '${text}'`);
    return [text, ms];
  };
  const [from, fromMs] = instant('from');
  const [to, toMs] = instant('to');
  if (toMs < fromMs) throw new RuntimeError('QUERY_ARGUMENT', `'to' (${to}) is before 'from' (${from})`);
  const granularity = (params.granularity ?? 'hour') as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new RuntimeError('QUERY_ARGUMENT', `'granularity' must be hour or day, not '${params.granularity}'`);
  const by = params.by ? (params.by as Breakdown) : undefined;
  if (by !== undefined && !BREAKDOWNS.includes(by)) throw new RuntimeError('QUERY_ARGUMENT', `'by' must be country or device_type, not '${params.by}'`);
  return { campaignId, from, to, granularity, ...(by ? { by } : {}), fromMs, toMs };
}

export async function campaignPerformance(store: Store, settings: QuerySettings, query: PerformanceQuery & { fromMs: number; toMs: number }): Promise<PerformanceResponse> {
  const family = settings.families.aggregates;
  const rows = await campaignHourRows(store, settings.saltBuckets, query);
  const events = (await readHourRows(store, family, rows)).flatMap((hour) => contributionsOf(hour, query.by));
  return aggregate(events, query, query.fromMs, query.toMs);
}

/** The campaign's hour rows that exist in the query's range (keys only). */
async function campaignHourRows(store: Store, saltBuckets: number, query: PerformanceQuery & { fromMs: number; toMs: number }): Promise<{ row: Buffer; hourIndex: number }[]> {
  const { firstHour, endHour } = hourRange(query.fromMs, query.toMs);
  const rows: { row: Buffer; hourIndex: number }[] = [];
  if (endHour <= firstHour) return rows;
  for await (const row of store.rowKeys({ startRow: hourKey(query.campaignId, firstHour, saltBuckets), stopRow: hourKey(query.campaignId, endHour, saltBuckets) })) {
    const { campaignId, hourIndex } = parseHourRow(row);
    if (campaignId === query.campaignId) rows.push({ row, hourIndex });
  }
  return rows;
}

/** What an hour row adds up to: rolled-up sums, or counted cells to take at their best level. */
type HourTotals = { hourIndex: number; sums: readonly RolledUpSum[] } | { hourIndex: number; cells: readonly StoreRowCell[] };

/**
 * Reads hour rows in as few round trips as their state allows (decision 0048): a row rolled up
 * since its last write (`#w`) is its summary; one written since is its summary's coverage plus the
 * cells written after it (which may be events the summary counts: rewritten, or at a higher level);
 * one never rolled up, or whose summary's chunks expired, is all its counted cells.
 */
async function readHourRows(store: Store, family: string, rows: readonly { row: Buffer; hourIndex: number }[]): Promise<HourTotals[]> {
  const heads = (await store.getMany(rows.map(({ row }) => ({ row, columns: [ROLLUP.summary, ROLLUP.written].map((qualifier) => ({ family, qualifier })) })))).map((head) => {
    const rollup = rollupOf(head, family);
    return { summary: rollup.summary, settled: settled(rollup) };
  });
  const countedSince = (row: Buffer, since?: number) => ({ row, columns: [{ family }], qualifierPrefixes: COUNTED_PREFIXES, ...(since === undefined ? {} : { writtenSince: since }) });
  const unsettled = rows.flatMap((row, index) => (heads[index]!.settled ? [] : [{ ...row, summary: heads[index]!.summary }]));
  const recent = await store.getMany(unsettled.map(({ row, summary }) => countedSince(row, summary?.coveredBefore)));
  const totals = await Promise.all(
    unsettled.map(async ({ row, hourIndex, summary }, index): Promise<HourTotals> => {
      const cells = recent[index]?.cells ?? [];
      if (!summary) return { hourIndex, cells };
      if (cells.length === 0) return { hourIndex, sums: summary.sums };
      const coverage = await restoreCoverage(store, row, family, summary);
      if (!coverage) return { hourIndex, cells: (await store.getMany([countedSince(row)]))[0]?.cells ?? [] }; // chunks expired
      coverage.add(cells);
      return { hourIndex, sums: coverage.totals() };
    }),
  );
  const byRow = new Map(unsettled.map(({ hourIndex }, index) => [hourIndex, totals[index]!]));
  return rows.map(({ hourIndex }, index) => byRow.get(hourIndex) ?? { hourIndex, sums: heads[index]!.summary!.sums });
}

function contributionsOf(hour: HourTotals, by: PerformanceQuery['by']): EventContribution[] {
  const { hourIndex } = hour;
  if ('sums' in hour) return hour.sums.map((sum) => ({ hourIndex, kind: sum.kind, amount: sum.amount, country: sum.country, deviceType: sum.deviceType, count: sum.count }));
  const events: EventContribution[] = [];
  // The best level of knowledge written wins (storage/layout.ts, countedQualifier).
  forEachBestCounted(hour.cells, (kind, value) => {
    if (by === undefined) events.push({ hourIndex, kind, amount: countedAmount(value), country: UNKNOWN, deviceType: UNKNOWN });
    else events.push({ hourIndex, kind, ...decodeCounted(value) });
  });
  return events;
}

const zeroPerSource = (): Record<SourceName, number> => ({ bidRequests: 0, impressions: 0, clicks: 0, conversions: 0 });

/** Lifetime stats: one scan of the ledgers and attribution shards (counters only, not markers). */
export async function pipelineStats(store: Store, settings: QuerySettings): Promise<PipelineStats> {
  const family = settings.families.aggregates;
  const stats: PipelineStats = { accepted: zeroPerSource(), invalid: zeroPerSource(), duplicates: zeroPerSource(), unattributed_clicks: 0, unattributed_conversions: 0 };
  let attributedClicks = 0;
  let attributedConversions = 0;
  const columns = [LEDGER.accepted, LEDGER.invalid, LEDGER.duplicates, ATTRIBUTION.clicks, ATTRIBUTION.conversions].map((qualifier) => ({ family, qualifier }));
  for await (const row of store.scan({ startRow: STATS_PREFIX, stopRow: prefixEnd(STATS_PREFIX), columns })) {
    const count = (qualifier: string) => Number(cellValue(row, family, qualifier)?.toString() ?? '0');
    const tag = row.row[STATS_PREFIX.length];
    if (tag === 0x4c) {
      // 'L' source \0 partition
      const source = row.row.subarray(STATS_PREFIX.length + 1).toString('utf8').split('\u0000')[0] as SourceName;
      if (!SOURCE_NAMES.includes(source)) continue;
      stats.accepted[source] += count(LEDGER.accepted);
      stats.invalid[source] += count(LEDGER.invalid);
      stats.duplicates[source] += count(LEDGER.duplicates);
    } else if (tag === 0x54) {
      attributedClicks += count(ATTRIBUTION.clicks);
      attributedConversions += count(ATTRIBUTION.conversions);
    }
  }
  stats.unattributed_clicks = stats.accepted.clicks - attributedClicks;
  stats.unattributed_conversions = stats.accepted.conversions - attributedConversions;
  return stats;
}
