// First: kafkajs's read_committed filter is replaced before kafkajs loads (decision 0073).
import './kafka/kafkajs-fixes.js';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, millisFromEnv } from './config.js';
import { QueryThread } from './query/query-thread.js';
import { DEFAULT_PARTITION_CONCURRENCY } from './kafka.js';
import { REFUSAL_BACKOFF } from './kafka/refusal.js';
import { aggregateMetrics, engineCountFromEnv, startEngineThreads, type EngineStatus } from './tasks/engine-threads.js';
import { wireEngine, type EngineSettings } from './tasks/engine-wiring.js';

// Wiring only: `node dist/runtime/main.js --config /etc/adpipe/pipeline.json`.
const { values } = parseArgs({ options: { config: { type: 'string', default: '/etc/adpipe/pipeline.json' }, port: { type: 'string' } } });
const config = loadConfig(values.config!);
// spec.workers sets these (the operator renders them); the environment still wins, for tests and benches.
const worker = { logLevel: 'info', partitionConcurrency: DEFAULT_PARTITION_CONCURRENCY, poisonAttempts: 3, stallThresholdMs: 300_000, ...config.worker };
const log = pino({ base: { component: 'adpipe-worker' }, level: process.env.ADPIPE_LOG_LEVEL ?? worker.logLevel });
// ADPIPE_HTTP_PORT is the port the platform assigned (the local node agent maps each named container
// port to a free host port); it wins over the configured container port.
const port = Number(process.env.ADPIPE_HTTP_PORT ?? values.port ?? config.http.port);
const pipelineLog = log.child({ pipeline: `${config.pipeline.namespace}/${config.pipeline.name}` });

// Commit and snapshot intervals may be tightened for tests and benchmarks.
config.tasks.commitIntervalMs = millisFromEnv('ADPIPE_TASK_COMMIT_INTERVAL_MS', config.tasks.commitIntervalMs, 1);
config.tasks.snapshotIntervalMs = millisFromEnv('ADPIPE_TASK_SNAPSHOT_INTERVAL_MS', config.tasks.snapshotIntervalMs, 1);
// Engine 0 runs on this thread; ADPIPE_ENGINE_THREADS - 1 more run on threads of their own, each
// one more member of the consumer group (decision 0074), as Kafka Streams' stream threads.
const settings: EngineSettings = {
  partitionConcurrency: Number(process.env.ADPIPE_PARTITION_CONCURRENCY ?? worker.partitionConcurrency),
  sessionTimeoutMs: Number(process.env.ADPIPE_KAFKA_SESSION_TIMEOUT_MS ?? 30_000),
  poisonAttempts: Number(process.env.ADPIPE_POISON_ATTEMPTS ?? worker.poisonAttempts),
  stallThresholdMs: millisFromEnv('ADPIPE_STALL_THRESHOLD_MS', worker.stallThresholdMs, 1),
  lagIntervalMs: millisFromEnv('ADPIPE_LAG_INTERVAL_MS', 10_000, 100),
  refusalBackoffMaxMs: millisFromEnv('ADPIPE_REFUSAL_BACKOFF_MAX_MS', REFUSAL_BACKOFF.maxDelayMs, 1000),
};
const { engine, metrics, stop: stopMainEngine } = wireEngine(config, pipelineLog, settings, { defaultMetrics: true });
const engineThreads = startEngineThreads(config, settings, pipelineLog, engineCountFromEnv() - 1, (error) => {
  pipelineLog.fatal({ err: error }, 'an engine thread failed');
  void shutdown('engine thread failed', 1);
});
/** Every engine's probe state: this thread's engine first, then each thread's (one that does not answer is neither). */
const everyEngine = async (): Promise<EngineStatus[]> => [
  { ready: engine.ready, healthy: engine.healthy, reason: engine.notReadyReason() },
  ...(await Promise.all(engineThreads.map((thread) => thread.status()))),
];
// The HTTP server runs on a thread of its own so a query never waits behind the tasks' processing
// on this loop (decision 0069); probes and metrics are still answered here, from this thread's state.
const queryThread = new QueryThread({
  data: {
    port,
    hbase: config.hbase,
    settings: { saltBuckets: config.storage.saltBuckets, families: config.storage.families },
    ...(config.query?.auth === 'kubernetes' ? { auth: { pipeline: config.pipeline, reviewCacheMs: config.query.reviewCacheMs } } : {}),
    ...(config.query?.tls ? { tls: config.query.tls } : {}),
    log: { level: pipelineLog.level, bindings: pipelineLog.bindings() },
  },
  state: {
    registry: () => aggregateMetrics(metrics.registry, engineThreads),
    ready: async () => (await everyEngine()).every((status) => status.ready),
    healthy: async () => (await everyEngine()).every((status) => status.healthy),
    notReadyReason: async () => (await everyEngine()).find((status) => !status.ready)?.reason,
  },
  log: pipelineLog,
  onFailure: (error) => {
    pipelineLog.fatal({ err: error }, 'query thread failed: no HTTP server left');
    void shutdown('query thread failed', 1);
  },
});
void queryThread.listening.then((bound) => pipelineLog.info({ port: bound }, 'http listening'));

let stopping = false;
async function shutdown(signal: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  pipelineLog.info({ signal }, 'stopping: finishing the batch in hand, committing, leaving the group');
  await Promise.all([stopMainEngine(), ...engineThreads.map((thread) => thread.stop().catch((error: unknown) => pipelineLog.error({ err: error }, 'engine thread stop failed')))]);
  // Queries are served until the last commit is done, as before; then the thread ends too.
  await queryThread.close().catch((error: unknown) => pipelineLog.error({ err: error }, 'query thread close failed'));
  pipelineLog.info('stopped');
  process.exit(exitCode);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await Promise.all([engine.start(), ...engineThreads.map((thread) => thread.started)]).catch((error: unknown) => {
  pipelineLog.fatal({ err: error }, 'worker failed to start');
  process.exit(1);
});
if (!stopping) pipelineLog.info({ topics: Object.values(config.sources).map((s) => s.topic), table: config.hbase.table }, 'worker started');
