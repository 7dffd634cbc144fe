import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { SOURCE_NAMES, type RuntimeConfig, type SourceName } from '../../api/runtime-config.js';
import { registryFetcher } from '../decode/avro.js';
import { decodersFor } from '../decode/index.js';
import { FETCH_LIMITS } from '../kafka.js';
import { LagProbe } from '../kafka/lag.js';
import { taskAssigner, taskOfPartition, tasksOf } from '../kafka/assigner.js';
import type { WorkerMetrics } from '../metrics.js';
import type { Store } from '../storage/store.js';
import { TaskRunner, type TaskContext } from './task.js';

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
    };
    options.metrics.stalledTasks = () => this.stalledTasks().length;
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.joined = true;
      const assignment = event.payload.memberAssignment as Record<string, number[]>;
      this.assignment = assignment;
      options.log.info({ memberId: event.payload.memberId, assignment }, 'joined the consumer group');
      this.assignments = this.assignments.then(() => this.assign(tasksOf(assignment, tasks.count)));
      void this.lagProbe.probe();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      options.log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
      if (!event.payload.restart) this.crashed = event.payload.error;
    });
  }

  get ready(): boolean {
    return this.joined && !this.stopping && !this.crashed && this.stalledTasks().length === 0;
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

  async start(): Promise<void> {
    const { config } = this.options;
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...SOURCE_NAMES.map((source) => config.sources[source].topic), config.tasks.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 8,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.lagProbe.start();
  }

  /** SIGTERM: commit every task's open transaction, leave the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
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
