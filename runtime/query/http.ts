import http from 'node:http';
import type { Logger } from 'pino';
import { listCampaigns } from './campaigns.js';
import { RuntimeError, isRetriable } from '../errors.js';
import type { Store } from '../storage/store.js';
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
}

function send(response: http.ServerResponse, reply: HttpReply): void {
  response.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) });
  response.end(reply.body);
}

/**
 * The worker's HTTP surface: the query API of contract §3, Prometheus metrics, and the probes.
 * Runs on the query thread (decision 0069); the query routes read HBase from here, the rest ask
 * the main thread.
 */
export function createHttpServer(deps: HttpDependencies): http.Server {
  return http.createServer((request, response) => {
    void handle(deps, request, response).catch((error: unknown) => {
      if (error instanceof RuntimeError && error.code === 'QUERY_ARGUMENT') return send(response, jsonReply(400, { error: { code: error.code, message: error.message } }));
      deps.log.error({ err: error, url: request.url }, 'request failed');
      const status = isRetriable(error) ? 503 : 500;
      send(response, jsonReply(status, { error: { code: (error as { code?: string }).code ?? 'INTERNAL', message: (error as Error).message } }));
    });
  });
}

async function handle(deps: HttpDependencies, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://worker');
  if (request.method !== 'GET') return send(response, jsonReply(405, { error: { code: 'METHOD', message: 'only GET is served' } }));
  if (isMainRoute(url.pathname)) return send(response, await deps.mainRoute(url.pathname));
  if (url.pathname === '/v1/pipeline/stats') return send(response, jsonReply(200, await pipelineStats(deps.store, deps.settings)));
  if (url.pathname === '/v1/campaigns') return send(response, jsonReply(200, await listCampaigns(deps.store, deps.settings)));
  const match = /^\/v1\/campaigns\/([^/]+)\/performance$/.exec(url.pathname);
  if (match) {
    const query = performanceQuery(decodeURIComponent(match[1]!), {
      from: url.searchParams.get('from'),
      to: url.searchParams.get('to'),
      granularity: url.searchParams.get('granularity'),
      by: url.searchParams.get('by'),
    });
    return send(response, jsonReply(200, await campaignPerformance(deps.store, deps.settings, query)));
  }
  send(response, jsonReply(404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}` } }));
}
