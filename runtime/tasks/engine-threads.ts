import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { RuntimeConfig } from '../../api/runtime-config.js';
import type { EngineMetrics, EngineThreadData, EngineToMain, MainToEngine } from './engine-thread-protocol.js';

/** A thread that does not answer a probe within this is counted as neither ready nor healthy. */
const ANSWER_TIMEOUT_MS = 2_000;

/**
 * The main thread's side of one engine thread (decision 0074): starts it, asks it for its probes
 * and metrics, and stops it at shutdown.
 */
export class EngineThread {
  /** Resolves once the thread's engine has joined the consumer group's subscription; rejects if it cannot start. */
  readonly started: Promise<void>;
  private readonly thread: Worker;
  private readonly waiting = new Map<number, (answer: EngineToMain) => void>();
  private nextId = 0;
  private stopped: (() => void) | undefined;
  private stopping = false;

  constructor(data: EngineThreadData, private readonly onFailure: (error: Error) => void, entry = new URL('./engine-thread.js', import.meta.url)) {
    this.thread = new Worker(entry, { workerData: data });
    this.started = new Promise((resolve, reject) => {
      this.thread.on('message', (message: EngineToMain) => {
        if (message.type === 'started') return resolve();
        if (message.type === 'start-failed') return reject(new Error(`engine thread ${data.index} failed to start: ${message.message}`));
        if (message.type === 'stopped') return this.stopped?.();
        const answer = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        answer?.(message);
      });
    });
    this.started.catch(() => undefined);
    this.thread.on('error', (error) => {
      if (!this.stopping) onFailure(error);
    });
    this.thread.once('exit', (code) => {
      if (!this.stopping) onFailure(new Error(`engine thread ${data.index} ended by itself (exit code ${code})`));
      this.stopped?.();
    });
  }

  private ask<T extends EngineToMain>(make: (id: number) => MainToEngine): Promise<T | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.thread.postMessage(make(id));
    });
  }

  async status(): Promise<{ ready: boolean; healthy: boolean }> {
    const answer = await this.ask<Extract<EngineToMain, { type: 'status' }>>((id) => ({ type: 'status', id }));
    return answer ?? { ready: false, healthy: false };
  }

  async metrics(): Promise<EngineMetrics> {
    const answer = await this.ask<Extract<EngineToMain, { type: 'metrics' }>>((id) => ({ type: 'metrics', id }));
    if (!answer) throw new Error('an engine thread did not answer for its metrics');
    return answer.metrics;
  }

  /** Commits the thread's tasks and leaves the group (as the main engine's stop), then ends the thread. */
  async stop(): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => {
      this.stopped = resolve;
      this.thread.postMessage({ type: 'stop' } satisfies MainToEngine);
    });
    await this.thread.terminate();
  }
}

/** How many engines a worker runs (the main thread's and the threads'): ADPIPE_ENGINE_THREADS, default 1. */
export function engineCountFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.ADPIPE_ENGINE_THREADS?.trim();
  if (!text) return 1;
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`ADPIPE_ENGINE_THREADS must be a whole number from 1 to 64, not '${text}'`);
  return count;
}

export function startEngineThreads(config: RuntimeConfig, log: Logger, count: number, onFailure: (error: Error) => void): EngineThread[] {
  return Array.from({ length: count }, (_, i) => new EngineThread({ config, log: { level: log.level, bindings: log.bindings() }, index: i + 1 }, onFailure));
}

/** The main engine's registry and every thread's, summed into one (counters, gauges and histograms add up). */
export async function aggregateMetrics(main: Registry, threads: readonly EngineThread[]): Promise<Registry> {
  if (threads.length === 0) return main;
  const all = await Promise.all([main.getMetricsAsJSON(), ...threads.map((thread) => thread.metrics())]);
  return AggregatorRegistry.aggregate(all as Parameters<typeof AggregatorRegistry.aggregate>[0]);
}
