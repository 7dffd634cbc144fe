import type { Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { SOURCE_NAMES, type RuntimeConfig, type SourceName } from '../../api/runtime-config.js';
import type { Decoders } from '../decode/index.js';
import { sendOffsetsWhenCoordinatorReady } from '../kafka/send-offsets.js';
import type { WorkerMetrics } from '../metrics.js';
import { isRetriable } from '../errors.js';
import { kafkaRefusal, type Refusal } from '../../kafka/errors.js';
import { refusalBackoffMs } from '../kafka/refusal.js';
import type { InMessage, Item, RecordOf } from '../model.js';
import { deadLetterHeaders } from '../sinks/deadletter.js';
import type { Store } from '../storage/store.js';
import { errorCode, PoisonGuard } from './poison.js';
import { PendingFreshness } from './freshness.js';
import { FrameWriter, readFrame, routingKey, type ProgressRecord, type TaskRecord } from './records.js';
import { routeBatch, taskOf } from './route.js';
import { BARRIER, SOURCE_INDEX, TaskState } from './state.js';
import { SNAPSHOT_CHUNK_BYTES, lastVersionOf, putInBatches, readSnapshot, viewPuts, writeSnapshot } from './view.js';

/**
 * One task a worker owns (decision 0051): its state, its transactional producer, and the open
 * transaction's outputs. Work on a task runs one piece at a time (`run`), in this order of life:
 *   start   fence the previous owner (InitProducerId at the first `transaction()`), read the newest
 *           snapshot, seek the internal partition to the snapshot's position, and commit a barrier
 *           record into the task's own partition;
 *   restore re-apply the internal records below the group's committed offset without sending what
 *           they cause (the previous owner committed that already); records at or above it are
 *           processed normally;
 *   ready   once the barrier is read back every record committed before this owner started has
 *           been applied: the task's source partitions are resumed;
 *   commit  every commit interval, one transaction carries the internal records caused since the
 *           last one, the dead letters and the offsets of every partition the task read; then the
 *           changed partial sums go to HBase, and now and then a snapshot. It runs in the
 *           background while the task reads on; the next commit waits for it (decision 0147).
 * Any failure of a transaction leaves the in-memory state ahead of what Kafka holds, so the task
 * starts over from `start` with a new producer.
 */

export interface TaskSettings {
  taskCount: number;
  topic: string;
  commitIntervalMs: number;
  snapshotIntervalMs: number;
  evictionGraceMs: number;
}

export interface TaskContext {
  config: RuntimeConfig;
  settings: TaskSettings;
  /** The longest wait between attempts while Kafka refuses the task's producer (decision 0116). */
  refusalBackoffMaxMs: number;
  kafka: Kafka;
  store: Store;
  decoders: Decoders;
  log: Logger;
  metrics: WorkerMetrics;
  /** The group's committed offset of a partition of the internal topic (-1: none). */
  committedOffset: (partition: number) => Promise<bigint>;
  seek: (partition: number, offset: string) => void;
  /**
   * Pauses the task's source partitions and moves them back to the group's committed offsets: what
   * an aborted transaction had read must be read again.
   */
  rewindSources: (task: number) => Promise<void>;
  /** Called once the task is ready to read its source partitions. */
  onReady: (task: number) => void;
  /** A message that fails the same non-retriable way this many times is dead-lettered (decision 0104). */
  poisonAttempts: number;
  /** Shared by the engine's tasks: one snapshot is written at a time (decision 0078). */
  snapshotSlot: SnapshotSlot;
}

/**
 * The engine's one snapshot in flight, and a gap between two snapshots' starts. Tasks that fell
 * due together (all of them, after an idle spell) take turns instead of encoding tens of MB each
 * and writing them to HBase at once, which held the latency path's view writes for seconds and
 * kept one encoded copy per task in memory. The gap (the snapshot interval over the task count)
 * spreads them over one interval: taking turns alone still ran six back to back when the first
 * changes after an idle spell found every task due (the runtime bench's p99 at 500 ev/s).
 */
export class SnapshotSlot {
  private holder: number | undefined;
  private lastStartMs = -Infinity;

  constructor(private readonly gapMs = 0) {}

  take(task: number, nowMs = Date.now()): boolean {
    if (this.holder !== undefined || nowMs - this.lastStartMs < this.gapMs) return false;
    this.holder = task;
    this.lastStartMs = nowMs;
    return true;
  }
  give(task: number): void {
    if (this.holder === task) this.holder = undefined;
  }
}

/** What one transaction commits: the task's outputs since the last cut, and a snapshot when one is due. */
interface Cut {
  hasWork: boolean;
  frames: { partition: number; value: Buffer }[];
  deadLetters: Message[];
  offsets: Map<string, Map<number, bigint>>;
  version: number;
  snapshot?: { chunks: Buffer[]; head: { generation: number; position: string; version: number }; liveIds: number; encodeMs: number };
}

type Decode = (messages: readonly InMessage[], nowMs: number) => Promise<Item<RecordOf[SourceName]>[]>;

/** How long a restore may go without reading anything before the task starts over. */
const RESTORE_WATCHDOG_MS = Number(process.env.ADPIPE_TASK_RESTORE_WATCHDOG_MS ?? 30_000);

/** Internal frames stay well below Kafka's 1 MiB default message limit. */
const FRAME_LIMIT = 512 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class TaskRunner {
  private state: TaskState;
  private producer: Producer | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private stopping = false;
  phase: 'starting' | 'restoring' | 'ready' = 'starting';
  private restoreUntil = 0n;
  /** The next offset of the internal partition to apply; lower ones are re-deliveries. */
  private internalNext = 0n;
  /** After a seek, batches fetched from elsewhere (before the seek took effect) are dropped. */
  private awaitFetchFrom: string | undefined;
  private barrier = -1;
  private frames = new Map<number, FrameWriter>();
  private readyFrames: { partition: number; value: Buffer }[] = [];
  private deadLetters: Message[] = [];
  private offsets = new Map<string, Map<number, bigint>>();
  /** The last cut's transaction, view and snapshot being published while the task goes on; never rejects. */
  private inflight: Promise<void> | undefined;
  /** Why the last publish failed: the task's next piece of work starts it over. */
  private failure: unknown;
  private pendingRecords = 0;
  /** Per source partition, the last offset this owner routed (ahead of the state until read back). */
  private readonly routed = new Map<string, number>();
  private lastCommitMs = Date.now();
  private restoringSince = Date.now();
  private lastSnapshotMs = Date.now();
  /** The state moved since the last snapshot (a restore may have replayed a tail): an idle task snapshots only then. */
  private changedSinceSnapshot = true;
  private version = 0;
  private generation = 0;
  /** The snapshot being written to HBase while the task goes on (at most one at a time). */
  private snapshotWrite: Promise<void> | undefined;
  private viewBehind = new Set<string>();
  /** The task's counters changed (or their last write failed) since they were last written. */
  private statsBehind = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly poison: PoisonGuard;
  /** Since when the task has failed without committing anything in between (no progress), and why. */
  private failingSince: number | undefined;
  private lastFailure = '';
  /** The last failure, when it was Kafka refusing the task's producer (credentials, ACLs, certificate). */
  private lastRefusal: Refusal | undefined;
  /** Records applied since the last successful write to HBase (freshness metrics). */
  private readonly unstored = new PendingFreshness();

  constructor(
    readonly task: number,
    private readonly ctx: TaskContext,
  ) {
    this.state = new TaskState(ctx.config.correlation);
    this.poison = new PoisonGuard(ctx.poisonAttempts);
  }

  /** How long the task has been failing without progress (0 when it is not), and the last error. */
  stuck(now = Date.now()): { ms: number; error: string } {
    return { ms: this.failingSince === undefined ? 0 : now - this.failingSince, error: this.lastFailure };
  }

  /** Kafka refusing the task, while it fails without progress: the worker is unready at once, not after the stall threshold. */
  refusal(): Refusal | undefined {
    return this.failingSince === undefined ? undefined : this.lastRefusal;
  }

  private failed(error: unknown): void {
    this.failingSince ??= Date.now();
    this.lastFailure = `${errorCode(error)}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300);
    this.lastRefusal = kafkaRefusal(error);
  }

  /** Runs `work` after everything queued before it; a failure restarts the task. */
  run(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.closed) return;
      try {
        if (this.failure !== undefined) throw this.failure;
        await work();
      } catch (error) {
        // Closing or shutting down: the next owner fences and restores; starting over here would
        // fence it back and hold up SIGTERM.
        if (this.closed || this.stopping) return;
        this.failed(error);
        this.ctx.log.warn({ err: error, task: this.task, refusal: this.lastRefusal?.kind }, 'task failed; starting it over from its snapshot and log');
        const failure = error as { type?: string; code?: string; name?: string };
        this.ctx.metrics.retries.inc({ source: 'task', code: String(failure.type ?? failure.code ?? failure.name) });
        await this.restart();
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  get ready(): boolean {
    return this.phase === 'ready' && !this.closed;
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.run(() => this.tick()), Math.max(20, Math.floor(this.ctx.settings.commitIntervalMs / 2)));
    return this.run(() => this.open());
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.chain;
    await this.inflight;
    await this.snapshotWrite;
    await this.producer?.disconnect().catch(() => undefined);
  }

  /** SIGTERM: commit what is open, then close. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.run(async () => {
      await this.commit();
      await this.inflight;
    });
    await this.close();
  }

  private async restart(): Promise<void> {
    const { config } = this.ctx;
    await this.inflight;
    this.failure = undefined;
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    // The restore must read either the snapshot being written or the one before it, never race it.
    await this.snapshotWrite;
    this.state = new TaskState(config.correlation);
    this.resetPending();
    this.routed.clear();
    this.unstored.clear();
    this.phase = 'starting';
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.open();
        return;
      } catch (error) {
        this.failed(error);
        this.ctx.log.warn({ err: error, task: this.task, attempt, refusal: this.lastRefusal?.kind }, 'task start failed; retrying');
        // A refusal is fixed outside the worker (a password, an ACL): wait longer, as the engine does.
        await sleep(this.lastRefusal ? refusalBackoffMs(attempt, this.ctx.refusalBackoffMaxMs) : Math.min(5000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private resetPending(): void {
    this.frames.clear();
    this.readyFrames = [];
    this.deadLetters = [];
    // New containers, not cleared ones: a cut being published holds the old ones.
    this.offsets = new Map();
    this.pendingRecords = 0;
  }

  private async open(): Promise<void> {
    const { config, settings, store, kafka } = this.ctx;
    const family = config.storage.families.aggregates;
    this.producer = kafka.producer({ transactionalId: `${config.kafka.groupId}-task-${this.task}`, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
    // InitProducerId: from here on the previous owner can commit nothing.
    const fence = await this.producer.transaction();
    await this.ctx.rewindSources(this.task);
    const snapshot = await readSnapshot(store, family, this.task);
    this.version = Math.max(await lastVersionOf(store, this.task, family), snapshot?.head.version ?? 0);
    this.generation = snapshot?.head.generation ?? 0;
    this.state = new TaskState(config.correlation);
    if (snapshot) this.state.decodeInto(snapshot.state);
    const committed = await this.ctx.committedOffset(this.task);
    this.restoreUntil = committed < 0n ? 0n : committed;
    const from = snapshot?.head.position ?? '0';
    this.internalNext = BigInt(from);
    this.awaitFetchFrom = from;
    this.ctx.seek(this.task, from);
    this.barrier = Math.floor(Math.random() * 2 ** 31);
    const frame = new FrameWriter();
    frame.write({ kind: 'P', source: BARRIER, partition: this.barrier, throughOffset: 0, invalid: 0 });
    await fence.send({ topic: settings.topic, acks: -1, messages: [{ partition: this.task, value: frame.take() }] });
    await fence.commit();
    // Kafka took the task's producer (fenced, sent, committed): whatever it refused before is over.
    this.lastRefusal = undefined;
    this.phase = 'restoring';
    this.restoringSince = Date.now();
    this.lastCommitMs = Date.now();
    // Tasks started together snapshot at different commits, so their HBase writes do not pile up.
    this.lastSnapshotMs = Date.now() - (this.task / settings.taskCount) * settings.snapshotIntervalMs;
    this.ctx.log.info({ task: this.task, snapshot: snapshot ? { position: from, bytes: snapshot.head.bytes } : null, restoreUntil: String(this.restoreUntil) }, 'task started: restoring');
  }

  // ---- input ----------------------------------------------------------------------------------------

  /**
   * A batch of the task's partition of the internal topic. False: the batch was not taken (fetched
   * before a seek took effect, or the task is starting), so the consumer must not move past it.
   */
  async internal(messages: readonly KafkaMessage[], fetchedOffset: string): Promise<boolean> {
    if (this.phase === 'starting') return false;
    if (this.awaitFetchFrom !== undefined) {
      if (fetchedOffset !== this.awaitFetchFrom) {
        // Fetched before the seek took effect, or the seek was dropped by a rebalance in between
        // (kafkajs then fetches from the committed offset): ask again, or the task never restores.
        this.ctx.seek(this.task, this.awaitFetchFrom);
        return false;
      }
      this.awaitFetchFrom = undefined;
    }
    // A restore that makes progress is not stuck, however long the partition (the watchdog in tick).
    if (this.phase === 'restoring') this.restoringSince = Date.now();
    const send = (record: Exclude<TaskRecord, ProgressRecord>) => this.send(record);
    const discard = () => undefined;
    const before = { accepted: [...this.state.stats.accepted], duplicates: [...this.state.stats.duplicates] };
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < this.internalNext || !message.value) continue;
      const replay = offset < this.restoreUntil;
      readFrame(message.value, (record) => {
        if (record.kind === 'P' && record.source === BARRIER) {
          if (record.partition === this.barrier && this.phase === 'restoring') this.becomeReady();
          return;
        }
        this.state.apply(record, replay ? discard : send);
        if (!replay) this.unstored.note(record);
      });
      this.internalNext = offset + 1n;
      if (!replay) this.offset(this.ctx.settings.topic, this.task, this.internalNext);
    }
    SOURCE_NAMES.forEach((source, i) => {
      this.ctx.metrics.records.inc({ source, outcome: 'accepted' }, this.state.stats.accepted[i]! - before.accepted[i]!);
      this.ctx.metrics.records.inc({ source, outcome: 'duplicate' }, this.state.stats.duplicates[i]! - before.duplicates[i]!);
    });
    await this.maybeCommit();
    return true;
  }

  private becomeReady(): void {
    this.phase = 'ready';
    // The task rewrites its whole view once it is ready: the previous owner may have committed
    // more than it wrote to HBase, and a restore that rewrote only the campaign-hours its replay
    // touched left stale cells in the fault tests (decision 0051). O(campaign-hours), once per start.
    this.state.markAllDirty();
    for (const key of this.state.takeDirty()) this.viewBehind.add(key);
    this.statsBehind = true;
    this.ctx.log.info({ task: this.task, liveIds: this.state.liveIds }, 'task ready');
    this.ctx.onReady(this.task);
  }

  /** A batch of one source partition the task reads. */
  async source(source: SourceName, topic: string, partition: number, messages: readonly KafkaMessage[]): Promise<void> {
    if (!this.ready || messages.length === 0) return;
    const { metrics, decoders, settings } = this.ctx;
    const inMessages: InMessage[] = messages.map((m) => ({ partition, offset: m.offset, timestamp: m.timestamp, value: m.value }));
    const items = await this.decodeGuarded(decoders[source] as Decode, topic, inMessages);
    const key = `${SOURCE_INDEX[source]}:${partition}`;
    const skip = Math.max(this.state.appliedThrough.get(key) ?? -1, this.routed.get(key) ?? -1);
    const lastOffset = Number(messages[messages.length - 1]!.offset);
    const routed = routeBatch(source, partition, items, lastOffset, skip < 0 ? undefined : skip, settings.taskCount, (task, record) => this.write(task, record));
    for (const item of routed.invalid) {
      this.deadLetters.push({ key: `${topic}/${item.ref.partition}/${item.ref.offset}`, value: item.raw, headers: deadLetterHeaders(source, topic, item) });
      metrics.deadLetters.inc({ source, reason: item.reason.slice(0, 64) });
    }
    if (lastOffset > skip) this.write(this.task, routed.progress);
    this.routed.set(key, Math.max(skip, lastOffset));
    this.poison.forget(topic, partition, lastOffset);
    const poisoned = routed.invalid.filter((item) => item.errorCode !== undefined);
    for (const item of poisoned) metrics.processingFailed.inc({ source, code: item.errorCode! });
    this.offset(topic, partition, BigInt(lastOffset) + 1n);
    metrics.records.inc({ source, outcome: 'in' }, items.length);
    if (routed.routed) metrics.lastReadSeconds.set({ source }, Date.now() / 1000);
    metrics.records.inc({ source, outcome: 'invalid' }, routed.invalid.length);
    await this.maybeCommit();
  }

  /**
   * Decodes a batch; when that throws a non-retriable error, message by message, to find the one
   * that fails: its failure is counted and thrown (the task starts over and tries again) until it
   * has failed the same way `poisonAttempts` times, then it is a dead letter, `processing.failed`.
   * A retriable error is always thrown and never counted: an outage waits, it never skips.
   */
  private async decodeGuarded(decode: Decode, topic: string, messages: InMessage[]): Promise<Item<RecordOf[SourceName]>[]> {
    const now = Date.now();
    if (!messages.some((m) => this.poison.poisoned(topic, m) !== undefined)) {
      try {
        return await decode(messages, now);
      } catch (error) {
        if (isRetriable(error)) throw error;
      }
    }
    const items: Item<RecordOf[SourceName]>[] = [];
    for (const message of messages) {
      const code = this.poison.poisoned(topic, message);
      if (code !== undefined) {
        items.push(PoisonGuard.deadLetter(message, code));
        continue;
      }
      try {
        items.push(...(await decode([message], now)));
      } catch (error) {
        if (isRetriable(error)) throw error;
        const failure = errorCode(error);
        if (!this.poison.fail(topic, message, failure)) throw error;
        this.ctx.log.error({ err: error, task: this.task, topic, partition: message.partition, offset: message.offset, code: failure }, `a record failed ${this.poison.attempts} times the same way; it goes to the dead letters (processing.failed)`);
        items.push(PoisonGuard.deadLetter(message, failure));
      }
    }
    return items;
  }

  private send(record: Exclude<TaskRecord, ProgressRecord>): void {
    this.write(taskOf(routingKey(record), this.ctx.settings.taskCount), record);
  }

  private write(partition: number, record: TaskRecord): void {
    let frame = this.frames.get(partition);
    if (!frame) this.frames.set(partition, (frame = new FrameWriter()));
    frame.write(record);
    this.pendingRecords++;
    if (frame.size >= FRAME_LIMIT) this.readyFrames.push({ partition, value: frame.take() });
  }

  private offset(topic: string, partition: number, next: bigint): void {
    let partitions = this.offsets.get(topic);
    if (!partitions) this.offsets.set(topic, (partitions = new Map()));
    partitions.set(partition, next);
  }

  // ---- output ---------------------------------------------------------------------------------------

  /**
   * The task's clock: commits when due, and starts the task over when its restore has not reached
   * its barrier for too long (a seek lost to a rebalance, a fetch that never came): a stuck restore
   * would otherwise keep its source partitions paused for good.
   */
  private async tick(): Promise<void> {
    if (this.phase === 'restoring' && !this.stopping && Date.now() - this.restoringSince > RESTORE_WATCHDOG_MS) {
      throw new Error(`task ${this.task} restored nothing for ${RESTORE_WATCHDOG_MS} ms and has not read back its barrier`);
    }
    await this.maybeCommit();
  }

  async maybeCommit(): Promise<void> {
    if (this.phase === 'starting') return;
    const due = Date.now() - this.lastCommitMs >= this.ctx.settings.commitIntervalMs;
    if (due || this.readyFrames.length >= 8) await this.commit();
  }

  /**
   * Cuts what the task gathered since the last cut and publishes it in the background while the
   * task goes on reading (decision 0147); the next cut waits for this one, so one transaction is
   * open at a time. The cut is consistent: the state has applied exactly the internal records below
   * `internalNext`, and every record their application sent is in the cut's frames. The view is
   * written from a later state, which is harmless: the state only ever holds the effects of
   * committed internal records (read_committed), in their partition's order, so whatever owner
   * comes next reaches that same state again.
   */
  private async commit(): Promise<void> {
    await this.inflight;
    if (this.phase === 'starting' || !this.producer || this.failure !== undefined) return;
    this.lastCommitMs = Date.now();
    const hasWork = this.pendingRecords > 0 || this.deadLetters.length > 0 || this.offsets.size > 0;
    for (const [partition, frame] of this.frames) if (frame.count > 0) this.readyFrames.push({ partition, value: frame.take() });
    // The view's version is taken before the commit: an owner that starts after it sees a higher one.
    if (hasWork) this.version = Math.max(Date.now(), this.version + 1);
    const cut: Cut = { hasWork, frames: this.readyFrames, deadLetters: this.deadLetters, offsets: this.offsets, version: this.version };
    this.resetPending();
    // A change of counters alone (a duplicate, a waiting conversion) leaves no campaign-hour dirty:
    // the counters row is rewritten after any commit with work, and again after a failed write.
    if (hasWork) {
      this.statsBehind = true;
      this.changedSinceSnapshot = true;
    }
    if (this.phase === 'ready') {
      this.state.evict(this.ctx.settings.evictionGraceMs);
      cut.snapshot = this.cutSnapshot();
    }
    this.inflight = this.publish(cut)
      .catch((error: unknown) => {
        // The task's next piece of work starts it over (`run`): its state is ahead of Kafka.
        this.failure = error;
        if (cut.snapshot) this.ctx.snapshotSlot.give(this.task);
      })
      .finally(() => (this.inflight = undefined));
  }

  /** The cut's transaction, then the view, then the cut's snapshot when it has one. */
  private async publish(cut: Cut): Promise<void> {
    if (cut.hasWork) await this.commitTransaction(cut);
    if (this.phase !== 'ready') return;
    await this.writeView();
    if (cut.snapshot) this.writeSnapshot(cut.snapshot);
  }

  private async commitTransaction(cut: Cut): Promise<void> {
    const { config, settings } = this.ctx;
    const txn = await this.producer!.transaction();
    crashPoint('before-send');
    try {
      const topicMessages = [];
      if (cut.frames.length) topicMessages.push({ topic: settings.topic, messages: cut.frames });
      if (cut.deadLetters.length) topicMessages.push({ topic: config.deadLetterTopic, messages: cut.deadLetters });
      if (topicMessages.length) await txn.sendBatch({ topicMessages, acks: -1 });
      crashPoint('after-send');
      if (cut.offsets.size) await sendOffsetsWhenCoordinatorReady(txn, config.kafka.groupId, [...cut.offsets].map(([topic, partitions]) => ({ topic, partitions: [...partitions].map(([partition, offset]) => ({ partition, offset: String(offset) })) })));
      crashPoint('after-offsets');
      await txn.commit();
      this.failingSince = undefined;
      crashPoint('after-commit');
    } catch (error) {
      await txn.abort().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The campaign-hours changed since the last write, and the counters, from the state as it is now
   * (counters and sums from one moment: the counters row, written last, never gets ahead of them).
   * A failure is retried at the next commit: Kafka holds the state.
   */
  private async writeView(): Promise<void> {
    const { config, store, metrics } = this.ctx;
    for (const key of this.state.takeDirty()) this.viewBehind.add(key);
    if (this.viewBehind.size === 0 && !this.statsBehind) return;
    const keys = this.viewBehind;
    this.viewBehind = new Set();
    this.statsBehind = false;
    const stored = this.unstored.take();
    const timer = metrics.hbaseSeconds.startTimer({ source: 'task' });
    try {
      const { sums, stats } = viewPuts(this.task, this.state, keys, this.version, { saltBuckets: config.storage.saltBuckets, family: config.storage.families.aggregates });
      await putInBatches(store, sums);
      // The counters last: HBase is atomic per row only, so a task's counters never get ahead of
      // the sums they belong to (a crash between leaves the counters one flush behind).
      await store.putMany([stats]);
      const nowMs = Date.now();
      for (const source of stored) metrics.stored(source, nowMs);
      crashPoint('after-view');
    } catch (error) {
      for (const key of keys) this.viewBehind.add(key);
      this.statsBehind = true;
      this.unstored.merge(stored);
      metrics.retries.inc({ source: 'task', code: String((error as { code?: string }).code ?? (error as Error).name) });
      this.ctx.log.warn({ err: error, task: this.task }, 'writing the view to HBase failed; retrying at the next commit');
    } finally {
      timer();
    }
  }

  /**
   * The state encoded at a cut, when a snapshot is due, the state moved since the last, and no other
   * task of the engine is writing one. It is written only once the cut's transaction has committed:
   * its position is the cut's, so a restore from it neither loses nor repeats what the cut sent.
   */
  private cutSnapshot(): Cut['snapshot'] {
    const { snapshotIntervalMs } = this.ctx.settings;
    // 0 turns snapshots off: a restore then replays the task's whole internal partition.
    if (snapshotIntervalMs <= 0 || Date.now() - this.lastSnapshotMs < snapshotIntervalMs || !this.changedSinceSnapshot || this.snapshotWrite) return undefined;
    if (!this.ctx.snapshotSlot.take(this.task)) return undefined;
    this.lastSnapshotMs = Date.now();
    this.changedSinceSnapshot = false;
    const encodeStart = performance.now();
    const chunks = [...this.state.encodeChunks(SNAPSHOT_CHUNK_BYTES)];
    const encodeMs = Math.round(performance.now() - encodeStart);
    return { chunks, encodeMs, liveIds: this.state.liveIds, head: { generation: ++this.generation, position: String(this.internalNext), version: this.version } };
  }

  /**
   * Writes a snapshot while the task goes on: a snapshot is the task's largest write (tens of MB),
   * and writing it inline held every record of the task for its whole duration (the latency bench's
   * p99 at 500 ev/s was seconds). One encoded copy of one task at a time is the memory it costs,
   * less each piece once written; the next snapshot waits until this one is written.
   */
  private writeSnapshot({ chunks, head, liveIds, encodeMs }: NonNullable<Cut['snapshot']>): void {
    const { config, store, snapshotSlot } = this.ctx;
    const writeStart = Date.now();
    this.snapshotWrite = writeSnapshot(store, config.storage.families.aggregates, this.task, drain(chunks), head)
      .then(
        () => this.ctx.log.debug({ task: this.task, liveIds, encodeMs, writeMs: Date.now() - writeStart }, 'snapshot written'),
        (error: unknown) => this.ctx.log.warn({ err: error, task: this.task }, 'writing a snapshot failed; the next one will try again'),
      )
      .finally(() => {
        this.snapshotWrite = undefined;
        snapshotSlot.give(this.task);
      });
  }

  /** Live ids and the bytes of the typed arrays that hold them (for the bench and the metrics). */
  stateFootprint(): { liveIds: number; bytes: number } {
    return { liveIds: this.state.liveIds, bytes: this.state.tableBytes };
  }
}

/** The pieces in order, each let go once taken: a written piece is not kept until the last is. */
function* drain(chunks: Buffer[]): Generator<Buffer> {
  for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) yield chunk;
}

/**
 * Test hook for `kill -9` at each step of a commit: `ADPIPE_TASK_CRASH_AT=<step>:<n>` kills the
 * process the n-th time any task reaches that step. Unset in production.
 */
const CRASH_AT = /^([a-z-]+):(\d+)$/.exec(process.env.ADPIPE_TASK_CRASH_AT ?? '');
let crashCountdown = CRASH_AT ? Number(CRASH_AT[2]) : 0;
function crashPoint(step: 'before-send' | 'after-send' | 'after-offsets' | 'after-commit' | 'after-view'): void {
  if (!CRASH_AT || CRASH_AT[1] !== step || --crashCountdown > 0) return;
  process.kill(process.pid, 'SIGKILL');
}

