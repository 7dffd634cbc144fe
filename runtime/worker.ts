import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { SOURCE_NAMES, type RuntimeConfig, type SourceName } from '../api/runtime-config.js';
import { decodersFor, type Decoders } from './decode/index.js';
import { DEFAULT_PARTITION_CONCURRENCY, FETCH_LIMITS } from './kafka.js';
import type { InMessage, Item, RecordOf } from './model.js';
import type { WorkerMetrics } from './metrics.js';
import { DeadLetterSink } from './sinks/deadletter.js';
import { HBaseSink } from './sinks/hbase.js';
import { DEFAULT_ROLLUP_POLICY, HourRollups, type RollupPolicy } from './sinks/rollup.js';
import type { Store } from './storage/store.js';

export interface WorkerOptions {
  config: RuntimeConfig;
  kafka: Kafka;
  store: Store;
  log: Logger;
  metrics: WorkerMetrics;
  /** Topic-partitions processed at once (their HBase round trips overlap). */
  partitionsConsumedConcurrently?: number;
  /** How long the group waits for a silent member (a killed worker) before moving its partitions. */
  sessionTimeoutMs?: number;
  /** When campaign-hour rows are rolled up (decision 0048), and how often the worker looks. */
  rollups?: RollupPolicy;
}

/** Programmer errors are never retried: the process exits and Kubernetes restarts it with the log. */
function isProgrammerError(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One worker of a pipeline's consumer group: per batch of one topic-partition, decode and validate,
 * apply to HBase (exactly-once effect, see docs/exactly-once.md), dead-letter the invalid records,
 * then commit. Nothing is committed before its effects are durable; a failure is retried until it
 * succeeds or the partition is taken away (another worker then replays it), never skipped.
 */
export class Worker {
  private readonly consumer: Consumer;
  private readonly producer: Producer;
  private readonly sink: HBaseSink;
  private readonly hourRollups: HourRollups;
  private rollupTimer: NodeJS.Timeout | undefined;
  private rollingUp: Promise<void> | undefined;
  private readonly deadLetters: DeadLetterSink;
  private readonly decoders: Decoders;
  private readonly sourceByTopic: Map<string, SourceName>;
  private joined = false;
  private stopping = false;
  private crashed: Error | undefined;

  constructor(private readonly options: WorkerOptions) {
    const { config, kafka, store } = options;
    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 5)),
      allowAutoTopicCreation: false,
      ...FETCH_LIMITS,
    });
    this.producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    this.hourRollups = new HourRollups(store, config.storage.families.aggregates, options.rollups ?? DEFAULT_ROLLUP_POLICY);
    this.sink = new HBaseSink(store, { saltBuckets: config.storage.saltBuckets, families: config.storage.families, rules: config.correlation }, (rows) => this.hourRollups.written(rows));
    this.deadLetters = new DeadLetterSink(this.producer, config.deadLetterTopic);
    this.decoders = decodersFor(config.sources);
    this.sourceByTopic = new Map(SOURCE_NAMES.map((source) => [config.sources[source].topic, source]));
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.joined = true;
      options.log.info({ memberId: event.payload.memberId, assignment: event.payload.memberAssignment }, 'joined the consumer group');
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      options.log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) this.crashed = event.payload.error;
    });
  }

  /** Joined the group and not shutting down: the Pod may receive traffic. */
  get ready(): boolean {
    return this.joined && !this.stopping && !this.crashed;
  }

  /** False once the consumer has crashed for good: the Pod should be restarted. */
  get healthy(): boolean {
    return !this.crashed;
  }

  async start(): Promise<void> {
    const { config } = this.options;
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: SOURCE_NAMES.map((source) => config.sources[source].topic), fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? DEFAULT_PARTITION_CONCURRENCY,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.rollupTimer = setInterval(() => this.rollUpDue(), (this.options.rollups ?? DEFAULT_ROLLUP_POLICY).intervalMs);
  }

  /** Rolls up the campaign-hour rows that are due; a failure is logged and retried next time. */
  private rollUpDue(): void {
    if (this.rollingUp || this.stopping) return;
    const { metrics, log } = this.options;
    this.rollingUp = this.hourRollups
      .runDue(
        Date.now(),
        (outcome, error) => {
          metrics.rollups.inc({ outcome });
          if (error) log.warn({ err: error }, 'roll-up of a campaign-hour row failed; retrying later');
        },
        () => this.stopping,
      )
      .finally(() => {
        metrics.rollupsPending.set(this.hourRollups.pending);
        this.rollingUp = undefined;
      });
  }

  /** SIGTERM: finish the batch in hand, commit it, leave the group, close the producer. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.rollupTimer);
    await this.rollingUp;
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { config, metrics, log } = this.options;
    const source = this.sourceByTopic.get(batch.topic);
    if (!source) return;
    const abandoned = () => !isRunning() || isStale();
    for (let start = 0; start < batch.messages.length; start += config.batchSize) {
      if (abandoned()) return;
      const timer = metrics.batchSeconds.startTimer({ source });
      const chunk = batch.messages.slice(start, start + config.batchSize);
      const messages: InMessage[] = chunk.map((m) => ({ partition: batch.partition, offset: m.offset, timestamp: m.timestamp, value: m.value }));
      const lastOffset = chunk[chunk.length - 1]!.offset;
      const retry = <T>(what: string, work: () => Promise<T>) => this.retrying(source, what, work, heartbeat, abandoned);

      const decode = this.decoders[source] as (messages: readonly InMessage[], nowMs: number) => Promise<Item<RecordOf[SourceName]>[]>;
      const items = await retry('decode', () => decode(messages, Date.now()));
      const hbaseTimer = metrics.hbaseSeconds.startTimer({ source });
      const outcome = await retry('store', () => this.sink.applyBatch(source, batch.partition, items, lastOffset));
      hbaseTimer();
      await retry('dead-letter', () => this.deadLetters.send(source, batch.topic, outcome.invalidItems));
      // On shutdown the chunk just stored is still committed; only a revoked partition is not.
      if (isStale()) return;
      await retry('commit', () => this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(lastOffset) + 1n).toString() }]));
      resolveOffset(lastOffset);

      metrics.records.inc({ source, outcome: 'in' }, items.length);
      metrics.records.inc({ source, outcome: 'accepted' }, outcome.accepted);
      metrics.records.inc({ source, outcome: 'invalid' }, outcome.invalid);
      metrics.records.inc({ source, outcome: 'duplicate' }, outcome.duplicates);
      metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(lastOffset) - 1));
      timer();
      log.debug({ source, partition: batch.partition, lastOffset, records: items.length, accepted: outcome.accepted, invalid: outcome.invalid, duplicates: outcome.duplicates }, 'batch stored');
      await heartbeat();
    }
  }

  /**
   * Runs `work` until it succeeds. Between attempts it heartbeats, so a long HBase outage keeps the
   * partitions; a rebalance (the heartbeat fails) or shutdown ends the attempt without committing,
   * and whoever owns the partition next replays the batch.
   */
  private async retrying<T>(source: SourceName, what: string, work: () => Promise<T>, heartbeat: () => Promise<void>, abandoned: () => boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (isProgrammerError(error) || abandoned()) throw error;
        const code = (error as { code?: string; type?: string }).code ?? (error as { type?: string }).type ?? (error as Error).name ?? 'unknown';
        this.options.metrics.retries.inc({ source, code: String(code) });
        this.options.log.warn({ err: error, source, step: what, attempt }, `batch step '${what}' failed; retrying`);
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
        await heartbeat();
      }
    }
  }
}
