import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { REPO_ROOT } from '../../e2e/stack/paths.js';
import { pkiPaths } from '../../e2e/stack/pki.js';
import { bindAuthDelegator, grantQuery, serviceAccountToken, tokenKubeconfig } from '../../e2e/support/kube-identities.js';
import { eventually, kubeConfig, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { HBaseClient } from '../../hbase/index.js';
import { ensureBuilt } from '../e2e/harness.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { DEFAULT_FAMILIES, saltSplitKeys } from '../storage/layout.js';
import { TaskState } from '../tasks/state.js';
import { viewPuts } from '../tasks/view.js';
import { campaignPerformance, performanceQuery, pipelineStats } from './performance.js';
import { QueryThread } from './query-thread.js';

/**
 * The query API with authentication on (decision 0120), against the stack's real API server and
 * HBase: tokens from the TokenRequest API are reviewed by the API server (TokenReview), access by
 * SubjectAccessReview on `adpipelines/query` granted with an ordinary Role and RoleBinding; HTTPS
 * with a certificate of the stack's CA.
 */

const settings = { saltBuckets: 4, families: { ...DEFAULT_FAMILIES } };
const namespace = uniqueName('query-auth');
const pipeline = 'demo';
const table = uniqueName('query_auth').replace(/-/g, '_');
const hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
const store = new HBaseStore(hbase, table);
const pki = pkiPaths(path.join(stack().dir, 'pki'));
const ca = fs.readFileSync(pki.caCert);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'query-auth-'));
const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
const reviewCacheMs = 2_000;
let delegatorBinding = '';
let thread: QueryThread;
let port: number;
let readerToken: string;
let strangerToken: string;

const performancePath = '/v1/campaigns/cmp-1/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=day';

/** GET over HTTPS, verifying the worker's certificate with the stack's CA. */
function get(route: string, token?: string): Promise<{ status: number; body: string; authenticate?: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port, path: route, ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, authenticate: response.headers['www-authenticate'] }));
    });
    request.on('error', reject);
  });
}

beforeAll(async () => {
  ensureBuilt();
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // The worker's own identity, allowed to review (what the operator grants it), as a kubeconfig.
  const workerToken = await serviceAccountToken(namespace, 'adpipe-demo');
  delegatorBinding = await bindAuthDelegator(namespace, 'adpipe-demo');
  readerToken = await serviceAccountToken(namespace, 'reader');
  strangerToken = await serviceAccountToken(namespace, 'stranger');
  await grantQuery(namespace, pipeline, 'reader');

  await hbase.admin.createTable({ name: table, families: Object.values(DEFAULT_FAMILIES).map((family) => ({ name: family, maxVersions: 1 })), splitKeys: saltSplitKeys(settings.saltBuckets) });
  const state = new TaskState({ attributionWindowMs: 1, conversionWindowMs: 1, latenessMs: 1 });
  state.stats.accepted = [4, 3, 2, 1];
  await store.putMany([viewPuts(0, state, [], Date.now(), { saltBuckets: settings.saltBuckets, family: settings.families.aggregates }).stats]);

  // The worker's own identity: a kubeconfig with its ServiceAccount's token (in a Pod: the mounted token).
  const workerKubeconfig = tokenKubeconfig(dir, 'worker', workerToken, namespace);
  thread = new QueryThread({
    data: {
      port: 0,
      hbase: { zookeeperQuorum: stack().hbase.zookeeperQuorum, znodeParent: '/hbase', table },
      settings,
      auth: { pipeline: { namespace, name: pipeline }, reviewCacheMs, kubeconfig: workerKubeconfig },
      tls: { certFile: pki.servingCert, keyFile: pki.servingKey },
      log: { level: process.env.ADPIPE_TEST_LOG ?? 'silent', bindings: {} },
    },
    state: { registry: () => new Registry(), ready: () => true, healthy: () => true },
    log: pino({ level: 'silent' }),
    onFailure: () => undefined,
    entry: pathToFileURL(path.join(REPO_ROOT, 'dist', 'runtime', 'query', 'thread.js')),
  });
  port = await thread.listening;
}, 120_000);

afterAll(async () => {
  await thread?.close();
  await rbac.deleteClusterRoleBinding({ name: delegatorBinding }).catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await hbase.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  hbase.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('no token → 401 with a Bearer challenge; a token the API server does not accept → 401', async () => {
  const none = await get('/v1/pipeline/stats');
  expect(none.status).toBe(401);
  expect(none.authenticate).toBe('Bearer realm="adpipe"');
  expect(JSON.parse(none.body)).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('bearer token is required') } });
  const forged = await get('/v1/pipeline/stats', `${readerToken.slice(0, -4)}AAAA`);
  expect(forged.status).toBe(401);
  expect(JSON.parse(forged.body)).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('not accepted by the Kubernetes API server') } });
});

test('a valid token without the Role → 403 naming the identity and the access it lacks', async () => {
  const reply = await get('/v1/pipeline/stats', strangerToken);
  expect(reply.status).toBe(403);
  expect(JSON.parse(reply.body)).toEqual({
    error: { code: 'FORBIDDEN', message: `system:serviceaccount:${namespace}:stranger may not get adpipelines/query (adpipe.io) of AdPipeline ${namespace}/${pipeline}: grant it with a Role and RoleBinding (docs/security.md)` },
  });
  // The reader's Role names this pipeline only: another pipeline's worker refuses it too (the SAR carries the name).
  expect((await get('/v1/campaigns', strangerToken)).status).toBe(403);
});

test('with the Role and RoleBinding → 200 and exactly the stored answer', async () => {
  const stats = await get('/v1/pipeline/stats', readerToken);
  expect(stats).toMatchObject({ status: 200, body: JSON.stringify(await pipelineStats(store, settings)) });
  expect(JSON.parse(stats.body)).toMatchObject({ accepted: { bidRequests: 4, impressions: 3, clicks: 2, conversions: 1 } });
  const query = performanceQuery('cmp-1', { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', granularity: 'day' });
  expect(await get(performancePath, readerToken)).toMatchObject({ status: 200, body: JSON.stringify(await campaignPerformance(store, settings, query)) });
  // Hardening answers come after authentication, unchanged.
  const bad = await get('/v1/campaigns/cmp%E0%A4%A/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', readerToken);
  expect(bad.status).toBe(400);
  expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'QUERY_ARGUMENT' } });
});

test('probes and /metrics stay open (kubelets and Prometheus carry no user token)', async () => {
  expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"ok":true}' });
  expect(await get('/readyz')).toMatchObject({ status: 200, body: '{"ready":true}' });
  expect((await get('/metrics')).status).toBe(200);
});

test('plain HTTP is refused when TLS is on', async () => {
  await expect(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
  await expect(fetch(`http://127.0.0.1:${port}/v1/pipeline/stats`, { headers: { authorization: `Bearer ${readerToken}` }, signal: AbortSignal.timeout(10_000) })).rejects.toThrow();
});

test('a revoked RoleBinding takes effect once the cached review expires', async () => {
  expect((await get('/v1/campaigns', readerToken)).status).toBe(200);
  await rbac.deleteNamespacedRoleBinding({ namespace, name: `query-${pipeline}-reader` });
  // Within reviewCacheMs the cached answer may still hold; after it, the API server's word counts.
  await eventually('the revoked reader to be refused', async () => ((await get('/v1/campaigns', readerToken)).status === 403 ? true : undefined), 30_000, 500);
});
