import type { Logger } from 'pino';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { keyOf } from '../controller/informer.js';
import { CONTENT, type KubeClient, type KubeObject } from '../controller/kube.js';
import type { Condition } from '../reconcile/conditions.js';
import type { EventRecorder } from '../reconcile/events.js';
import { ADPIPELINE_TYPE } from '../reconcile/pipeline.js';
import { namespaceOf } from '../render/names.js';
import { DataHealthReason, judge, thresholdsOf, type HealthFigures, type SourceFigures, type Thresholds, type Verdict } from './judge.js';
import type { PrometheusClient, Sample } from './prometheus.js';

/**
 * The data-health sensor: on a timer, while this replica leads, it reads every pipeline's worker
 * metrics from Prometheus, judges them (judge.ts) and sets the DataHealthy condition, with one
 * Warning event per change of reason. Few queries whatever the number of pipelines: each is
 * grouped by namespace and pipeline, once per distinct pair of windows.
 */

export const DATA_HEALTHY = 'DataHealthy';
const DAYS_BACK = [1, 2, 3, 4, 5, 6, 7];

export interface SensorOptions {
  prometheus: PrometheusClient;
  kube: KubeClient;
  events: EventRecorder;
  log: Logger;
  pipelines: () => (AdPipeline & KubeObject)[];
  intervalMs: number;
  now?: () => number;
}

