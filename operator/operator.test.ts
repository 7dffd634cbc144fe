import * as k8s from '@kubernetes/client-node';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { eventually, kafka, kubeConfig, kubectl, uniqueName } from '../e2e/support/stack-clients.js';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import type { Operator } from './operator.js';
import { applyPipeline, condition, cleanUp, examplePipeline, freshNamespace, getPipeline, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// The operator against the real kube-apiserver and Kafka of the local stack, in-process, watching a
// namespace of its own. HBase table management is covered in table.test.ts.

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
let namespace: string;
let operator: Operator | undefined;
let admin: Admin;

beforeAll(async () => {
  await installCrd();
  namespace = await freshNamespace('op');
  admin = kafka('adpipe-operator-test').admin();
  await admin.connect();
  operator = await startTestOperator(namespace);
});

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
  await admin?.disconnect();
});

async function topicState(topic: string): Promise<{ partitions: number; retention?: string; cleanup?: string } | undefined> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return undefined;
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  const entry = (name: string) => configs.resources[0]!.configEntries.find((e) => e.configName === name)?.configValue;
  return { partitions: meta.topics[0]!.partitions.length, retention: entry('retention.ms'), cleanup: entry('cleanup.policy') };
}

async function resourceVersions(name: string): Promise<Record<string, string | undefined>> {
  const w = `adpipe-${name}`;
  return {
    pipeline: (await getPipeline(namespace, name))?.metadata.resourceVersion,
    configMap: (await core.readNamespacedConfigMap({ name: w, namespace })).metadata?.resourceVersion,
    deployment: (await apps.readNamespacedDeployment({ name: w, namespace })).metadata?.resourceVersion,
    service: (await core.readNamespacedService({ name: w, namespace })).metadata?.resourceVersion,
    serviceAccount: (await core.readNamespacedServiceAccount({ name: w, namespace })).metadata?.resourceVersion,
  };
}

