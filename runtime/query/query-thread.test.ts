import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { REPO_ROOT } from '../../e2e/stack/paths.js';
import { stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { HBaseClient } from '../../hbase/index.js';
import { ensureBuilt } from '../e2e/harness.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { DEFAULT_FAMILIES, saltSplitKeys } from '../storage/layout.js';
import { TaskState } from '../tasks/state.js';
import { viewPuts } from '../tasks/view.js';
import { campaignPerformance, performanceQuery, pipelineStats } from './performance.js';
import { QueryThread } from './query-thread.js';

/**
 * The query thread (decision 0069) against the stack's HBase: the routes answer as the
 * single-threaded server did, probes and metrics come from this (the main) thread, and a query is
 * answered while this thread's loop is blocked.
 */

const settings = { saltBuckets: 4, families: { ...DEFAULT_FAMILIES } };
const table = uniqueName('query-thread').replace(/-/g, '_');
const hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
const store = new HBaseStore(hbase, table);
const registry = new Registry();
const main = { ready: true, healthy: true };
const failures: Error[] = [];
let thread: QueryThread;
let port: number;

const performancePath = '/v1/campaigns/cmp-1/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=day';
const get = async (route: string, init: RequestInit = {}) => {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, init);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
};

beforeAll(async () => {
  ensureBuilt();
  await hbase.admin.createTable({ name: table, families: Object.values(DEFAULT_FAMILIES).map((family) => ({ name: family, maxVersions: 1 })), splitKeys: saltSplitKeys(settings.saltBuckets) });
  // One task's counters, so the stats answer is not all zeros.
  const state = new TaskState({ attributionWindowMs: 1, conversionWindowMs: 1, latenessMs: 1 });
  state.stats.accepted = [4, 3, 2, 1];
  await store.putMany([viewPuts(0, state, [], Date.now(), { saltBuckets: settings.saltBuckets, family: settings.families.aggregates }).stats]);
  thread = new QueryThread({
    data: { port: 0, hbase: { zookeeperQuorum: stack().hbase.zookeeperQuorum, znodeParent: '/hbase', table }, settings, log: { level: 'silent', bindings: {} } },
    state: { registry: () => registry, ready: () => main.ready, healthy: () => main.healthy },
    log: pino({ level: 'silent' }),
    onFailure: (error) => failures.push(error),
    entry: pathToFileURL(path.join(REPO_ROOT, 'dist', 'runtime', 'query', 'thread.js')),
  });
  port = await thread.listening;
});

afterAll(async () => {
  await thread?.close();
  await hbase.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  hbase.close();
});

