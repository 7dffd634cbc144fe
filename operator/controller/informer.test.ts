import * as k8s from '@kubernetes/client-node';
import { eventually, kubeConfig } from '../../e2e/support/stack-clients.js';
import { deleteNamespace, freshNamespace } from '../test-support.js';
import { Informer } from './informer.js';
import { KubeClient, type KubeObject } from './kube.js';

// The generic informer against the real kube-apiserver, on ConfigMaps of a fresh namespace.

const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
let namespace: string;
let client: KubeClient;

beforeAll(async () => {
  namespace = await freshNamespace('inf');
  client = new KubeClient(kubeConfig());
});

afterAll(async () => {
  client.close();
  await deleteNamespace(namespace);
});

function recorder() {
  const seen: string[] = [];
  const data = (o: KubeObject) => JSON.stringify(o['data'] ?? {});
  return {
    seen,
    handlers: {
      add: (o: KubeObject) => seen.push(`add ${o.metadata?.name} ${data(o)}`),
      update: (_: KubeObject, o: KubeObject) => seen.push(`update ${o.metadata?.name} ${data(o)}`),
      delete: (o: KubeObject) => seen.push(`delete ${o.metadata?.name}`),
    },
  };
}

test('lists, then watches; resumes after each server-side watch timeout without a relist and without losing a change', async () => {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before' }, data: { v: '1' } } });
  const { seen, handlers } = recorder();
  const informer = new Informer<KubeObject>(client, CONFIGMAP, handlers, { namespace, watchTimeoutSeconds: 2 });
  informer.start();
  try {
    await informer.synced;
    expect(seen).toContain('add before {"v":"1"}');
    // Changes spread over several 2 s watches.
    for (let i = 0; i < 3; i++) {
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `cm${i}` }, data: { v: String(i) } } });
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    await core.patchNamespacedConfigMap({ namespace, name: 'cm0', body: [{ op: 'replace', path: '/data/v', value: 'changed' }] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'cm1' });
    await eventually('all changes', async () => (seen.includes('delete cm1') && seen.includes('update cm0 {"v":"changed"}') ? true : undefined), 20_000);
    expect(seen).toEqual(expect.arrayContaining(['add cm0 {"v":"0"}', 'add cm1 {"v":"1"}', 'add cm2 {"v":"2"}']));
    expect(informer.get(`${namespace}/cm0`)?.['data']).toEqual({ v: 'changed' });
    expect(informer.get(`${namespace}/cm1`)).toBeUndefined();
    expect(informer.stats.lists).toBe(1);
    expect(informer.stats.watches).toBeGreaterThan(1);
  } finally {
    await informer.stop();
  }
});

test('resuming from an ancient resourceVersion replays the difference (through a 410 Gone and one relist where the server has forgotten it)', async () => {
  const { seen, handlers } = recorder();
  const informer = new Informer<KubeObject>(client, CONFIGMAP, handlers, { namespace, watchTimeoutSeconds: 30 });
  informer.start();
  try {
    await informer.synced;
    await informer.stop();
    // While nobody watches: one object changes, one goes, one comes.
    await core.patchNamespacedConfigMap({ namespace, name: 'cm2', body: [{ op: 'replace', path: '/data/v', value: 'offline' }] });
    await core.deleteNamespacedConfigMap({ namespace, name: 'before' });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'late' }, data: { v: 'x' } } });
    seen.length = 0;
    informer.resumeFrom('1');
    informer.start();
    await eventually('the replayed difference', async () => (seen.includes('delete before') && seen.includes('add late {"v":"x"}') && seen.includes('update cm2 {"v":"offline"}') ? true : undefined), 20_000);
    // An API server whose watch cache began at revision 1 (a brand-new stack, as in CI) still serves
    // resourceVersion 1 from that cache; a longer-lived one answers 410 Gone. Either way the
    // difference is replayed, and each 410 costs exactly one relist, never more.
    expect(informer.stats.lists).toBe(1 + informer.stats.gone);
    expect(informer.stats.gone).toBeLessThanOrEqual(1);
    expect(seen.filter((entry) => entry === 'delete before')).toHaveLength(1);
  } finally {
    await informer.stop();
  }
});
