import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../metrics.js';

/**
 * Consumer lag from the broker, on a timer: high watermark minus the group's committed offset for
 * every partition this worker owns, whatever its batches do. It keeps growing while processing is
 * stuck (a lag set from batches freezes exactly then), and the series of partitions the worker no
 * longer owns are removed, so a sum over workers counts each partition once.
 */

export type Assignment = Record<string, number[]>;
export interface PartitionOffsets {
  partition: number;
  offset: string;
}

export interface Watermarks {
  partition: number;
  high: string;
  low: string;
}

/** Lag per owned partition (key `topic:partition`). A partition without a committed offset lags from its low watermark. */
export function partitionLags(owned: Assignment, highs: Map<string, Watermarks[]>, committed: Map<string, PartitionOffsets[]>): Map<string, { topic: string; partition: number; lag: number }> {
  const lags = new Map<string, { topic: string; partition: number; lag: number }>();
  for (const [topic, partitions] of Object.entries(owned)) {
    const watermarks = highs.get(topic);
    if (!watermarks) continue;
    for (const partition of partitions) {
      const marks = watermarks.find((p) => p.partition === partition);
      if (!marks) continue;
      const at = committed.get(topic)?.find((p) => p.partition === partition)?.offset ?? '-1';
      const from = Number(at) < 0 ? Number(marks.low) : Number(at);
      lags.set(`${topic}:${partition}`, { topic, partition, lag: Math.max(0, Number(marks.high) - from) });
    }
  }
  return lags;
}

export class LagProbe {
  private timer: NodeJS.Timeout | undefined;
  private reported = new Set<string>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: { admin: Admin; groupId: string; metrics: WorkerMetrics; log: Logger; owned: () => Assignment; intervalMs: number; internalTopic: string },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One measurement; a failure (broker unreachable) keeps the last figures and is logged once per probe. */
  probe(): Promise<void> {
    this.running ??= this.measure()
      .catch((error: unknown) => this.options.log.debug({ err: error }, 'measuring consumer lag failed; keeping the last figures'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async measure(): Promise<void> {
    const { admin, groupId, metrics } = this.options;
    const owned = this.options.owned();
    const topics = Object.keys(owned).filter((topic) => owned[topic]!.length > 0);
    const highs = new Map<string, Watermarks[]>();
    const committed = new Map<string, PartitionOffsets[]>();
    if (topics.length) {
      for (const topic of topics) highs.set(topic, await admin.fetchTopicOffsets(topic));
      for (const entry of await admin.fetchOffsets({ groupId, topics })) committed.set(entry.topic, entry.partitions);
    }
    const lags = partitionLags(owned, highs, committed);
    const kind = (topic: string) => (topic === this.options.internalTopic ? 'internal' : 'source');
    for (const key of this.reported) {
      if (lags.has(key)) continue;
      const at = key.lastIndexOf(':');
      const topic = key.slice(0, at);
      metrics.lag.remove({ topic, partition: key.slice(at + 1), kind: kind(topic) });
    }
    for (const { topic, partition, lag } of lags.values()) metrics.lag.set({ topic, partition: String(partition), kind: kind(topic) }, lag);
    this.reported = new Set(lags.keys());
  }
}
