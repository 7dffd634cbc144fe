import type { Registry } from 'prom-client';
import { jsonReply, type HttpReply, type MainRoute } from './reply.js';

/** What the probes and metrics report: the state of the thread that runs the tasks. */
export interface MainState {
  /** The worker's metrics: the main engine's registry, or the sum of every engine thread's (decision 0074). */
  registry: () => Registry | Promise<Registry>;
  ready: () => boolean | Promise<boolean>;
  healthy: () => boolean | Promise<boolean>;
}

/**
 * Answers a main-thread route on the main thread. Served from there on purpose, not from state
 * pushed to the query thread: a main loop that hangs keeps failing `/healthz` (the liveness probe)
 * as before, and `/readyz` turns 503 the moment SIGTERM is handled, with no polling in between.
 */
export async function answerMainRoute(state: MainState, route: MainRoute): Promise<HttpReply> {
  switch (route) {
    case '/healthz': {
      const ok = await state.healthy();
      return jsonReply(ok ? 200 : 500, { ok });
    }
    case '/readyz': {
      const ready = await state.ready();
      return jsonReply(ready ? 200 : 503, { ready });
    }
    case '/metrics': {
      const registry = await state.registry();
      return { status: 200, contentType: registry.contentType, body: await registry.metrics() };
    }
  }
}
