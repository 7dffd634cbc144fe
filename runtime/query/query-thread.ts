import type { Logger } from 'pino';
import { Worker } from 'node:worker_threads';
import { answerMainRoute, type MainState } from './main-routes.js';
import type { MainRoute } from './reply.js';
import { toWire, type MainToThread, type QueryThreadData, type ThreadToMain } from './thread-protocol.js';

export interface QueryThreadOptions {
  data: QueryThreadData;
  /** What `/healthz`, `/readyz` and `/metrics` report, read on this (the main) thread. */
  state: MainState;
  log: Logger;
  /** The thread ended or failed without `close()`: the worker has no HTTP surface left. */
  onFailure: (error: Error) => void;
  /** The compiled thread entry; tests that run the TypeScript sources point it at dist/. */
  entry?: URL;
}

/**
 * The main thread's side of the query thread (decision 0069): starts it, answers its questions
 * about the main thread's state, and closes it on shutdown.
 */
export class QueryThread {
  /** The port the HTTP server listens on, once it does. */
  readonly listening: Promise<number>;
  private readonly thread: Worker;
  private readonly exited: Promise<void>;
  private closing = false;
  private failed = false;

  constructor(private readonly options: QueryThreadOptions) {
    this.thread = new Worker(options.entry ?? new URL('./thread.js', import.meta.url), { workerData: options.data });
    this.listening = new Promise((resolve, reject) => {
      this.thread.on('message', (message: ThreadToMain) => {
        if (message.type === 'listening') resolve(message.port);
        else void this.answer(message.id, message.route);
      });
      this.thread.once('error', reject);
    });
    // Observed here so a failed start is reported once, through onFailure, never as an unhandled rejection.
    this.listening.catch(() => undefined);
    this.thread.on('error', (error) => this.fail(error));
    this.exited = new Promise((resolve) => {
      this.thread.once('exit', (code) => {
        this.fail(new Error(`the query thread ended by itself (exit code ${code})`));
        resolve();
      });
    });
  }

  /** Once: an uncaught error in the thread is followed by its exit. */
  private fail(error: Error): void {
    if (this.closing || this.failed) return;
    this.failed = true;
    this.options.onFailure(error);
  }

  private async answer(id: number, route: MainRoute): Promise<void> {
    const message: MainToThread = await answerMainRoute(this.options.state, route).then(
      (reply) => ({ type: 'answer', id, reply }),
      (error: unknown) => ({ type: 'failed', id, error: toWire(error) }),
    );
    this.thread.postMessage(message);
  }

  /**
   * Asks the thread to stop serving and waits until it has ended; after `graceMs` (a request still
   * waiting for HBase) it is terminated, as the single-threaded worker dropped requests in hand at exit.
   */
  async close(graceMs = 5_000): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    this.thread.postMessage({ type: 'close' } satisfies MainToThread);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([this.exited, late])) === 'late') {
      this.options.log.warn({ graceMs }, 'query thread still busy at shutdown: terminated');
      await this.thread.terminate();
    }
    clearTimeout(timer);
  }
}
