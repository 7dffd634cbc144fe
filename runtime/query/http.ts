import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { listCampaigns } from './campaigns.js';
import { RuntimeError, isRetriable } from '../errors.js';
import type { Store } from '../storage/store.js';
import type { QueryAuthorizer } from './auth.js';
import { campaignPerformance, performanceQuery, pipelineStats, type QuerySettings } from './performance.js';
import { isMainRoute, jsonReply, type HttpReply, type MainRoute } from './reply.js';

export interface HttpDependencies {
  store: Store;
  settings: QuerySettings;
  log: Logger;
  /**
   * `/healthz`, `/readyz` and `/metrics`: answered by the thread that runs the tasks
   * (main-routes.ts), reached over a MessagePort when this server runs on the query thread.
   */
  mainRoute: (route: MainRoute) => Promise<HttpReply>;
  /** Set: every route but the probes and `/metrics` needs a bearer token allowed to query this pipeline (decision 0120). */
  authorizer?: QueryAuthorizer;
  /** Set: HTTPS only, with this certificate (PEM); a plain HTTP request gets no answer. */
  tls?: { cert: string; key: string };
}

function send(response: http.ServerResponse, reply: HttpReply, headers: Record<string, string> = {}): void {
  response.writeHead(reply.status, { ...headers, 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) });
  response.end(reply.body);
}

/**
 * The worker's HTTP surface: the query API of contract §3, Prometheus metrics, and the probes.
 * Runs on the query thread (decision 0069); the query routes read HBase from here, the rest ask
 * the main thread.
 */
export function createHttpServer(deps: HttpDependencies): http.Server | https.Server {
  const listener = (request: http.IncomingMessage, response: http.ServerResponse) => {
    void handle(deps, request, response).catch((error: unknown) => send(response, errorReply(deps.log, request, error)));
  };
  return deps.tls ? https.createServer({ cert: deps.tls.cert, key: deps.tls.key, minVersion: 'TLSv1.2' }, listener) : http.createServer(listener);
}

/** The caller's own mistakes name themselves. */
const CALLER_ERRORS = new Set(['QUERY_ARGUMENT', 'QUERY_RANGE']);

/**
 * A failed request's answer. A caller's mistake (400) says what is wrong; anything else says only
 * whether to retry, with a request id that finds the full error in the worker's log: internal
 * messages (table names, hosts, stack details) are not the caller's business.
 */
export function errorReply(log: Logger, request: http.IncomingMessage, error: unknown): HttpReply {
  if (error instanceof RuntimeError && CALLER_ERRORS.has(error.code)) return jsonReply(400, { error: { code: error.code, message: error.message } });
  const requestId = randomUUID();
  log.error({ err: error, url: request.url, requestId }, 'request failed');
  if (error instanceof RuntimeError && error.code === 'REVIEW_UNAVAILABLE') {
    return jsonReply(503, { error: { code: 'UNAVAILABLE', message: 'the Kubernetes API server could not review the caller right now; retry', request_id: requestId } });
  }
  if (isRetriable(error)) return jsonReply(503, { error: { code: 'UNAVAILABLE', message: 'storage is not reachable right now; retry', request_id: requestId } });
  return jsonReply(500, { error: { code: 'INTERNAL', message: 'the query failed; the worker log has the details under this request id', request_id: requestId } });
}

async function handle(deps: HttpDependencies, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://worker');
  if (request.method !== 'GET') return send(response, jsonReply(405, { error: { code: 'METHOD', message: 'only GET is served' } }));
  // Probes and metrics stay open: kubelets and Prometheus carry no user token, and neither answer holds campaign data.
  if (isMainRoute(url.pathname)) return send(response, await deps.mainRoute(url.pathname));
  if (deps.authorizer) {
    const decision = await deps.authorizer.decide(request.headers.authorization);
    if (!decision.allowed) {
      return send(response, jsonReply(decision.status, { error: { code: decision.code, message: decision.message } }), decision.status === 401 ? { 'www-authenticate': 'Bearer realm="adpipe"' } : {});
    }
  }
  if (url.pathname === '/v1/pipeline/stats') return send(response, jsonReply(200, await pipelineStats(deps.store, deps.settings)));
  if (url.pathname === '/v1/campaigns') return send(response, jsonReply(200, await listCampaigns(deps.store, deps.settings)));
  const match = /^\/v1\/campaigns\/([^/]+)\/performance$/.exec(url.pathname);
  if (match) {
    const query = performanceQuery(campaignIdOf(match[1]!), {
      from: url.searchParams.get('from'),
      to: url.searchParams.get('to'),
      granularity: url.searchParams.get('granularity'),
      by: url.searchParams.get('by'),
    });
    return send(response, jsonReply(200, await campaignPerformance(deps.store, deps.settings, query)));
  }
  send(response, jsonReply(404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } }));
}

/** The campaign id of a path segment; a broken %-escape is the caller's mistake, not a 500. */
function campaignIdOf(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RuntimeError('QUERY_ARGUMENT', `the campaign id in the path is not valid percent-encoding: '${segment.slice(0, 100)}'`);
  }
}
