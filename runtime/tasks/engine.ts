import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { SOURCE_NAMES, type RuntimeConfig, type SourceName } from '../../api/runtime-config.js';
import { registryFetcher } from '../decode/avro.js';
import { decodersFor } from '../decode/index.js';
import { kafkaRefusal, type Refusal } from '../../kafka/errors.js';
import { FETCH_LIMITS } from '../kafka.js';
import { REFUSAL_BACKOFF, refusalBackoffMs, refusalReason } from '../kafka/refusal.js';
import { LagProbe } from '../kafka/lag.js';
import { taskAssigner, taskOfPartition, tasksOf } from '../kafka/assigner.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Store } from '../storage/store.js';
import { SnapshotSlot, TaskRunner, type TaskContext } from './task.js';

export interface EngineOptions {
  config: RuntimeConfig;
  kafka: Kafka;
  store: Store;
  log: Logger;
  metrics: WorkerMetrics;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  /** Failures of one record, the same non-retriable way, before it is dead-lettered (default 3). */
  poisonAttempts?: number;
  /** A task failing without progress for longer than this makes the worker unready (default 5 min). */
  stallThresholdMs?: number;
  /** How often consumer lag is measured from the broker (default 10 s). */
  lagIntervalMs?: number;
  /** The longest wait between attempts while Kafka refuses the worker (default 5 min). */
  refusalBackoffMaxMs?: number;
}

/**
 * The worker's consumer of task-owned state (decision 0051): one consumer-group member that is
 * assigned whole tasks (`runtime/kafka/assigner.ts`), and a TaskRunner per task it owns. Batches
 * go to their task; a task's source partitions stay paused until it has restored its state.
 */
export class TaskEngine {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly runners = new Map<number, TaskRunner>();
  private readonly sourceByTopic: Map<string, SourceName>;
  private readonly paused = new Map<number, { topic: string; partition: number }[]>();
  private readonly ctx: TaskContext;
  private owned: number[] = [];
  private assignment: Record<string, number[]> = {};
  private joined = false;
  private stopping = false;
  private crashed: Error | undefined;
  /** Kafka refuses the consumer (credentials, ACLs, certificate): unready, healthy, trying again (decision 0116). */
  private refused: Refusal | undefined;
  /** A refusal the consumer crashed with while `start` was joining the group (kafkajs reports it as an event). */
  private crashRefusal: Error | undefined;
  /** Past the first successful start: a refusal from here on is a running consumer's. */
  private running = false;
  /** Ends a backoff wait early (stop). */
  private wake: (() => void) | undefined;
  private assignments: Promise<void> = Promise.resolve();
  private readonly lagProbe: LagProbe;

