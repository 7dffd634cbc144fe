import type { InMessage, Invalid } from '../model.js';

/**
 * Poison records (issue 18, decision 0104): a message whose processing throws the same
 * non-retriable error `attempts` times is dead-lettered with reason `processing.failed` and the
 * error's code, so its partition moves on. Retriable errors are never counted here: an outage waits
 * (the task starts over) and never skips a record. The counts live beside the task's state, not in
 * it: they survive the task's restarts on this worker, which are what a poison record causes.
 */

export const PROCESSING_FAILED = 'processing.failed';

/** A stable, short code for an error: its own code, else its kafkajs type, else its class name. */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; type?: unknown; name?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.type === 'string' ? e.type : typeof e?.name === 'string' ? e.name : 'Error';
  return code.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64) || 'Error';
}

export class PoisonGuard {
  /** Per `topic/partition`, per offset: the last failure's code and how often it came in a row. */
  private readonly failures = new Map<string, Map<string, { code: string; count: number }>>();

  constructor(readonly attempts: number) {}

  /** The code of a message that has failed `attempts` times, else undefined. */
  poisoned(topic: string, message: InMessage): string | undefined {
    // Asked of every message of every batch: nothing to build a key for while nothing has failed.
    if (this.failures.size === 0) return undefined;
    const failure = this.failures.get(`${topic}/${message.partition}`)?.get(message.offset);
    return failure && failure.count >= this.attempts ? failure.code : undefined;
  }

  /** Counts one failure; true when the message is poisoned now (the same code `attempts` times). */
  fail(topic: string, message: InMessage, code: string): boolean {
    const key = `${topic}/${message.partition}`;
    let partition = this.failures.get(key);
    if (!partition) this.failures.set(key, (partition = new Map()));
    const previous = partition.get(message.offset);
    const count = previous && previous.code === code ? previous.count + 1 : 1;
    partition.set(message.offset, { code, count });
    return count >= this.attempts;
  }

  /** Once a partition has moved past its messages their counts are of no use. */
  forget(topic: string, partition: number, throughOffset: number): void {
    const offsets = this.failures.get(`${topic}/${partition}`);
    if (!offsets) return;
    for (const offset of offsets.keys()) if (Number(offset) <= throughOffset) offsets.delete(offset);
    if (offsets.size === 0) this.failures.delete(`${topic}/${partition}`);
  }

  static deadLetter(message: InMessage, code: string): Invalid {
    return { ok: false, reason: PROCESSING_FAILED, errorCode: code, raw: message.value ?? Buffer.alloc(0), ref: { partition: message.partition, offset: message.offset, index: 0, arrivalMs: Number(message.timestamp) } };
  }
}
