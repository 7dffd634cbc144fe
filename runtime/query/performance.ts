import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import { RuntimeError } from '../errors.js';
import { aggregate, hourRange, type Breakdown, type EventContribution, type Granularity, type PerformanceQuery, type PerformanceResponse } from '../stages/aggregate.js';
import { ATTRIBUTION, COUNTED_PREFIXES, LEDGER, ROLLUP, STATS_PREFIX, countedAmount, decodeCounted, forEachBestCounted, hourKey, parseHourRow, type Families } from '../storage/layout.js';
import { UNKNOWN } from '../stages/enrich.js';
import { restoreCoverage, rollupOf } from '../storage/rollups.js';
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
  const { firstHour, endHour } = hourRange(query.fromMs, query.toMs);
  const family = settings.families.aggregates;
  const events: EventContribution[] = [];
  if (endHour > firstHour) {
    const startRow = hourKey(query.campaignId, firstHour, settings.saltBuckets);
    const stopRow = hourKey(query.campaignId, endHour, settings.saltBuckets);
    const rows: { row: Buffer; hourIndex: number }[] = [];
    for await (const row of store.rowKeys({ startRow, stopRow })) {
      const { campaignId, hourIndex } = parseHourRow(row);
      if (campaignId === query.campaignId) rows.push({ row, hourIndex });
    }
    // A rolled-up row is its summary plus the counted cells written since (decision 0048); when
    // its last write (`#w`) is older than the summary's coverage, the summary is all there is.
    const heads = (await store.getMany(rows.map(({ row }) => ({ row, columns: [{ family, qualifier: ROLLUP.summary }, { family, qualifier: ROLLUP.written }] })))).map((head) => {
      const summary = rollupOf(head, family).summary;
      const lastWrite = head?.cells.find((cell) => cell.qualifier.toString('utf8') === ROLLUP.written)?.timestamp;
      return { summary, settled: summary !== undefined && lastWrite !== undefined && lastWrite < summary.coveredBefore };
    });
    const unsettled = rows.flatMap(({ row }, index) => (heads[index]!.settled ? [] : [{ index, row, summary: heads[index]!.summary }]));
    const counted = new Map<number, StoreRowCell[]>();
    const reads = await store.getMany(unsettled.map(({ row, summary }) => ({ row, columns: [{ family }], qualifierPrefixes: COUNTED_PREFIXES, ...(summary ? { writtenSince: summary.coveredBefore } : {}) })));
    for (const [i, { index }] of unsettled.entries()) counted.set(index, [...(reads[i]?.cells ?? [])]);
    // Cells written since a summary may be events it already counts (rewritten, or at a higher
    // level): those rows need the summary's coverage, read for all of them at once.
    const coverages = new Map(
      await Promise.all(
        rows.flatMap(({ row }, index) => {
          const summary = heads[index]!.summary;
          return summary && (counted.get(index)?.length ?? 0) > 0 ? [restoreCoverage(store, row, family, summary).then((coverage) => [index, coverage] as const)] : [];
        }),
      ),
    );
    for (const [index, { row, hourIndex }] of rows.entries()) {
      const summary = heads[index]!.summary;
      const cells = counted.get(index) ?? [];
      let sums = summary?.sums;
      if (summary && cells.length > 0) {
        const coverage = coverages.get(index);
        if (coverage) {
          coverage.add(cells);
          sums = coverage.totals();
        } else sums = undefined; // its chunks expired: count the cells still there, as without a summary
      }
      if (sums) {
        for (const sum of sums) events.push({ hourIndex, kind: sum.kind, amount: sum.amount, country: sum.country, deviceType: sum.deviceType, count: sum.count });
        continue;
      }
      const all = summary ? ((await store.getMany([{ row, columns: [{ family }], qualifierPrefixes: COUNTED_PREFIXES }]))[0]?.cells ?? []) : cells;
      // The best level of knowledge written wins (storage/layout.ts, countedQualifier).
      forEachBestCounted(all, (kind, value) => {
        if (query.by === undefined) events.push({ hourIndex, kind, amount: countedAmount(value), country: UNKNOWN, deviceType: UNKNOWN });
        else events.push({ hourIndex, kind, ...decodeCounted(value) });
      });
    }
  }
  return aggregate(events, query, query.fromMs, query.toMs);
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
