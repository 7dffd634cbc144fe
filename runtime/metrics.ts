import type { SourceName } from '../api/runtime-config.js';
import type { Stored } from './tasks/freshness.js';
import { KAFKA_REFUSALS, type KafkaRefusal } from '../kafka/errors.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The worker's Prometheus metrics, in a registry of its own (no process-global state). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly records = new Counter({ name: 'adpipe_records_total', help: 'Records by source and outcome (in, accepted, invalid, duplicate).', labelNames: ['source', 'outcome'] as const, registers: [this.registry] });
  readonly batchSeconds = new Histogram({ name: 'adpipe_batch_duration_seconds', help: 'Time to decode, store and commit one batch.', labelNames: ['source'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly hbaseSeconds = new Histogram({ name: 'adpipe_hbase_write_duration_seconds', help: 'Time to apply one batch to HBase (all steps).', labelNames: ['source'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  /** Set from the broker on a timer for the partitions this worker owns (runtime/kafka/lag.ts). */
  readonly lag = new Gauge({ name: 'adpipe_consumer_lag', help: "Messages between the group's committed offset and the broker's high watermark, per partition this worker owns (measured on a timer); kind is source or internal (the task topic, whose transaction markers leave a lag of 1 at rest).", labelNames: ['topic', 'partition', 'kind'] as const, registers: [this.registry] });
  readonly lastEventSeconds = new Gauge({ name: 'adpipe_last_event_timestamp_seconds', help: 'Newest event time (the record ts) of the records of a source stored in HBase by this worker.', labelNames: ['source'] as const, aggregator: 'max', registers: [this.registry] });
  readonly lastReadSeconds = new Gauge({ name: 'adpipe_last_read_timestamp_seconds', help: 'Wall time this worker last read valid records of a source (read, not yet necessarily stored).', labelNames: ['source'] as const, aggregator: 'max', registers: [this.registry] });
  readonly lastStoredSeconds = new Gauge({ name: 'adpipe_last_stored_timestamp_seconds', help: 'Wall time of the last write to HBase that stored records of a source (freshness).', labelNames: ['source'] as const, aggregator: 'max', registers: [this.registry] });
  readonly delaySeconds = new Histogram({
    name: 'adpipe_processing_delay_seconds',
    help: 'From the Kafka timestamp of the oldest record of a source in a write to HBase until that write completed (one observation per source and write).',
    labelNames: ['source'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({ name: 'adpipe_dead_letters_total', help: 'Records sent to the dead-letter topic, by source and reason (the adpipe-reason header).', labelNames: ['source', 'reason'] as const, registers: [this.registry] });
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
  /** What Kafka refuses this worker for (credentials, ACLs, certificate), if it does; read when scraped. */
  kafkaRefusal: () => KafkaRefusal | undefined = () => undefined;
  readonly kafkaRefused: Gauge<'reason'> = new Gauge({
    name: 'adpipe_kafka_refused',
    help: 'Whether Kafka refuses this worker, by reason (authentication, authorization, tls): 1 while it does. The worker stays up and unready and tries again with backoff (decision 0116).',
    labelNames: ['reason'] as const,
    aggregator: 'max',
    registers: [this.registry],
    collect: (): void => {
      const refused = this.kafkaRefusal();
      for (const reason of KAFKA_REFUSALS) this.kafkaRefused.set({ reason }, reason === refused ? 1 : 0);
    },
  });
  readonly retries = new Counter({ name: 'adpipe_batch_retries_total', help: 'Batches retried after a retriable failure.', labelNames: ['source', 'code'] as const, registers: [this.registry] });

  private readonly newestEventMs = new Map<SourceName, number>();

  /**
   * A write to HBase stored records of `stored.source` (the tasks of an engine share the gauges: the
   * newest event wins; the engine threads' registries are merged with `aggregator: 'max'`).
   */
  stored(stored: Stored, nowMs: number): void {
    const { source, newestEventMs, oldestArrivalMs } = stored;
    this.lastStoredSeconds.set({ source }, nowMs / 1000);
    if (newestEventMs !== undefined && newestEventMs > (this.newestEventMs.get(source) ?? -Infinity)) {
      this.newestEventMs.set(source, newestEventMs);
      this.lastEventSeconds.set({ source }, newestEventMs / 1000);
    }
    this.delaySeconds.observe({ source }, Math.max(0, nowMs - oldestArrivalMs) / 1000);
  }

  /**
   * `defaultMetrics`: the process metrics (CPU, RSS, the heap of this thread's isolate). Engine
   * threads leave them out: a thread's "process" CPU and RSS are the whole process's, and the worker
   * sums the threads' registries.
   */
  constructor(options: { defaultMetrics: boolean } = { defaultMetrics: true }) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'adpipe_' });
  }
}