export class DataHealthSensor {
  /** The newest verdict per pipeline key, as the condition the reconciler keeps in status. */
  private readonly conditions = new Map<string, Condition>();
  private readonly verdicts = new Map<string, Verdict>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: SensorOptions) {}

  start(): void {
    const loop = async () => {
      await this.tick();
      if (this.timer) this.timer = setTimeout(() => void loop(), this.options.intervalMs);
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The DataHealthy condition to keep in a status the reconciler writes (newer than its cache's). */
  condition(key: string): Condition | undefined {
    return this.conditions.get(key);
  }

  verdict(key: string): Verdict | undefined {
    return this.verdicts.get(key);
  }

  tick(): Promise<void> {
    this.running ??= this.evaluateAll()
      .catch((error: unknown) => this.options.log.warn({ err: String(error) }, 'data-health evaluation failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async evaluateAll(): Promise<void> {
    const pipelines = this.options.pipelines().filter((p) => !p.metadata.deletionTimestamp);
    const live = new Set(pipelines.map((p) => keyOf(p)));
    for (const key of this.conditions.keys()) {
      if (live.has(key)) continue;
      this.conditions.delete(key);
      this.verdicts.delete(key);
    }
    const groups = new Map<string, { thresholds: Thresholds; pipelines: (AdPipeline & KubeObject)[] }>();
    for (const pipeline of pipelines) {
      let thresholds: Thresholds;
      try {
        thresholds = thresholdsOf(pipeline);
      } catch {
        continue; // an unparsable duration: the reconciler reports InvalidSpec
      }
      const group = `${thresholds.windowSeconds}/${thresholds.baselineSeconds}`;
      if (!groups.has(group)) groups.set(group, { thresholds, pipelines: [] });
      groups.get(group)!.pipelines.push(pipeline);
    }
    for (const { thresholds, pipelines: members } of groups.values()) {
      let figures: Map<string, HealthFigures> | undefined;
      let failure: string | undefined;
      try {
        figures = await this.gather(thresholds.windowSeconds, thresholds.baselineSeconds);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      for (const pipeline of members) {
        const verdict: Verdict = figures
          ? judge(figures.get(keyOf(pipeline)) ?? emptyFigures(this.now()), thresholdsOf(pipeline))
          : { status: 'Unknown', reason: DataHealthReason.MetricsUnavailable, message: `Prometheus at ${this.options.prometheus.displayUrl} did not answer: ${failure}`, problems: [] };
        // A conflict means the cache is behind a newer status (the reconciler's): the next evaluation writes again.
        await this.report(pipeline, verdict).catch((error: unknown) => this.options.log[isConflict(error) ? 'debug' : 'warn']({ pipeline: keyOf(pipeline), err: String(error) }, 'could not write DataHealthy; trying again at the next evaluation'));
      }
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)() / 1000;
  }

  /** Every pipeline's figures for one pair of windows, keyed namespace/name. */
  async gather(windowSeconds: number, baselineSeconds: number): Promise<Map<string, HealthFigures>> {
    const prom = this.options.prometheus;
    const nowSeconds = this.now();
    const w = `${windowSeconds}s`;
    const step = Math.max(5, Math.round(baselineSeconds / 120));
    const perSource = (outcome: string, offset = '') => `sum by (namespace, pipeline, source) (rate(adpipe_records_total{outcome="${outcome}"}[${w}]${offset}))`;
    const [inRates, invalidRates, lag, sourceLag, stored, read, workers, started, rolling, rollingHigh, coverage, ...days] = await Promise.all([
      prom.query(perSource('in'), nowSeconds),
      prom.query(perSource('invalid'), nowSeconds),
      prom.query('sum by (namespace, pipeline) (adpipe_consumer_lag)', nowSeconds),
      prom.query('sum by (namespace, pipeline) (adpipe_consumer_lag{kind="source"})', nowSeconds),
      prom.query('max by (namespace, pipeline) (adpipe_last_stored_timestamp_seconds)', nowSeconds),
      prom.query('max by (namespace, pipeline) (adpipe_last_read_timestamp_seconds)', nowSeconds),
      prom.query('count by (namespace, pipeline) (adpipe_process_start_time_seconds)', nowSeconds),
      prom.query('max by (namespace, pipeline) (adpipe_process_start_time_seconds)', nowSeconds),
      prom.query(`quantile_over_time(0.5, (${perSource('in')})[${baselineSeconds}s:${step}s] offset ${w})`, nowSeconds),
      prom.query(`quantile_over_time(0.9, (${perSource('in')})[${baselineSeconds}s:${step}s] offset ${w})`, nowSeconds),
      prom.query(`count_over_time((${perSource('in')})[${baselineSeconds}s:${step}s] offset ${w})`, nowSeconds),
      ...DAYS_BACK.map((d) => prom.query(perSource('in', ` offset ${d}d`), nowSeconds)),
    ]);
    const figures = new Map<string, HealthFigures>();
    const of = (s: Sample) => {
      const key = `${s.labels['namespace'] ?? ''}/${s.labels['pipeline'] ?? ''}`;
      if (!figures.has(key)) figures.set(key, emptyFigures(nowSeconds));
      return figures.get(key)!;
    };
    const source = (s: Sample): SourceFigures => {
      const f = of(s);
      const name = s.labels['source'] ?? 'unknown';
      return (f.sources[name] ??= { inRate: 0, invalidRate: 0, rollingBaseline: undefined, rollingHigh: undefined, sameTimeOnPreviousDays: [] });
    };
    for (const s of workers!) of(s).workersScraped = s.value;
    for (const s of started!) of(s).newestWorkerStartSeconds = s.value;
    for (const s of stored!) of(s).lastStoredSeconds = s.value;
    for (const s of read!) of(s).lastReadSeconds = s.value;
    for (const s of lag!) of(s).lag = s.value;
    for (const s of sourceLag!) of(s).sourceLag = s.value;
    for (const s of inRates!) source(s).inRate = s.value;
    for (const s of invalidRates!) source(s).invalidRate = s.value;
    // The rolling baseline counts only with (nearly) the whole baseline window of history.
    const covered = new Set(coverage!.filter((s) => s.value >= 0.9 * (baselineSeconds / step)).map((s) => JSON.stringify([s.labels['namespace'], s.labels['pipeline'], s.labels['source']])));
    const isCovered = (s: Sample) => covered.has(JSON.stringify([s.labels['namespace'], s.labels['pipeline'], s.labels['source']]));
    for (const s of rolling!) if (isCovered(s)) source(s).rollingBaseline = s.value;
    for (const s of rollingHigh!) if (isCovered(s)) source(s).rollingHigh = s.value;
    for (const day of days) for (const s of day) source(s).sameTimeOnPreviousDays.push(s.value);
    return figures;
  }

  /** Sets the condition when its status, reason or set of problems changed; one event per change of reason. */
  private async report(pipeline: AdPipeline & KubeObject, verdict: Verdict): Promise<void> {
    const key = keyOf(pipeline);
    const previousVerdict = this.verdicts.get(key);
    this.verdicts.set(key, verdict);
    const current = this.conditions.get(key) ?? pipeline.status?.conditions?.find((c) => c.type === DATA_HEALTHY);
    const problemsChanged = previousVerdict !== undefined && previousVerdict.problems.join() !== verdict.problems.join();
    const changed = !current || current.status !== verdict.status || current.reason !== verdict.reason || problemsChanged;
    const inStatus = pipeline.status?.conditions?.some((c) => c.type === DATA_HEALTHY && c.status === current?.status && c.reason === current?.reason);
    if (!changed && inStatus) return;
    const generation = pipeline.metadata.generation ?? 0;
    const condition: Condition = {
      type: DATA_HEALTHY,
      status: verdict.status,
      reason: verdict.reason,
      message: verdict.message,
      observedGeneration: generation,
      lastTransitionTime: current && current.status === verdict.status ? current.lastTransitionTime : new Date(this.now() * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const conditions = [...(pipeline.status?.conditions ?? []).filter((c) => c.type !== DATA_HEALTHY), condition];
    // resourceVersion makes the write conditional: a status the reconciler wrote meanwhile is never overwritten with an older one.
    await this.options.kube.patch<AdPipeline & KubeObject>(ADPIPELINE_TYPE, namespaceOf(pipeline), pipeline.metadata.name, { metadata: { resourceVersion: pipeline.metadata.resourceVersion }, status: { conditions } }, CONTENT.merge, 'status');
    this.conditions.set(key, condition);
    if (current?.reason !== verdict.reason) {
      if (verdict.status === 'False') await this.options.events.record(pipeline, 'Warning', verdict.reason, verdict.message, 'JudgeDataHealth');
      else if (verdict.status === 'True' && current?.status === 'False') await this.options.events.record(pipeline, 'Normal', DATA_HEALTHY, `data healthy again after ${current.reason}`, 'JudgeDataHealth');
    }
  }
}

function isConflict(error: unknown): boolean {
  return (error as { statusCode?: number; code?: number }).statusCode === 409 || (error as { code?: number }).code === 409 || /\b409\b|Conflict/.test(String(error));
}

function emptyFigures(nowSeconds: number): HealthFigures {
  return { nowSeconds, workersScraped: 0, newestWorkerStartSeconds: undefined, lastStoredSeconds: undefined, lastReadSeconds: undefined, lag: 0, sourceLag: 0, sources: {} };
}