describe('the example pipeline', () => {
  let pipeline: AdPipeline;
  const name = uniqueName('demo');

  test('apply → topics with partitions and configs, owned worker objects, status and printer columns', async () => {
    pipeline = examplePipeline(namespace, name);
    await applyPipeline(pipeline);
    const ready = await waitForCondition(namespace, name, 'TopicsReady', 'True');
    for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions']) {
      expect(await topicState(`${name}.${source}`)).toEqual({ partitions: 6, retention: String(168 * 3_600_000), cleanup: 'delete' });
    }
    expect(await topicState(`adpipe.${namespace}.${name}-dlq`)).toEqual({ partitions: 1, retention: String(336 * 3_600_000), cleanup: 'delete' });

    const w = `adpipe-${name}`;
    const uid = ready.metadata.uid;
    const owned = [
      await core.readNamespacedConfigMap({ name: w, namespace }),
      await apps.readNamespacedDeployment({ name: w, namespace }),
      await core.readNamespacedService({ name: w, namespace }),
      await core.readNamespacedServiceAccount({ name: w, namespace }),
    ];
    for (const object of owned) {
      expect(object.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'AdPipeline', name, uid, controller: true })]);
      expect(object.metadata?.managedFields?.some((f) => f.manager === 'adpipe-operator' && f.operation === 'Apply')).toBe(true);
    }
    const config = JSON.parse((owned[0] as k8s.V1ConfigMap).data!['pipeline.json']!);
    expect(config.kafka.groupId).toBe(`adpipe.${namespace}.${name}`);
    expect(config.hbase.table).toBe(`adpipe_${namespace}_${name}`);

    // No kubelets in the local stack: the Pods stay Pending and WorkersReady says so.
    const status = await waitForCondition(namespace, name, 'WorkersReady', 'False', 'WorkersProgressing');
    expect(status.metadata.finalizers).toContain('adpipe.io/cleanup');
    expect(condition(status, 'Ready')).toMatchObject({ status: 'False', observedGeneration: 1 });
    expect(status.status).toMatchObject({ observedGeneration: 1, topicsSummary: '6/6', table: `adpipe_${namespace}_${name}`, workers: { replicas: 2, readyReplicas: 0, summary: '0/2' } });
    expect(status.status!.topics).toHaveLength(6);
    for (const c of status.status!.conditions!) expect(c.reason).toMatch(/^[A-Z][A-Za-z]+$/);

    const table = await kubectl('get', 'adp', name, '-n', namespace);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+DATA\s+WORKERS\s+TOPICS\s+TABLE\s+AGE$/);
    // DATA (DataHealthy's reason) stays empty: this operator has no Prometheus to judge from.
    expect(table.split('\n')[1]).toMatch(new RegExp(`^${name}\\s+False\\s+(<none>\\s+)?0/2\\s+6/6\\s+adpipe_${namespace}_${name}\\s+\\d+s$`));

    const events = JSON.parse(await kubectl('get', 'events.events.k8s.io', '-n', namespace, '--field-selector', `regarding.name=${name}`, '-o', 'json')) as { items: Array<{ reason: string; reportingController: string }> };
    expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['TopicCreated', 'WorkersCreated']));
    expect(events.items.every((e) => e.reportingController === 'adpipe.io/operator')).toBe(true);
  });

  test('changing retention, partitions and replicas is reconciled and observedGeneration follows', async () => {
    const before = (await apps.readNamespacedDeployment({ name: `adpipe-${name}`, namespace })).spec!.template.metadata!.annotations!['adpipe.io/config-hash'];
    pipeline.spec.retention = { ...pipeline.spec.retention, rawEvents: '48h', aggregates: '720h' };
    pipeline.spec.sources!.clicks!.partitions = 9;
    pipeline.spec.workers!.replicas = 3;
    await applyPipeline(pipeline);
    await eventually('the new partitions and retention in Kafka', async () => {
      const clicks = await topicState(`${name}.clicks`);
      const imps = await topicState(`${name}.impressions`);
      return clicks?.partitions === 9 && clicks.retention === String(48 * 3_600_000) && imps?.retention === String(48 * 3_600_000) ? true : undefined;
    });
    const deployment = await eventually('3 replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: `adpipe-${name}`, namespace });
      return d.spec?.replicas === 3 ? d : undefined;
    });
    // The aggregates TTL is part of the runtime config: a new hash rolls the workers.
    expect(deployment.spec!.template.metadata!.annotations!['adpipe.io/config-hash']).not.toBe(before);
    const p = await eventually('observedGeneration 2', async () => {
      const got = await getPipeline(namespace, name);
      return got?.status?.observedGeneration === 2 && got.status.workers?.replicas === 3 ? got : undefined;
    });
    expect(p.metadata.generation).toBe(2);
    expect(condition(p, 'TopicsReady')).toMatchObject({ status: 'True', observedGeneration: 2 });
  });

  test('lowering partitions and other invalid changes are refused by the API server with a clear message', async () => {
    const lower = structuredClone(pipeline);
    lower.spec.sources!.clicks!.partitions = 3;
    await expect(applyPipeline(lower)).rejects.toThrow(/partitions cannot be decreased/);
    const invalid: Array<[string, (p: AdPipeline) => void, RegExp]> = [
      ['zero window', (p) => (p.spec.correlation!.attributionWindow = '0s'), /attributionWindow must be positive/],
      ['bad duration', (p) => (p.spec.retention!.rawEvents = '7 days'), /rawEvents/],
      ['table rename', (p) => (p.spec.storage!.table = 'other'), /storage.table cannot be changed/],
      ['dlq is a source', (p) => (p.spec.deadLetter!.topic = p.spec.sources!.clicks!.topic), /deadLetter.topic must differ/],
      ['same topic twice', (p) => (p.spec.sources!.clicks!.topic = p.spec.sources!.impressions!.topic), /each source needs its own topic/],
      ['header and columns', (p) => (p.spec.sources!.clicks!.csv = { header: true, columns: ['a'] }), /exclude each other/],
      ['replication change', (p) => (p.spec.sources!.clicks!.replicationFactor = 2), /replicationFactor cannot be changed/],
      ['commit interval too short', (p) => (p.spec.workers!.commitInterval = '5ms'), /commitInterval must be between 10ms and 60s/],
      ['unknown log level', (p) => (p.spec.workers!.logLevel = 'loud' as 'info'), /Unsupported value: "loud"/],
    ];
    for (const [, change, message] of invalid) {
      const copy = structuredClone(pipeline);
      change(copy);
      await expect(applyPipeline(copy)).rejects.toThrow(message);
    }
    const long = examplePipeline(namespace, 'x'.repeat(57));
    await expect(applyPipeline(long)).rejects.toThrow(/at most 56 characters/);
  });

  test('retention.ms changed directly in Kafka is corrected back', async () => {
    const topic = `${name}.impressions`;
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }] }] });
    expect((await topicState(topic))?.retention).toBe('3600000');
    await eventually('retention.ms back to 48h', async () => ((await topicState(topic))?.retention === String(48 * 3_600_000) ? true : undefined), 30_000);
  });

  test('an operator restart with nothing changed writes to no owned object', async () => {
    await operator!.stop();
    operator = undefined;
    const before = await resourceVersions(name);
    operator = await startTestOperator(namespace);
    await eventually('a reconcile of the pipeline after the restart', async () => (operator!.stats().reconciles >= 1 ? true : undefined));
    // Let the first reconciles and any follow-ups finish (a drift check comes every 2 s).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(await resourceVersions(name)).toEqual(before);
    expect(operator.stats().apiWrites).toBe(0);
  });
});

