import https from 'node:https';
import http from 'node:http';
import type * as k8s from '@kubernetes/client-node';

/**
 * A thin HTTP client for the Kubernetes API. client-node's KubeConfig supplies the credentials; the
 * requests are made here so that every call goes through one place: it is counted (the bench reports
 * API requests per pipeline), it can use any patch content type (server-side apply, merge patch on
 * /status) and watches stream line by line with bookmarks. Knows nothing of AdPipeline.
 */

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    ownerReferences?: OwnerReference[];
    creationTimestamp?: string;
  };
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** An API error with the HTTP status and the API server's Status reason/message. */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.name = 'KubeApiError';
  }
  get retriable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.status === 409;
export const isGone = (error: unknown): boolean => error instanceof KubeApiError && error.status === 410;

export const CONTENT = {
  json: 'application/json',
  merge: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** Describes where a kind lives in the API: `/apis/apps/v1/namespaces/{ns}/deployments`. */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  return type.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}` : `${base}/${type.plural}`;
}

export function objectPath(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${collectionPath(type, namespace)}/${encodeURIComponent(name)}`;
}

export interface RequestCounter {
  (verb: string, write: boolean): void;
}

export class KubeClient {
  private agent: https.Agent | http.Agent | undefined;
  private readonly server: URL;

  constructor(
    private readonly config: k8s.KubeConfig,
    private readonly onRequest: RequestCounter = () => undefined,
  ) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    this.server = new URL(cluster.server);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { method, headers: { accept: 'application/json', ...headers } };
    await this.config.applyToHTTPSOptions(opts);
    if (!this.agent) {
      // One keep-alive agent: hundreds of pipelines must not open hundreds of TLS sessions.
      this.agent =
        this.server.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 16, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername })
          : new http.Agent({ keepAlive: true, maxSockets: 16 });
    }
    const url = new URL(path, this.server);
    return { ...opts, agent: this.agent, hostname: url.hostname, port: url.port, path: url.pathname + url.search, protocol: url.protocol };
  }

  async request<T>(method: string, path: string, body?: unknown, contentType: string = CONTENT.json, accept?: string): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {};
    if (accept) headers['accept'] = accept;
    const opts = await this.options(method, path, headers);
    this.onRequest(method, method !== 'GET');
    const transport = this.server.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(new KubeApiError(method, path, 0, 'ConnectionError', error.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            try {
              resolve((text ? JSON.parse(text) : undefined) as T);
            } catch (error) {
              reject(new KubeApiError(method, path, status, 'BadJSON', (error as Error).message));
            }
            return;
          }
          let reason = http.STATUS_CODES[status] ?? 'Error';
          let message = text.slice(0, 2000);
          try {
            const parsed = JSON.parse(text) as { reason?: string; message?: string };
            reason = parsed.reason ?? reason;
            message = parsed.message ?? message;
          } catch {
            /* not a Status object */
          }
          reject(new KubeApiError(method, path, status, reason, message));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
      req.on('error', (error) => reject(new KubeApiError(method, path, 0, 'ConnectionError', error.message)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', objectPath(type, namespace, name));
  }

  /**
   * Only the object's metadata (a PartialObjectMetadata), or undefined when it does not exist: its
   * labels can be checked without its contents ever leaving the API server (a Secret's data).
   */
  async findMetadata(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.request<KubeObject>('GET', objectPath(type, namespace, name), undefined, CONTENT.json, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The object, or undefined when it does not exist. */
  async find<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(type: ResourceType, namespace: string | undefined, query: Record<string, string | undefined> = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', withQuery(collectionPath(type, namespace), query));
  }

  create<T extends KubeObject>(type: ResourceType, namespace: string | undefined, body: T): Promise<T> {
    return this.request<T>('POST', collectionPath(type, namespace), body);
  }

  /** Server-side apply: the body is the whole intent of `fieldManager`; force takes contested fields. */
  apply<T extends KubeObject>(type: ResourceType, body: T, fieldManager: string): Promise<T> {
    const path = withQuery(objectPath(type, body.metadata?.namespace, body.metadata?.name ?? ''), { fieldManager, force: 'true' });
    return this.request<T>('PATCH', path, body, CONTENT.apply);
  }

  patch<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, body: unknown, contentType: string, subresource?: string): Promise<T> {
    const path = objectPath(type, namespace, name) + (subresource ? `/${subresource}` : '');
    return this.request<T>('PATCH', path, body, contentType);
  }

  replace<T extends KubeObject>(type: ResourceType, body: T): Promise<T> {
    return this.request<T>('PUT', objectPath(type, body.metadata?.namespace, body.metadata?.name ?? ''), body);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): Promise<unknown> {
    return this.request('DELETE', objectPath(type, namespace, name));
  }

  /**
   * Opens a watch and calls `onEvent` per line. Resolves when the stream ends (server timeout,
   * network error or `abort`); rejects with a KubeApiError when the server refuses the watch.
   */
  async watch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    query: Record<string, string | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const path = withQuery(collectionPath(type, namespace), { ...query, watch: 'true' });
    const opts = await this.options('GET', path, {});
    this.onRequest('WATCH', false);
    const transport = this.server.protocol === 'https:' ? https : http;
    await new Promise<void>((resolve, reject) => {
      // A watch holds its connection for minutes; it gets its own socket, not one of the pool's.
      const req = transport.request({ ...opts, agent: false, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let reason = http.STATUS_CODES[status] ?? 'Error';
            try {
              reason = (JSON.parse(text) as { reason?: string }).reason ?? reason;
            } catch {
              /* not a Status */
            }
            reject(new KubeApiError('WATCH', path, status, reason, text.slice(0, 500)));
          });
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch {
              continue;
            }
            onEvent(event);
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
        res.on('aborted', () => resolve());
      });
      req.on('error', (error) => {
        if (signal.aborted) resolve();
        else reject(new KubeApiError('WATCH', path, 0, 'ConnectionError', error.message));
      });
      req.end();
    });
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
