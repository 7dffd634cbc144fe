import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import { HBaseClient } from '../../hbase/index.js';
import { millisFromEnv } from '../config.js';
import { DEFAULT_PARTITION_CONCURRENCY, kafkaClient } from '../kafka.js';
import { WorkerMetrics } from '../metrics.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { TaskEngine } from './engine.js';

/** A task engine with the clients of its own: one per engine thread (decision 0074). */
export interface WiredEngine {
  engine: TaskEngine;
  metrics: WorkerMetrics;
  /** Stops the engine (commit, leave the group), then releases HBase. */
  stop: () => Promise<void>;
}

export function wireEngine(config: RuntimeConfig, log: Logger, options: { defaultMetrics: boolean }): WiredEngine {
  const hbase = new HBaseClient({ zookeeperQuorum: config.hbase.zookeeperQuorum, znodeParent: config.hbase.znodeParent });
  const metrics = new WorkerMetrics(options);
  const engine = new TaskEngine({
    config,
    kafka: kafkaClient(config.kafka, log),
    store: new HBaseStore(hbase, config.hbase.table),
    log,
    metrics,
    partitionsConsumedConcurrently: Number(process.env.ADPIPE_PARTITION_CONCURRENCY ?? DEFAULT_PARTITION_CONCURRENCY),
    sessionTimeoutMs: Number(process.env.ADPIPE_KAFKA_SESSION_TIMEOUT_MS ?? 30_000),
    lagIntervalMs: millisFromEnv('ADPIPE_LAG_INTERVAL_MS', 10_000, 100),
  });
  return {
    engine,
    metrics,
    stop: async () => {
      await engine.stop().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
      hbase.close();
    },
  };
}
