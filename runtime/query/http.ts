import http from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { RuntimeError, isRetriable } from '../errors.js';
import type { Store } from '../storage/store.js';
import { campaignPerformance, performanceQuery, pipelineStats, type QuerySettings } from './performance.js';

export interface HttpDependencies {
  store: Store;
  settings: QuerySettings;
  registry: Registry;
  log: Logger;
  ready: () => boolean;
  healthy: () => boolean;
}

function send(response: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = contentType === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** The worker's HTTP surface: the query API of contract §3, Prometheus metrics, and the probes. */
export function createHttpServer(deps: HttpDependencies): http.Server {
  return http.createServer((request, response) => {
    void handle(deps, request, response).catch((error: unknown) => {
      if (error instanceof RuntimeError && error.code === 'QUERY_ARGUMENT') return send(response, 400, { error: { code: error.code, message: error.message } });
      deps.log.error({ err: error, url: request.url }, 'request failed');
      const status = isRetriable(error) ? 503 : 500;
      send(response, status, { error: { code: (error as { code?: string }).code ?? 'INTERNAL', message: (error as Error).message } });
    });
  });
}

async function handle(deps: HttpDependencies, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://worker');
  if (request.method !== 'GET') return send(response, 405, { error: { code: 'METHOD', message: 'only GET is served' } });
  if (url.pathname === '/healthz') return send(response, deps.healthy() ? 200 : 500, { ok: deps.healthy() });
  if (url.pathname === '/readyz') return send(response, deps.ready() ? 200 : 503, { ready: deps.ready() });
  if (url.pathname === '/metrics') return send(response, 200, await deps.registry.metrics(), deps.registry.contentType);
  if (url.pathname === '/v1/pipeline/stats') return send(response, 200, await pipelineStats(deps.store, deps.settings));
  const match = /^\/v1\/campaigns\/([^/]+)\/performance$/.exec(url.pathname);
  if (match) {
    const query = performanceQuery(decodeURIComponent(match[1]!), {
      from: url.searchParams.get('from'),
      to: url.searchParams.get('to'),
      granularity: url.searchParams.get('granularity'),
      by: url.searchParams.get('by'),
    });
    return send(response, 200, await campaignPerformance(deps.store, deps.settings, query));
  }
  send(response, 404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } });
}