test('query routes answer from the thread, byte for byte what the query module returns', async () => {
  const query = performanceQuery('cmp-1', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', granularity: 'day' });
  expect(await get(performancePath)).toEqual({ status: 200, type: 'application/json', body: JSON.stringify(await campaignPerformance(store, settings, query)) });
  const stats = await get('/v1/pipeline/stats');
  expect(stats).toEqual({ status: 200, type: 'application/json', body: JSON.stringify(await pipelineStats(store, settings)) });
  expect(JSON.parse(stats.body)).toMatchObject({ accepted: { bidRequests: 4, impressions: 3, clicks: 2, conversions: 1 } });
});

test('errors keep their status and body', async () => {
  expect(await get('/v1/campaigns/c/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=week')).toEqual({
    status: 400,
    type: 'application/json',
    body: JSON.stringify({ error: { code: 'QUERY_ARGUMENT', message: "'granularity' must be hour or day, not 'week'" } }),
  });
  // A broken %-escape in the campaign id and a range over the cap are the caller's mistakes too.
  const badEscape = await get('/v1/campaigns/cmp%E0%A4%A/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z');
  expect(badEscape.status).toBe(400);
  expect(JSON.parse(badEscape.body)).toEqual({ error: { code: 'QUERY_ARGUMENT', message: "the campaign id in the path is not valid percent-encoding: 'cmp%E0%A4%A'" } });
  const tooLong = await get('/v1/campaigns/c/performance?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&granularity=day');
  expect(tooLong.status).toBe(400);
  expect(JSON.parse(tooLong.body)).toMatchObject({ error: { code: 'QUERY_RANGE', message: expect.stringContaining('longer than 366 days') } });
  expect(await get('/nowhere')).toEqual({ status: 404, type: 'application/json', body: '{"error":{"code":"NOT_FOUND","message":"no route /nowhere"}}' });
  expect(await get('/healthz', { method: 'POST' })).toEqual({ status: 405, type: 'application/json', body: '{"error":{"code":"METHOD","message":"only GET is served"}}' });
});

test('probes and metrics report the main thread', async () => {
  expect(await get('/healthz')).toEqual({ status: 200, type: 'application/json', body: '{"ok":true}' });
  expect(await get('/readyz')).toEqual({ status: 200, type: 'application/json', body: '{"ready":true}' });
  main.ready = false;
  main.healthy = false;
  expect(await get('/readyz')).toEqual({ status: 503, type: 'application/json', body: '{"ready":false}' });
  expect(await get('/healthz')).toEqual({ status: 500, type: 'application/json', body: '{"ok":false}' });
  main.ready = true;
  main.healthy = true;
  const metrics = await get('/metrics');
  expect(metrics).toEqual({ status: 200, type: registry.contentType, body: await registry.metrics() });
});

test('a failure behind a route is a 500 with a request id, not its internal message', async () => {
  const metrics = registry.metrics;
  registry.metrics = () => Promise.reject(new Error('collector broke at zk-0.hbase.internal:2181'));
  try {
    const reply = await get('/metrics');
    expect(reply.status).toBe(500);
    expect(reply.body).not.toContain('zk-0');
    expect(JSON.parse(reply.body)).toEqual({ error: { code: 'INTERNAL', message: expect.stringContaining('request id'), request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
  } finally {
    registry.metrics = metrics;
  }
});

test('a query is answered while the main loop is blocked; probes wait for the main thread', async () => {
  // The client is another process: this thread is about to block, so it cannot ask itself. It
  // queries in a loop for 4 s and reports when each request was sent and answered (wall clock).
  const client = `
    const [port, route] = process.argv.slice(1);
    const results = [];
    const probe = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      const sent = Date.now();
      const response = await fetch('http://127.0.0.1:' + port + '/readyz');
      results.push({ route: '/readyz', sent, answered: Date.now(), status: response.status, body: await response.text() });
    })();
    process.stdout.write('started\\n');
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      const sent = Date.now();
      const response = await fetch('http://127.0.0.1:' + port + route);
      results.push({ route, sent, answered: Date.now(), status: response.status, body: await response.text() });
      await new Promise((r) => setTimeout(r, 50));
    }
    await probe;
    process.stdout.write(JSON.stringify(results) + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', client, String(port), performancePath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const started = new Promise<void>((resolve) => child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()).includes('started') && resolve()));
  const done = new Promise((resolve) => child.once('exit', resolve));
  await started;
  const blockedFrom = Date.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2_000); // this thread does nothing for 2 s
  const blockedUntil = Date.now();
  await done;
  const results = JSON.parse(output.slice(output.indexOf('\n') + 1)) as { route: string; sent: number; answered: number; status: number; body: string }[];
  const expected = (await get(performancePath)).body;
  const duringBlock = results.filter((r) => r.route === performancePath && r.sent >= blockedFrom && r.answered <= blockedUntil);
  expect(duringBlock.length).toBeGreaterThan(0);
  for (const r of duringBlock) expect(r).toMatchObject({ status: 200, body: expected });
  // The readiness probe sent during the block reflects the main thread, so it is answered after it.
  const probe = results.find((r) => r.route === '/readyz')!;
  expect(probe.sent).toBeLessThan(blockedUntil);
  expect(probe.answered).toBeGreaterThanOrEqual(blockedUntil);
  expect(probe).toMatchObject({ status: 200, body: '{"ready":true}' });
});

test('close ends the thread and frees the port', async () => {
  await thread.close();
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  expect(failures).toEqual([]);
});
