import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's Prometheus metrics, in a registry of its own (no process-global state). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'adpipe_records_total', help: 'Records by source and outcome (in, accepted, invalid, duplicate).', labelNames: ['source', 'outcome'] as const, registers: [this.registry] });
  readonly batchSeconds = new Histogram({ name: 'adpipe_batch_duration_seconds', help: 'Time to decode, store and commit one batch.', labelNames: ['source'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly hbaseSeconds = new Histogram({ name: 'adpipe_hbase_write_duration_seconds', help: 'Time to apply one batch to HBase (all steps).', labelNames: ['source'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly lag = new Gauge({ name: 'adpipe_consumer_lag', help: 'Messages between the last processed offset and the high watermark.', labelNames: ['topic', 'partition'] as const, registers: [this.registry] });
  /** What the tasks this worker owns hold in memory, read when scraped (encoding the state costs). */
  stateFootprint: () => { liveIds: number; bytes: number } = () => ({ liveIds: 0, bytes: 0 });
  readonly liveIds = new Gauge({ name: 'adpipe_task_live_ids', help: 'Ids the tasks of this worker remember (dedup and joins, within the lateness bound).', registers: [this.registry],
    collect: () => {
      const footprint = this.stateFootprint();
      this.liveIds.set(footprint.liveIds);
      this.stateBytes.set(footprint.bytes);
    },
  });
  readonly stateBytes = new Gauge({
    name: 'adpipe_task_state_bytes',
    help: 'Bytes of the id tables of the tasks of this worker (typed arrays, allocated capacity; clicks and waiting partners kept beside them are not counted).',
    registers: [this.registry],
  });
  readonly schemaFetches = new Counter({ name: 'adpipe_schema_fetches_total', help: 'Writer schemas fetched from the schema registry by id (answers, known or unknown id; each id once per worker).', registers: [this.registry] });
  readonly processingFailed = new Counter({ name: 'adpipe_records_processing_failed_total', help: 'Records dead-lettered as processing.failed: they failed the same non-retriable way every attempt.', labelNames: ['source', 'code'] as const, registers: [this.registry] });
  /** Tasks failing without progress for longer than the stall threshold, read when scraped. */
  stalledTasks: () => number = () => 0;
  readonly stalled: Gauge = new Gauge({ name: 'adpipe_tasks_stalled', help: 'Tasks of this worker that have made no progress (no commit) while failing for longer than the stall threshold.', registers: [this.registry],
    collect: (): void => this.stalled.set(this.stalledTasks()),
  });
  readonly retries = new Counter({ name: 'adpipe_batch_retries_total', help: 'Batches retried after a retriable failure.', labelNames: ['source', 'code'] as const, registers: [this.registry] });

  /**
   * `defaultMetrics`: the process metrics (CPU, RSS, the heap of this thread's isolate). Engine
   * threads leave them out: a thread's "process" CPU and RSS are the whole process's, and the worker
   * sums the threads' registries.
   */
  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'adpipe_' });
  }
}
