import * as k8s from '@kubernetes/client-node';
import { eventually, kubeConfig, kubectl } from '../e2e/support/stack-clients.js';
import type { Operator } from './operator.js';
import { renderNetworkPolicy } from './render/network-policy.js';
import { ownerReference } from './render/workers.js';
import { applyPipeline, cleanUp, examplePipeline, freshNamespace, installCrd, startTestOperator } from './test-support.js';

// The workers' optional NetworkPolicy (spec.networkPolicy, decision 0123): rendered by the
// operator, applied server-side to the real API server (which accepts NetworkPolicies without a
// network plugin; enforcing them is the plugin's job), and deleted again when disabled.

let namespace: string;
let operator: Operator | undefined;
const networking = kubeConfig().makeApiClient(k8s.NetworkingV1Api);

beforeAll(async () => {
  await installCrd();
  namespace = await freshNamespace('netpol');
  operator = await startTestOperator(namespace);
}, 120_000);

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
}, 120_000);

test('rendered: ingress to the workers only on their http port, from the listed peers; nothing when disabled', () => {
  const pipeline = examplePipeline('team-a', 'demo');
  expect(renderNetworkPolicy(pipeline, ownerReference(pipeline))).toBeUndefined();
  pipeline.spec.networkPolicy = { enabled: true, from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }, { podSelector: { matchLabels: { app: 'dashboard' } } }] };
  expect(renderNetworkPolicy(pipeline, ownerReference(pipeline))?.spec).toEqual({
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'adpipe-worker', 'app.kubernetes.io/instance': 'demo' } },
    policyTypes: ['Ingress'],
    ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }, { podSelector: { matchLabels: { app: 'dashboard' } } }] }],
  });
});

test('the operator applies it with the workers (server-side apply on the real API server) and deletes it when disabled', async () => {
  const pipeline = examplePipeline(namespace, 'fenced');
  pipeline.spec.workers = { ...pipeline.spec.workers, replicas: 0 };
  pipeline.spec.deletionPolicy = 'Delete';
  pipeline.spec.networkPolicy = { enabled: true, from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] };
  await applyPipeline(pipeline);
  await eventually('the NetworkPolicy', () => networking.readNamespacedNetworkPolicy({ name: 'adpipe-fenced', namespace }).catch(() => undefined), 90_000);
  // As the API server stores it (kubectl's JSON, not the client's model classes).
  const policy = JSON.parse(await kubectl('get', 'networkpolicy', 'adpipe-fenced', '-n', namespace, '-o', 'json', '--show-managed-fields')) as k8s.V1NetworkPolicy;
  expect(policy.spec?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'adpipe-worker', 'app.kubernetes.io/instance': 'fenced' });
  expect(policy.spec?.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 'http' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] }]);
  expect(policy.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'AdPipeline', name: 'fenced', controller: true });
  expect(policy.metadata?.managedFields?.some((f) => f.manager === 'adpipe-operator' && f.operation === 'Apply')).toBe(true);

  pipeline.spec.networkPolicy = { enabled: false };
  await applyPipeline(pipeline);
  await eventually('the NetworkPolicy deleted', async () => ((await networking.readNamespacedNetworkPolicy({ name: 'adpipe-fenced', namespace }).catch(() => undefined)) ? undefined : true), 90_000);
}, 240_000);
