import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { kubeConfig, kubectl } from '../e2e/support/stack-clients.js';
import { startOperator, type Operator } from '../operator/operator.js';
import { hbaseTableAdmins } from '../operator/reconcile/hbase-admin.js';
import { applyPipeline, cleanUp, examplePipeline, freshNamespace, installCrd, waitForCondition } from '../operator/test-support.js';
import { freePort } from '../e2e/stack/ports.js';
import { runHealthScript, toLuaLiteral } from './lua.js';

// The Argo CD health check for AdPipeline, run as Argo CD runs it, against objects the real operator
// wrote on the local stack: one per health state. ADPIPE_UPDATE_TESTDATA=1 refreshes testdata/ from
// those live objects; health_test.yaml (Argo CD's own test layout) is checked against testdata/.

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'health', 'adpipe.io', 'AdPipeline');
const script = fs.readFileSync(path.join(dir, 'health.lua'), 'utf8');

interface HealthTest {
  tests: { healthStatus: { status: string; message?: string }; inputPath: string }[];
}

describe('health_test.yaml cases (Argo CD layout)', () => {
  const cases = (parse(fs.readFileSync(path.join(dir, 'health_test.yaml'), 'utf8')) as HealthTest).tests;
  test.each(cases.map((c) => [c.inputPath, c.healthStatus] as const))('%s', (inputPath, want) => {
    const obj = parse(fs.readFileSync(path.join(dir, inputPath), 'utf8')) as unknown;
    const got = runHealthScript(script, obj);
    expect(got.status).toBe(want.status);
    if (want.message !== undefined) expect(got.message).toBe(want.message);
  });
});

test('an object the operator has not observed yet is Progressing', () => {
  expect(runHealthScript(script, { metadata: { name: 'x', generation: 1 } }).status).toBe('Progressing');
  expect(
    runHealthScript(script, { metadata: { generation: 3 }, status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' }] } }),
  ).toEqual({ status: 'Progressing', message: 'Waiting for the operator to observe generation 3' });
});

test('Lua literals keep strings, numbers, nesting and special characters', () => {
  expect(toLuaLiteral({ a: [1, 'x"y'], b: null, c: true })).toBe('{["a"]={1,"x\\"y"},["b"]=nil,["c"]=true}');
});

describe('live objects from the operator on the local stack', () => {
  let namespace: string;
  let operator: Operator;

  beforeAll(async () => {
    await installCrd();
    namespace = await freshNamespace('argocd');
    operator = await startOperator({ kubeConfig: kubeConfig(), namespace, leaderElection: false, tables: hbaseTableAdmins(), queue: { baseDelayMs: 200, maxDelayMs: 2000 } });
  });
  afterAll(async () => {
    await cleanUp(namespace, () => operator.stop());
  });

  async function capture(name: string, state: string): Promise<unknown> {
    const obj = parse(await kubectl('get', 'adp', name, '-n', namespace, '-o', 'yaml')) as { metadata: Record<string, unknown> };
    if (process.env['ADPIPE_UPDATE_TESTDATA'] === '1') fs.writeFileSync(path.join(dir, 'testdata', `${state}.yaml`), stringify(obj));
    return obj;
  }

  const pipeline = (name: string, change: (p: AdPipeline) => void = () => undefined): AdPipeline => {
    const p = examplePipeline(namespace, name);
    p.spec.deletionPolicy = 'Delete';
    change(p);
    return p;
  };

  test('Healthy: Ready (workers scaled to 0, so no kubelet is needed)', async () => {
    await applyPipeline(pipeline('healthy', (p) => (p.spec.workers = { ...p.spec.workers, replicas: 0 })));
    await waitForCondition(namespace, 'healthy', 'Ready', 'True', undefined, 120_000);
    expect(runHealthScript(script, await capture('healthy', 'healthy')).status).toBe('Healthy');
  });

  test('Progressing: workers not ready yet (their Pods wait for a node)', async () => {
    await applyPipeline(pipeline('progressing'));
    await waitForCondition(namespace, 'progressing', 'WorkersReady', 'False', 'WorkersProgressing', 120_000);
    const got = runHealthScript(script, await capture('progressing', 'progressing'));
    expect(got.status).toBe('Progressing');
    expect(got.message).toMatch(/WorkersProgressing/);
  });

  test('Degraded: Kafka unreachable, retried with back-off', async () => {
    const deadPort = await freePort();
    await applyPipeline(pipeline('degraded', (p) => (p.spec.kafka.bootstrapServers = [`127.0.0.1:${deadPort}`])));
    await waitForCondition(namespace, 'degraded', 'TopicsReady', 'False', 'KafkaUnavailable', 120_000);
    const got = runHealthScript(script, await capture('degraded', 'degraded'));
    expect(got.status).toBe('Degraded');
    expect(got.message).toMatch(/KafkaUnavailable/);
    await kubectl('patch', 'adp', 'degraded', '-n', namespace, '--type=merge', '-p', '{"spec":{"deletionPolicy":"Retain"}}');
  });

  test('Suspended: the adpipe.io/paused annotation', async () => {
    await kubectl('annotate', 'adp', 'healthy', '-n', namespace, 'adpipe.io/paused=true');
    await waitForCondition(namespace, 'healthy', 'Ready', 'Unknown', 'Paused', 60_000);
    expect(runHealthScript(script, await capture('healthy', 'suspended')).status).toBe('Suspended');
    await kubectl('annotate', 'adp', 'healthy', '-n', namespace, 'adpipe.io/paused-');
  });
});

test('the argocd-cm snippet carries health.lua verbatim', () => {
  const cm = parse(fs.readFileSync(path.join(dir, '..', '..', '..', 'argocd-cm.yaml'), 'utf8')) as { data: Record<string, string> };
  expect(cm.data['resource.customizations.health.adpipe.io_AdPipeline']).toBe(script);
});
