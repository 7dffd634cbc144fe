import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type AdPipeline } from '../../api/v1alpha1/index.js';
import { REPO_ROOT } from '../stack/paths.js';
import { eventually, kubeConfig, kubectl, uniqueName, untilCrdEstablished } from '../support/stack-clients.js';

// The local kube-apiserver, etcd and kube-controller-manager are real: the CRD is served, custom
// resources round-trip through client-node and kubectl, and the controller manager collects garbage
// and turns Deployments into ReplicaSets and Pods.

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const namespace = uniqueName('smoke');

beforeAll(async () => {
  await kubectl('apply', '--server-side', '--field-manager=adpipe-tests', '-f', path.join(REPO_ROOT, 'crds', 'adpipelines.adpipe.io.yaml'));
  await untilCrdEstablished((args) => kubectl(...args));
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // The service-account controller creates `default`; Pods need it to be admitted.
  await eventually('the default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined));
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

test('kubectl api-resources lists built-in kinds and adpipelines', async () => {
  const resources = await kubectl('api-resources', '-o', 'name');
  const names = resources.split('\n');
  for (const builtIn of ['pods', 'configmaps', 'deployments.apps', 'leases.coordination.k8s.io', 'events.events.k8s.io']) expect(names).toContain(builtIn);
  expect(names).toContain(`${PLURAL}.${GROUP}`);
  const short = await kubectl('api-resources', '--api-group', GROUP, '-o', 'wide');
  expect(short).toMatch(/adpipelines\s+adp\s+adpipe\.io\/v1alpha1\s+true\s+AdPipeline/);
});

test('an AdPipeline created with client-node reads back through kubectl, with schema defaults filled in', async () => {
  const name = uniqueName('pipe');
  const body: AdPipeline = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: { kafka: { bootstrapServers: ['127.0.0.1:9092'] }, hbase: { zookeeperQuorum: '127.0.0.1:2181' } },
  };
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body });
  const read = JSON.parse(await kubectl('get', 'adp', name, '-n', namespace, '-o', 'json')) as AdPipeline;
  expect(read.spec.kafka.bootstrapServers).toEqual(['127.0.0.1:9092']);
  // No schema default for source topics: the operator derives them, spec stays as written.
  expect(read.spec.sources?.impressions?.topic).toBeUndefined();
  expect(read.spec.sources?.clicks?.partitions).toBe(6);
  expect(read.spec.correlation?.attributionWindow).toBe('24h');
  expect(read.spec.deletionPolicy).toBe('Retain');
  expect(read.metadata.generation).toBe(1);
});

test('an owner-referenced ConfigMap is garbage-collected after its owner is deleted', async () => {
  const owner = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: uniqueName('owner') }, data: { role: 'owner' } } });
  const childName = uniqueName('child');
  await core.createNamespacedConfigMap({
    namespace,
    body: {
      metadata: {
        name: childName,
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
    },
  });
  await core.deleteNamespacedConfigMap({ name: owner.metadata!.name!, namespace });
  await eventually('the child ConfigMap to be collected', async () => {
    const found = await core.readNamespacedConfigMap({ name: childName, namespace }).then(
      () => true,
      () => false,
    );
    return found ? undefined : true;
  });
});

test('a Deployment becomes a ReplicaSet and Pods (kube-controller-manager runs)', async () => {
  const name = uniqueName('web');
  const labels = { app: name };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name },
      spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'adpipe:test' }] } } },
    },
  });
  const pods = await eventually('two Pods of the Deployment', async () => {
    const list = await core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
    return list.items.length === 2 ? list.items : undefined;
  });
  const replicaSets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` });
  expect(replicaSets.items).toHaveLength(1);
  expect(pods.every((pod) => pod.metadata?.ownerReferences?.[0]?.kind === 'ReplicaSet')).toBe(true);
});
