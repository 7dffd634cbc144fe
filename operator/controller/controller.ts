import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { WorkQueue, type QueueOptions } from './queue.js';

/**
 * Runs a key-only, level-based reconcile function over a work queue (controller-runtime's
 * `reconcileHandler`). A result has four outcomes, each one metric label:
 * error → rate-limited re-add; requeueAfter → delayed add and forget the backoff; requeue →
 * rate-limited re-add without an error; success → forget. A terminal error (an invalid spec that no
 * retry will fix) is counted and not retried: the next change to the object enqueues it again.
 */

export interface ReconcileResult {
  requeueAfterMs?: number;
  requeue?: boolean;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export class TerminalError extends Error {
  readonly retriable = false;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}

export interface ControllerMetrics {
  reconciles: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  duration: Histogram<'controller'>;
  depth: Gauge<'controller'>;
}

export function controllerMetrics(registry: Registry): ControllerMetrics {
  const reconciles = new Counter({ name: 'adpipe_operator_reconcile_total', help: 'Reconciles by outcome (success, error, requeue, requeue_after, terminal)', labelNames: ['controller', 'result'], registers: [registry] });
  const errors = new Counter({ name: 'adpipe_operator_reconcile_errors_total', help: 'Reconciles that failed', labelNames: ['controller'], registers: [registry] });
  const duration = new Histogram({ name: 'adpipe_operator_reconcile_duration_seconds', help: 'Reconcile duration', labelNames: ['controller'], buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] });
  const depth = new Gauge({ name: 'adpipe_operator_workqueue_depth', help: 'Keys ready in the work queue', labelNames: ['controller'], registers: [registry] });
  return { reconciles, errors, duration, depth };
}

export interface ControllerOptions {
  name: string;
  workers?: number;
  queue?: QueueOptions;
  metrics?: ControllerMetrics;
  onError?(key: string, error: unknown): void;
}

export class Controller {
  readonly queue: WorkQueue;
  private loops: Promise<void>[] = [];
  private inFlight = 0;

  constructor(
    private readonly reconcile: Reconcile,
    private readonly options: ControllerOptions,
  ) {
    this.queue = new WorkQueue(options.queue);
  }

  enqueue(key: string): void {
    this.queue.add(key);
    this.options.metrics?.depth.set({ controller: this.options.name }, this.queue.depth);
  }

  start(): void {
    const workers = this.options.workers ?? 16;
    for (let i = 0; i < workers; i++) this.loops.push(this.work());
  }

  /** Stops taking keys and waits for the reconciles in flight (graceful shutdown). */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.loops);
    this.loops = [];
  }

  get busy(): number {
    return this.inFlight;
  }

  private async work(): Promise<void> {
    const labels = { controller: this.options.name };
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.options.metrics?.depth.set(labels, this.queue.depth);
      this.inFlight++;
      const end = this.options.metrics?.duration.startTimer(labels);
      try {
        const result = (await this.reconcile(key)) ?? {};
        if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
          this.queue.forget(key);
          this.queue.addAfter(key, result.requeueAfterMs);
          this.options.metrics?.reconciles.inc({ ...labels, result: 'requeue_after' });
        } else if (result.requeue) {
          this.queue.addRateLimited(key);
          this.options.metrics?.reconciles.inc({ ...labels, result: 'requeue' });
        } else {
          this.queue.forget(key);
          this.options.metrics?.reconciles.inc({ ...labels, result: 'success' });
        }
      } catch (error) {
        this.options.metrics?.errors.inc(labels);
        this.options.onError?.(key, error);
        if (error instanceof TerminalError) {
          this.queue.forget(key);
          this.options.metrics?.reconciles.inc({ ...labels, result: 'terminal' });
        } else {
          this.queue.addRateLimited(key);
          this.options.metrics?.reconciles.inc({ ...labels, result: 'error' });
        }
      } finally {
        end?.();
        this.inFlight--;
        this.queue.done(key);
      }
    }
  }
}
