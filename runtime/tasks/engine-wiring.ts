import type { Logger } from 'pino';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import { hbaseClient } from '../hbase-client.js';
import { kafkaClient } from '../kafka.js';
import { WorkerMetrics } from '../metrics.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { TaskEngine } from './engine.js';

/** The engine settings the main thread resolves once (spec.workers, then the environment) for every engine. */
export interface EngineSettings {
  partitionConcurrency: number;
  sessionTimeoutMs: number;
  poisonAttempts: number;
  stallThresholdMs: number;
  lagIntervalMs: number;
  /** The longest wait between attempts while Kafka refuses the worker (decision 0116). */
  refusalBackoffMaxMs: number;
}

/** A task engine with the clients of its own: one per engine thread (decision 0074). */
export interface WiredEngine {
  engine: TaskEngine;
  metrics: WorkerMetrics;
  /** Stops the engine (commit, leave the group), then releases HBase. */
  stop: () => Promise<void>;
}

export function wireEngine(config: RuntimeConfig, log: Logger, settings: EngineSettings, options: { defaultMetrics: boolean }): WiredEngine {
  const hbase = hbaseClient(config.hbase);
  const metrics = new WorkerMetrics(options);
  const engine = new TaskEngine({
    config,
    kafka: kafkaClient(config.kafka, log),
    store: new HBaseStore(hbase, config.hbase.table),
    log,
    metrics,
    partitionsConsumedConcurrently: settings.partitionConcurrency,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    poisonAttempts: settings.poisonAttempts,
    stallThresholdMs: settings.stallThresholdMs,
    lagIntervalMs: settings.lagIntervalMs,
    refusalBackoffMaxMs: settings.refusalBackoffMaxMs,
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
