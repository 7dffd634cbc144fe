import { parseDuration } from '../../api/duration.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';

/**
 * The data-health verdict of one pipeline (the DataHealthy condition), from what its workers'
 * metrics say. Pure: the sensor (sensor.ts) gathers the figures from Prometheus, this decides.
 * docs/monitoring.md describes each reason; decision 0083 the baseline method.
 */

export const DataHealthReason = {
  Healthy: 'Healthy',
  WorkersStuck: 'WorkersStuck',
  Stale: 'Stale',
  Lagging: 'Lagging',
  InvalidRecordsSpike: 'InvalidRecordsSpike',
  TrafficDrop: 'TrafficDrop',
  TrafficSpike: 'TrafficSpike',
  /** Unknown: no worker of the pipeline is scraped yet (starting, scaled to zero, or not scraped). */
  NoMetrics: 'NoMetrics',
  /** Unknown: Prometheus did not answer. */
  MetricsUnavailable: 'MetricsUnavailable',
} as const;
export type DataHealthReason = (typeof DataHealthReason)[keyof typeof DataHealthReason];

/** The order a verdict names its reason in when several hold: the cause before its symptoms. */
export const PROBLEM_ORDER: DataHealthReason[] = ['Stale', 'WorkersStuck', 'Lagging', 'InvalidRecordsSpike', 'TrafficDrop', 'TrafficSpike'];

export type Sensitivity = 'Off' | 'Low' | 'Medium' | 'High';

/** Traffic below `drop` × baseline is a drop, above `spike` × baseline a spike. */
export const SENSITIVITY: Record<Exclude<Sensitivity, 'Off'>, { drop: number; spike: number }> = {
  Low: { drop: 0.05, spike: 20 },
  Medium: { drop: 0.25, spike: 5 },
  High: { drop: 0.5, spike: 3 },
};

export interface Thresholds {
  maxLag: number;
  maxStalenessSeconds: number;
  maxInvalidRatio: number;
  sensitivity: Sensitivity;
  windowSeconds: number;
  baselineSeconds: number;
}

/** spec.monitoring with the schema's defaults (the API server fills them in; objects written before the field existed lack them). */
export function thresholdsOf(pipeline: AdPipeline): Thresholds {
  const m = pipeline.spec.monitoring ?? {};
  return {
    maxLag: m.maxLag ?? 100_000,
    maxStalenessSeconds: parseDuration(m.maxStaleness ?? '1m') / 1000,
    maxInvalidRatio: (m.maxInvalidPercent ?? 5) / 100,
    sensitivity: m.anomalySensitivity ?? 'Medium',
    windowSeconds: parseDuration(m.window ?? '2m') / 1000,
    baselineSeconds: parseDuration(m.baselineWindow ?? '1h') / 1000,
  };
}

export interface SourceFigures {
  /** Records read per second over the window. */
  inRate: number;
  invalidRate: number;
  /** Median rate over the baseline window before the current one, when that much history exists. */
  rollingBaseline: number | undefined;
  /** 90th percentile of the same (a spike must beat the busy moments, not the typical one). */
  rollingHigh: number | undefined;
  /** Rates over the same window on previous days (1 to 7 days back), those Prometheus holds. */
  sameTimeOnPreviousDays: number[];
}

export interface HealthFigures {
  nowSeconds: number;
  /** Worker processes of the pipeline that Prometheus scrapes. */
  workersScraped: number;
  /** Newest start time of those workers (seconds), a stand-in for a last store that never happened. */
  newestWorkerStartSeconds: number | undefined;
  lastStoredSeconds: number | undefined;
  /** When valid records were last read (seconds). */
  lastReadSeconds: number | undefined;
  /** Records behind on every partition, source and internal. */
  lag: number;
  /** Records behind on the source topics only (the internal topic's transaction markers leave a lag of 1 at rest). */
  sourceLag: number;
  sources: Record<string, SourceFigures>;
}

export interface Verdict {
  status: 'True' | 'False' | 'Unknown';
  reason: DataHealthReason;
  message: string;
  /** Every reason that holds, in PROBLEM_ORDER (the first is `reason`). */
  problems: DataHealthReason[];
}

/** Fewer dead letters than this over the window never make a spike (one bad record of three is noise). */
const MIN_INVALID_RECORDS = 10;
/** A baseline below this many records per window is too thin to judge traffic by. */
const MIN_BASELINE_RECORDS = 20;

