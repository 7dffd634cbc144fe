/**
 * One HTTP answer as plain data, so the main thread can render `/healthz`, `/readyz` and
 * `/metrics` and hand them to the query thread over a MessagePort (structured clone) unchanged.
 */
export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

/** The routes that report the main thread's state (the tasks, their consumer, their metrics). */
export const MAIN_ROUTES = ['/healthz', '/readyz', '/metrics'] as const;
export type MainRoute = (typeof MAIN_ROUTES)[number];

export function isMainRoute(path: string): path is MainRoute {
  return (MAIN_ROUTES as readonly string[]).includes(path);
}

export function jsonReply(status: number, body: unknown): HttpReply {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}
