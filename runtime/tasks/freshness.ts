import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import type { TaskRecord } from './records.js';

/**
 * What the records a task applied since its last write to HBase carry, per source: the newest event
 * time and the oldest Kafka timestamp. Taken when a write succeeds, it becomes the freshness
 * metrics (newest event stored, time of the last write that stored records, delay). Only a source's
 * own record kinds count (B, I, C, V), not the records they cause at other tasks.
 */
export interface Stored {
  source: SourceName;
  /** Newest event time (ms); undefined for bid requests, which carry none into the task. */
  newestEventMs: number | undefined;
  oldestArrivalMs: number;
}

const INDEX_OF_KIND: Partial<Record<TaskRecord['kind'], number>> = { B: 0, I: 1, C: 2, V: 3 };

export class PendingFreshness {
  private readonly newestEventMs = [-Infinity, -Infinity, -Infinity, -Infinity];
  private readonly oldestArrivalMs = [Infinity, Infinity, Infinity, Infinity];

  note(record: TaskRecord): void {
    const i = INDEX_OF_KIND[record.kind];
    if (i === undefined) return;
    const r = record as { ts?: number; arrivalMs: number };
    if (r.ts !== undefined && r.ts > this.newestEventMs[i]!) this.newestEventMs[i] = r.ts;
    if (r.arrivalMs < this.oldestArrivalMs[i]!) this.oldestArrivalMs[i] = r.arrivalMs;
  }

  /** The sources with records since the last `take` (or `clear`), and forgets them. */
  take(): Stored[] {
    const stored: Stored[] = [];
    SOURCE_NAMES.forEach((source, i) => {
      if (this.oldestArrivalMs[i] === Infinity) return;
      stored.push({ source, newestEventMs: this.newestEventMs[i] === -Infinity ? undefined : this.newestEventMs[i], oldestArrivalMs: this.oldestArrivalMs[i]! });
    });
    this.clear();
    return stored;
  }

  /** Puts back what a failed write had taken. */
  merge(stored: readonly Stored[]): void {
    for (const { source, newestEventMs, oldestArrivalMs } of stored) {
      const i = SOURCE_NAMES.indexOf(source);
      if (newestEventMs !== undefined && newestEventMs > this.newestEventMs[i]!) this.newestEventMs[i] = newestEventMs;
      if (oldestArrivalMs < this.oldestArrivalMs[i]!) this.oldestArrivalMs[i] = oldestArrivalMs;
    }
  }

  clear(): void {
    this.newestEventMs.fill(-Infinity);
    this.oldestArrivalMs.fill(Infinity);
  }
}