describe('deletion', () => {
  test('Retain keeps the topics; the finalizer is released', async () => {
    const name = uniqueName('keep');
    await applyPipeline(examplePipeline(namespace, name));
    await waitForCondition(namespace, name, 'TopicsReady', 'True');
    await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
    await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true));
    expect((await topicState(`${name}.clicks`))?.partitions).toBe(6);
    expect((await topicState(`adpipe.${namespace}.${name}-dlq`))?.partitions).toBe(1);
  });

  test('Delete removes the topics; the finalizer is released', async () => {
    const name = uniqueName('drop');
    const pipeline = examplePipeline(namespace, name);
    pipeline.spec.deletionPolicy = 'Delete';
    await applyPipeline(pipeline);
    await waitForCondition(namespace, name, 'TopicsReady', 'True');
    await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
    await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true));
    await eventually('the topics to be gone', async () => {
      const topics = await admin.listTopics();
      return topics.some((t) => t.startsWith(`${name}.`) || t === `adpipe.${namespace}.${name}-dlq`) ? undefined : true;
    });
  });

  test('a younger pipeline naming an existing pipeline\'s topic is Stalled, and its deletion keeps the topic', async () => {
    const owner = uniqueName('own');
    await applyPipeline(examplePipeline(namespace, owner));
    await waitForCondition(namespace, owner, 'TopicsReady', 'True');
    // creationTimestamp has one-second resolution and equal ones fall back to the names' order
    // (decision 0068): create the intruder in a later second so that age alone decides.
    const ownerCreated = Date.parse((await getPipeline(namespace, owner))!.metadata.creationTimestamp!);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ownerCreated + 1000 - Date.now() + 50)));
    const name = uniqueName('dup');
    const intruder = examplePipeline(namespace, name);
    intruder.spec.sources!.clicks!.topic = `${owner}.clicks`;
    intruder.spec.deletionPolicy = 'Delete';
    await applyPipeline(intruder);
    const stalled = await waitForCondition(namespace, name, 'Stalled', 'True', 'TopicClaimedByAnotherPipeline');
    expect(condition(stalled, 'TopicsReady')).toMatchObject({ status: 'False', reason: 'TopicClaimedByAnotherPipeline' });
    expect(condition(stalled, 'TopicsReady')!.message).toContain(`${owner}.clicks belongs to AdPipeline ${namespace}/${owner}`);
    expect(await topicState(`${name}.impressions`)).toMatchObject({ partitions: 6 });
    await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
    await eventually('the intruder to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true));
    await eventually('its own topics to be deleted', async () => ((await topicState(`${name}.impressions`)) ? undefined : true));
    expect((await topicState(`${owner}.clicks`))?.partitions).toBe(6);
  });

  test('paused: nothing is changed, status says Paused', async () => {
    const name = uniqueName('pause');
    const pipeline = examplePipeline(namespace, name);
    pipeline.metadata.annotations = { 'adpipe.io/paused': 'true' };
    await applyPipeline(pipeline);
    await waitForCondition(namespace, name, 'Ready', 'Unknown', 'Paused');
    expect(await topicState(`${name}.clicks`)).toBeUndefined();
    await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
    await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true));
  });
});