/**
 * The baseline of one source: from the same window on previous days when at least three days are
 * known (daily seasonality), else from the recent baseline window. `typical` (the median) is what
 * a drop is judged against, `high` (the busiest previous day, or the 90th percentile of the recent
 * window) what a spike is: traffic coming back after a lull is no spike.
 */
export function baselineOf(figures: SourceFigures): { typical: number; high: number } | undefined {
  const days = figures.sameTimeOnPreviousDays;
  if (days.length >= 3) return { typical: median(days), high: Math.max(...days) };
  if (figures.rollingBaseline === undefined) return undefined;
  return { typical: figures.rollingBaseline, high: Math.max(figures.rollingBaseline, figures.rollingHigh ?? figures.rollingBaseline) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function judge(figures: HealthFigures, thresholds: Thresholds): Verdict {
  if (figures.workersScraped === 0) {
    return { status: 'Unknown', reason: DataHealthReason.NoMetrics, message: 'no worker of this pipeline is scraped by Prometheus yet', problems: [] };
  }
  const found = new Map<DataHealthReason, string>();
  const sources = Object.entries(figures.sources);
  const totalIn = sources.reduce((sum, [, s]) => sum + s.inRate, 0);
  const lastProgress = Math.max(figures.lastStoredSeconds ?? -Infinity, figures.newestWorkerStartSeconds ?? -Infinity);
  const window = thresholds.windowSeconds;
  const max = thresholds.maxStalenessSeconds;
  // Read but not stored: the newest read is far ahead of the newest store (a stop of traffic is not).
  const unstoredFor = figures.lastReadSeconds !== undefined && Number.isFinite(lastProgress) ? figures.lastReadSeconds - lastProgress : 0;
  const idleFor = figures.nowSeconds - Math.max(lastProgress, figures.lastReadSeconds ?? -Infinity);
  if (unstoredFor > max) {
    found.set('Stale', `records are read (${totalIn.toFixed(1)}/s) but none reached HBase for ${Math.round(figures.nowSeconds - lastProgress)} s (maxStaleness ${max} s)`);
  } else if (figures.sourceLag > 0 && idleFor > max) {
    found.set('WorkersStuck', `${figures.sourceLag} records wait in Kafka but the workers read and stored nothing for ${Math.round(idleFor)} s (maxStaleness ${max} s)`);
  }
  if (figures.lag > thresholds.maxLag) found.set('Lagging', `the workers are ${figures.lag} records behind the brokers (maxLag ${thresholds.maxLag})`);

  const invalid = sources.filter(([, s]) => s.inRate > 0 && s.invalidRate * window >= MIN_INVALID_RECORDS && s.invalidRate / s.inRate > thresholds.maxInvalidRatio);
  if (invalid.length) {
    found.set('InvalidRecordsSpike', invalid.map(([name, s]) => `${percent(s.invalidRate / s.inRate)} of ${name} records are invalid`).join(', ') + ` (max ${percent(thresholds.maxInvalidRatio)}; see the dead-letter topic)`);
  }

  if (thresholds.sensitivity !== 'Off') {
    const { drop, spike } = SENSITIVITY[thresholds.sensitivity];
    const drops: string[] = [];
    const spikes: string[] = [];
    for (const [name, s] of sources) {
      const baseline = baselineOf(s);
      if (baseline === undefined || baseline.typical * window < MIN_BASELINE_RECORDS) continue;
      if (s.inRate < baseline.typical * drop) drops.push(`${name} at ${s.inRate.toFixed(1)}/s against a baseline of ${baseline.typical.toFixed(1)}/s`);
      else if (s.inRate > baseline.high * spike) spikes.push(`${name} at ${s.inRate.toFixed(1)}/s against a baseline of ${baseline.typical.toFixed(1)}/s (busiest ${baseline.high.toFixed(1)}/s)`);
    }
    if (drops.length) found.set('TrafficDrop', drops.join(', '));
    if (spikes.length) found.set('TrafficSpike', spikes.join(', '));
  }

  const problems = PROBLEM_ORDER.filter((reason) => found.has(reason));
  if (!problems.length) return { status: 'True', reason: DataHealthReason.Healthy, message: 'records flow and reach HBase within the thresholds of spec.monitoring', problems };
  return { status: 'False', reason: problems[0]!, message: problems.map((reason) => `${reason}: ${found.get(reason)}`).join('; '), problems };
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