  constructor(private readonly options: EngineOptions) {
    const { config, kafka } = options;
    const tasks = config.tasks;
    this.consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 5)),
      allowAutoTopicCreation: false,
      readUncommitted: false,
      // A refusal is not restarted by kafkajs (at its short retry interval): the engine waits with its own backoff.
      retry: { restartOnFailure: async (error: Error) => !kafkaRefusal(error) },
      partitionAssigners: [taskAssigner({ taskCount: tasks.count, ownedTasks: () => this.owned })],
      ...FETCH_LIMITS,
    });
    this.admin = kafka.admin();
    options.metrics.stateFootprint = () => this.stateFootprint();
    this.lagProbe = new LagProbe({ admin: this.admin, groupId: config.kafka.groupId, metrics: options.metrics, log: options.log, owned: () => this.assignment, intervalMs: options.lagIntervalMs ?? 10_000, internalTopic: tasks.topic });
    this.sourceByTopic = new Map(SOURCE_NAMES.map((source) => [config.sources[source].topic, source]));
    this.ctx = {
      config,
      settings: { taskCount: tasks.count, topic: tasks.topic, commitIntervalMs: tasks.commitIntervalMs, snapshotIntervalMs: tasks.snapshotIntervalMs, evictionGraceMs: tasks.evictionGraceMs },
      kafka,
      store: options.store,
      decoders: decodersFor(config.sources, config.sources.bidRequests.avro.schemaRegistryUrl ? registryFetcher(config.sources.bidRequests.avro, () => options.metrics.schemaFetches.inc()) : undefined),
      log: options.log,
      metrics: options.metrics,
      committedOffset: async (partition) => {
        const [topic] = await this.admin.fetchOffsets({ groupId: config.kafka.groupId, topics: [tasks.topic] });
        const at = topic?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
        return BigInt(at);
      },
      seek: (partition, offset) => this.consumer.seek({ topic: tasks.topic, partition, offset }),
      rewindSources: (task) => this.rewindSources(task),
      onReady: (task) => this.resumeSources(task),
      poisonAttempts: options.poisonAttempts ?? 3,
      refusalBackoffMaxMs: options.refusalBackoffMaxMs ?? REFUSAL_BACKOFF.maxDelayMs,
      snapshotSlot: new SnapshotSlot(Math.max(0, tasks.snapshotIntervalMs) / tasks.count),
    };
    options.metrics.stalledTasks = () => this.stalledTasks().length;
    options.metrics.kafkaRefusal = () => this.refusal()?.kind;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.joined = true;
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      this.assignment = assignment;
      options.log.info({ memberId: event.payload.memberId, assignment }, 'joined the consumer group');
      this.assignments = this.assignments.then(() => this.assign(tasksOf(assignment, tasks.count)));
      void this.lagProbe.probe();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const refusal = kafkaRefusal(event.payload.error);
      if (refusal && !this.stopping) return this.refusedWhileConsuming(refusal, event.payload.error);
      options.log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) this.crashed = event.payload.error;
    });
  }

  get ready(): boolean {
    return this.joined && !this.stopping && !this.crashed && !this.refusal() && this.stalledTasks().length === 0;
  }

  /** What Kafka refuses this engine, if anything: its consumer, else the producer of one of its tasks. */
  refusal(): Refusal | undefined {
    if (this.refused) return this.refused;
    for (const runner of this.runners.values()) {
      const refusal = runner.refusal();
      if (refusal) return refusal;
    }
    return undefined;
  }

  /** Tasks that have failed without progress for longer than the threshold: what keeps the worker unready. */
  stalledTasks(): { task: number; seconds: number; error: string }[] {
    const threshold = this.options.stallThresholdMs ?? 300_000;
    const now = Date.now();
    return [...this.runners.values()].flatMap((runner) => {
      const stuck = runner.stuck(now);
      return stuck.ms > threshold ? [{ task: runner.task, seconds: Math.round(stuck.ms / 1000), error: stuck.error }] : [];
    });
  }

  /** Why the worker is not ready, in words for /readyz. */
  notReadyReason(): string | undefined {
    const refusal = this.refusal();
    if (refusal && !this.stopping) return refusalReason(refusal, this.options.config.kafka);
    if (this.crashed) return `the consumer crashed: ${this.crashed.message}`;
    if (this.stopping) return 'stopping';
    if (!this.joined) return 'joining the consumer group';
    const stalled = this.stalledTasks();
    if (stalled.length) return stalled.map((s) => `task ${s.task} has made no progress for ${s.seconds} s (last error ${s.error})`).join('; ');
    return undefined;
  }

  get healthy(): boolean {
    return !this.crashed;
  }

  /**
   * Connects and joins the group. Resolves once joined (or stopped); rejects on a failure that is
   * not a refusal. A refusal (decision 0116) leaves the engine unready and healthy, with one
   * warning per attempt, and it tries again after a backoff of 1 s doubling to 5 min: the fix (a
   * password, an ACL, a CA) is made outside the process, so exiting into a crash loop would not help.
   */
  async start(): Promise<void> {
    const { log } = this.options;
    for (let attempt = 0; !this.stopping; attempt++) {
      const failure = await this.connectAndJoin().then(
        () => this.crashRefusal,
        (error: unknown) => error,
      );
      if (failure === undefined) {
        if (this.refused) log.info({ refusal: this.refused.kind, attempts: attempt + 1 }, 'Kafka accepts the worker now: consuming');
        this.refused = undefined;
        if (!this.running) this.lagProbe.start();
        this.running = true;
        return;
      }
      const refusal = kafkaRefusal(failure);
      if (!refusal || this.stopping) throw failure;
      this.refused = refusal;
      await this.disconnect();
      const waitMs = refusalBackoffMs(attempt, this.ctx.refusalBackoffMaxMs);
      log.warn({ refusal: refusal.kind, detail: refusal.detail, attempt: attempt + 1, retryInMs: waitMs }, refusalReason(refusal, this.options.config.kafka));
      await this.backoff(waitMs);
    }
  }

  private async connectAndJoin(): Promise<void> {
    const { config } = this.options;
    this.crashRefusal = undefined;
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...SOURCE_NAMES.map((source) => config.sources[source].topic), config.tasks.topic], fromBeginning: true });
    // Resolves after the first join, or after a crash while joining (reported by the CRASH event).
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 8,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /**
   * The consumer crashed with a refusal (kafkajs has disconnected it). While starting, `start`
   * sees it; once running (an ACL revoked, a password rotated on the broker only), the engine
   * gives up its tasks (they restore from their commits when it is back) and starts over.
   */
  private refusedWhileConsuming(refusal: Refusal, error: Error): void {
    this.joined = false;
    this.refused = refusal;
    if (!this.running) {
      this.crashRefusal = error;
      return;
    }
    this.running = false;
    this.options.log.warn({ refusal: refusal.kind, detail: refusal.detail }, refusalReason(refusal, this.options.config.kafka));
    this.assignments = this.assignments.then(() => this.assign([]));
    void this.assignments
      .then(() => this.disconnect())
      .then(() => this.backoff(refusalBackoffMs(0, this.ctx.refusalBackoffMaxMs)))
      .then(() => this.start())
      .catch((failure: unknown) => {
        this.options.log.error({ err: failure }, 'consumer could not start again');
        this.crashed = failure instanceof Error ? failure : new Error(String(failure));
      });
  }

  private async disconnect(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Waits `ms`, or until stop. */
  private backoff(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** SIGTERM: commit every task's open transaction, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    this.lagProbe.stop();
    await this.consumer.stop().catch(() => undefined);
    await Promise.all([...this.runners.values()].map((runner) => runner.stop().catch(() => undefined)));
    await this.consumer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  /** Tasks this member lost are closed (their next owner fences them anyway); new ones start. */
  private async assign(tasks: number[]): Promise<void> {
    this.owned = tasks;
    const keep = new Set(tasks);
    for (const [task, runner] of this.runners) {
      if (keep.has(task)) continue;
      this.runners.delete(task);
      this.paused.delete(task);
      await runner.close();
    }
    for (const task of tasks) {
      if (this.runners.has(task)) continue;
      const runner = new TaskRunner(task, this.ctx);
      this.runners.set(task, runner);
      void runner.start();
    }
  }

  private sourcePartitionsOf(task: number): { topic: string; partition: number }[] {
    const { config } = this.options;
    return Object.entries(this.assignment).flatMap(([topic, partitions]) => (this.sourceByTopic.has(topic) ? partitions.filter((p) => taskOfPartition(p, config.tasks.count) === task).map((partition) => ({ topic, partition })) : []));
  }

  private async rewindSources(task: number): Promise<void> {
    const { config } = this.options;
    const partitions = this.sourcePartitionsOf(task);
    if (partitions.length === 0) return;
    this.paused.set(task, partitions);
    this.consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const committed = await this.admin.fetchOffsets({ groupId: config.kafka.groupId, topics });
    for (const { topic, partition } of partitions) {
      let offset = committed.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      if (offset === '-1') offset = (await this.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? '0';
      this.consumer.seek({ topic, partition, offset });
    }
  }

  private resumeSources(task: number): void {
    const paused = this.paused.get(task) ?? [];
    this.paused.delete(task);
    if (paused.length) this.consumer.resume(paused.map(({ topic, partition }) => ({ topic, partitions: [partition] })));
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { config } = this.options;
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const last = batch.messages[batch.messages.length - 1]!.offset;
    if (batch.topic === config.tasks.topic) {
      const runner = this.runners.get(batch.partition);
      if (!runner) return;
      const fetchedOffset = String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset);
      let taken = false;
      await runner.run(async () => void (taken = await runner.internal(batch.messages, fetchedOffset)));
      // A batch the task did not take is read again (after its seek); resolving it would skip it.
      if (!taken) return;
      resolveOffset(last);
      await heartbeat();
      return;
    }
    const source = this.sourceByTopic.get(batch.topic);
    if (!source) return;
    const task = taskOfPartition(batch.partition, config.tasks.count);
    const runner = this.runners.get(task);
    if (!runner?.ready) {
      // Read again from here once the task has restored its state.
      const list = this.paused.get(task) ?? [];
      list.push({ topic: batch.topic, partition: batch.partition });
      this.paused.set(task, list);
      this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
      if (runner?.ready) this.resumeSources(task); // became ready meanwhile
      return;
    }
    const size = config.batchSize;
    for (let at = 0; at < batch.messages.length; at += size) {
      const chunk = batch.messages.slice(at, at + size);
      await runner.run(() => runner.source(source, batch.topic, batch.partition, chunk));
      if (!runner.ready) return; // the task started over: read again from the committed offset
      resolveOffset(chunk[chunk.length - 1]!.offset);
      await heartbeat();
    }
  }

  /** State bytes per live id over the tasks this worker owns. */
  stateFootprint(): { liveIds: number; bytes: number } {
    let liveIds = 0;
    let bytes = 0;
    for (const runner of this.runners.values()) {
      const f = runner.stateFootprint();
      liveIds += f.liveIds;
      bytes += f.bytes;
    }
    return { liveIds, bytes };
  }
}
