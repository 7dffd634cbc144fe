import { isGone, KubeApiError, type KubeClient, type KubeObject, type ResourceType, type WatchEvent } from './kube.js';

/**
 * List, then watch from the list's resourceVersion, keeping a cache of the objects. When a watch
 * ends (the server closes it every few minutes) it resumes from the last resourceVersion seen,
 * which bookmarks keep fresh even when nothing changes; when that version is too old (410 Gone) it
 * lists again and replays the difference as add/update/delete, so no change is ever lost.
 */

export interface InformerHandlers<T extends KubeObject> {
  add?(object: T): void;
  update?(previous: T, current: T): void;
  delete?(object: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Server-side watch timeout; the informer resumes after it. */
  watchTimeoutSeconds?: number;
  /** Backoff between failed list/watch attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?(error: unknown): void;
  /** Called after every successful list (the first sync and each relist). */
  onListed?(): void;
}

export const keyOf = (object: KubeObject): string => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion: string | undefined;
  private abort = new AbortController();
  private running = false;
  private loop: Promise<void> | undefined;
  private syncedResolve: (() => void) | undefined;
  readonly synced: Promise<void>;
  /** Counters a test or metric can read: lists made, watches opened, 410s seen, bookmarks. */
  readonly stats = { lists: 0, watches: 0, gone: 0, bookmarks: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly handlers: InformerHandlers<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get lastResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  /**
   * Makes the next watch resume from `resourceVersion` (tests use an ancient one to see the 410 →
   * relist path without waiting for etcd compaction).
   */
  resumeFrom(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = this.options.minBackoffMs ?? 200;
    while (this.running) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        const opened = Date.now();
        await this.watchOnce();
        if (Date.now() - opened < 1000) {
          // A watch the server ends at once (an overloaded or restarting API server) is retried
          // with backoff, not in a tight loop.
          await sleep(backoff, this.abort.signal);
          backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
        } else {
          backoff = this.options.minBackoffMs ?? 200;
        }
      } catch (error) {
        if (!this.running) break;
        if (isGone(error)) {
          this.stats.gone++;
          this.resourceVersion = undefined;
          continue;
        }
        this.options.onError?.(error);
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 10_000);
      }
    }
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let listVersion: string | undefined;
    do {
      const page = await this.client.list<T>(this.type, this.options.namespace, { labelSelector: this.options.labelSelector, limit: '500', continue: continueToken });
      for (const item of page.items) {
        // List items carry no apiVersion/kind; the handlers deserve whole objects.
        const object = { apiVersion: this.type.apiVersion, kind: this.type.kind, ...item } as T;
        const key = keyOf(object);
        seen.add(key);
        this.upsert(key, object);
      }
      continueToken = page.metadata.continue || undefined;
      listVersion = page.metadata.resourceVersion;
    } while (continueToken);
    for (const [key, object] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handlers.delete?.(object);
      }
    }
    this.resourceVersion = listVersion;
    this.syncedResolve?.();
    this.options.onListed?.();
  }

  private upsert(key: string, object: T): void {
    const previous = this.cache.get(key);
    this.cache.set(key, object);
    if (!previous) this.handlers.add?.(object);
    else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) this.handlers.update?.(previous, object);
  }

  private async watchOnce(): Promise<void> {
    this.stats.watches++;
    let failure: unknown;
    await this.client.watch<T>(
      this.type,
      this.options.namespace,
      {
        labelSelector: this.options.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.options.watchTimeoutSeconds ?? 300),
      },
      (event: WatchEvent<T>) => {
        if (failure) return;
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number; reason?: string; message?: string };
          failure = new KubeApiError('WATCH', this.type.plural, status.code ?? 0, status.reason ?? 'Error', status.message ?? '');
          return;
        }
        const version = event.object.metadata?.resourceVersion;
        if (event.type === 'BOOKMARK') {
          this.stats.bookmarks++;
          if (version) this.resourceVersion = version;
          return;
        }
        const object = { apiVersion: this.type.apiVersion, kind: this.type.kind, ...event.object } as T;
        const key = keyOf(object);
        if (event.type === 'DELETED') {
          const previous = this.cache.get(key);
          this.cache.delete(key);
          this.handlers.delete?.(previous ?? object);
        } else {
          this.upsert(key, object);
        }
        if (version) this.resourceVersion = version;
      },
      this.abort.signal,
    );
    if (failure) throw failure;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
