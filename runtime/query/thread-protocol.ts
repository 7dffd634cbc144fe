import type { RuntimeConfig } from '../../api/runtime-config.js';
import { isRetriable } from '../errors.js';
import type { QuerySettings } from './performance.js';
import type { HttpReply, MainRoute } from './reply.js';

/**
 * What the main thread and the query thread say to each other (decision 0069). Plain data only:
 * every message crosses a MessagePort by structured clone.
 */

/** The query thread's `workerData`: enough to open its own HBase client and serve. */
export interface QueryThreadData {
  /** 0: any free port (tests). */
  port: number;
  hbase: RuntimeConfig['hbase'];
  settings: QuerySettings;
  /** Set: callers are reviewed by the API server for `get adpipelines/query` on this pipeline. */
  auth?: {
    pipeline: { namespace: string; name: string };
    reviewCacheMs: number;
    /** The kubeconfig of the worker's own identity; unset: KUBECONFIG, else the in-cluster token (a Pod). */
    kubeconfig?: string;
  };
  /** Set: HTTPS only, with the certificate and key read from these files at start. */
  tls?: { certFile: string; keyFile: string };
  /** The main thread's pino level and bindings, so both threads' lines carry the same fields. */
  log: { level: string; bindings: Record<string, unknown> };
}

export type ThreadToMain =
  | { type: 'listening'; port: number }
  /** A `/healthz`, `/readyz` or `/metrics` request, answered by `answer` or `failed` with the same id. */
  | { type: 'ask'; id: number; route: MainRoute };

export type MainToThread = { type: 'answer'; id: number; reply: HttpReply } | { type: 'failed'; id: number; error: WireError } | { type: 'close' };

/** An error across the port: structured clone keeps an Error's message but drops `code` and `retriable`, which the HTTP status depends on. */
export interface WireError {
  message: string;
  code?: string;
  retriable: boolean;
}

export function toWire(error: unknown): WireError {
  const code = (error as { code?: unknown } | null)?.code;
  return { message: error instanceof Error ? error.message : String(error), ...(typeof code === 'string' ? { code } : {}), retriable: isRetriable(error) };
}

export function fromWire(wire: WireError): Error {
  return Object.assign(new Error(wire.message), { code: wire.code, retriable: wire.retriable });
}
