import { Gauge, type Registry } from 'prom-client';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { keyOf } from '../controller/informer.js';
import type { KubeObject } from '../controller/kube.js';
import { PROBLEM_ORDER, thresholdsOf, type Thresholds, type Verdict } from './judge.js';

/**
 * Per-pipeline series the alert rules join with the workers' metrics (decision 0082): each
 * pipeline's spec.monitoring thresholds, its desired workers, its conditions, and the sensor's
 * verdict per reason. Read from the informer's cache when scraped, so they are never stale and a
 * deleted pipeline's series go with it.
 */
export function pipelineMetrics(registry: Registry, pipelines: () => (AdPipeline & KubeObject)[], verdict: (key: string) => Verdict | undefined): void {
  const labelNames = ['namespace', 'pipeline'] as const;
  const each = (gauge: Gauge<string>, value: (p: AdPipeline, t: Thresholds) => number) => {
    gauge.reset();
    for (const p of pipelines()) {
      let thresholds: Thresholds;
      try {
        thresholds = thresholdsOf(p);
      } catch {
        continue;
      }
      gauge.set({ namespace: p.metadata.namespace ?? '', pipeline: p.metadata.name }, value(p, thresholds));
    }
  };
  new Gauge({ name: 'adpipe_pipeline_monitoring_max_lag_records', help: 'spec.monitoring.maxLag of each AdPipeline', labelNames, registers: [registry], collect() { each(this, (_p, t) => t.maxLag); } });
  new Gauge({ name: 'adpipe_pipeline_monitoring_max_staleness_seconds', help: 'spec.monitoring.maxStaleness of each AdPipeline', labelNames, registers: [registry], collect() { each(this, (_p, t) => t.maxStalenessSeconds); } });
  new Gauge({ name: 'adpipe_pipeline_monitoring_max_invalid_ratio', help: 'spec.monitoring.maxInvalidPercent / 100 of each AdPipeline', labelNames, registers: [registry], collect() { each(this, (_p, t) => t.maxInvalidRatio); } });
  new Gauge({ name: 'adpipe_pipeline_workers_desired', help: 'Worker replicas each AdPipeline asks for', labelNames, registers: [registry], collect() { each(this, (p) => p.spec.workers?.replicas ?? 0); } });
  new Gauge({
    name: 'adpipe_pipeline_condition',
    help: 'Each condition of each AdPipeline: 1 for its current status and reason',
    labelNames: ['namespace', 'pipeline', 'type', 'status', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of pipelines()) for (const c of p.status?.conditions ?? []) this.set({ namespace: p.metadata.namespace ?? '', pipeline: p.metadata.name, type: c.type, status: c.status, reason: c.reason }, 1);
    },
  });
  new Gauge({
    name: 'adpipe_pipeline_data_unhealthy',
    help: "The data-health sensor's verdict per reason (1: holds now); only the leading replica judges",
    labelNames: ['namespace', 'pipeline', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of pipelines()) {
        const v = verdict(keyOf(p));
        if (!v) continue;
        for (const reason of PROBLEM_ORDER) this.set({ namespace: p.metadata.namespace ?? '', pipeline: p.metadata.name, reason }, v.problems.includes(reason) ? 1 : 0);
      }
    },
  });
}
