import type { SourceName } from '../../api/runtime-config.js';
import { RuntimeError } from '../errors.js';
import { Aggregation, hourRange, type Breakdown, type EventContribution, type Granularity, type PerformanceQuery, type PerformanceResponse } from '../stages/aggregate.js';
import type { Families } from '../storage/layout.js';
import type { Store } from '../storage/store.js';
import { pipelineStatsOf } from '../tasks/state.js';
import { readTaskStats, scanCampaignContributions } from '../tasks/view.js';

/**
 * The query side of contract §3, shared by the HTTP API and `adpipe query performance`: one scan
 * of a campaign's hour rows over the hours asked (one row per hour, one column of partial sums per
 * task, decisions 0051 and 0148), summed by the pure aggregate stage.
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
/** The longest range one query may ask (a query reads every hour row in it): one leap year. */
export const MAX_QUERY_DAYS = 366;
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
  if (toMs - fromMs > MAX_QUERY_DAYS * 86_400_000) throw new RuntimeError('QUERY_RANGE', `the range from ${from} to ${to} is longer than ${MAX_QUERY_DAYS} days: ask for it in parts`);
  const granularity = (params.granularity ?? 'hour') as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new RuntimeError('QUERY_ARGUMENT', `'granularity' must be hour or day, not '${params.granularity}'`);
  const by = params.by ? (params.by as Breakdown) : undefined;
  if (by !== undefined && !BREAKDOWNS.includes(by)) throw new RuntimeError('QUERY_ARGUMENT', `'by' must be country or device_type, not '${params.by}'`);
  return { campaignId, from, to, granularity, ...(by ? { by } : {}), fromMs, toMs };
}

export async function campaignPerformance(store: Store, settings: QuerySettings, query: PerformanceQuery & { fromMs: number; toMs: number }): Promise<PerformanceResponse> {
  const { firstHour, endHour } = hourRange(query.fromMs, query.toMs);
  // Summed as the scan reads them: no decoded sums or list of contributions per query.
  const aggregation = new Aggregation(query, query.fromMs, query.toMs);
  const add = (contribution: EventContribution): void => aggregation.add(contribution);
  await scanCampaignContributions(store, { saltBuckets: settings.saltBuckets, family: settings.families.aggregates }, query.campaignId, firstHour, endHour, add);
  return aggregation.response();
}

/** Lifetime stats: the sum of every task's counters, one short scan (each task's row is one snapshot of it). */
export async function pipelineStats(store: Store, settings: QuerySettings): Promise<PipelineStats> {
  return pipelineStatsOf(await readTaskStats(store, settings.families.aggregates));
}
