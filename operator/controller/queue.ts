/**
 * The one work queue of a controller (controller-runtime's semantics): a key is queued at most once,
 * never handed to two workers at once (a key added while it is processed is processed again after
 * `done`), and failures back off per key exponentially until `forget`. Delayed adds are kept in a
 * timer map keyed by item, so a key waiting for its backoff is not also waiting in the queue twice.
 */

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: { cancel(): void } }>();
  private readonly getters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => { cancel(): void };

  constructor(options: QueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.setTimer =
      options.setTimer ??
      ((fn, ms) => {
        const timer = setTimeout(fn, ms);
        timer.unref?.();
        return { cancel: () => clearTimeout(timer) };
      });
  }

  /** Keys ready to be processed (the depth metric). */
  get depth(): number {
    return this.queue.length;
  }

  /** Keys waiting for a delay or a backoff. */
  get delayed(): number {
    return this.waiting.size;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    const waiting = this.waiting.get(key);
    if (waiting) {
      waiting.timer.cancel();
      this.waiting.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const getter = this.getters.shift();
    if (getter) {
      this.queued.delete(key);
      this.processing.add(key);
      getter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds the key after `ms`; an earlier pending add for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.setTimer(() => {
      if (this.waiting.get(key)?.timer !== timer) return;
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  /** The next backoff of this key: base · 2^failures, capped. */
  backoffOf(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    return Math.min(this.baseDelayMs * 2 ** failures, this.maxDelayMs);
  }

  addRateLimited(key: string): number {
    const delay = this.backoffOf(key);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resolves with the next key, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) timer.cancel();
    this.waiting.clear();
    for (const getter of this.getters.splice(0)) getter(undefined);
  }
}
