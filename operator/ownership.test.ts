import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { HBaseClient } from '../hbase/index.js';
import { eventually, kafka, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import type { Operator } from './operator.js';
import { hbaseTableAdmins } from './reconcile/hbase-admin.js';
import { applyPipeline, cleanUp, condition, examplePipeline, freshNamespace, getPipeline, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// Issue 18 on the real stack: default topic names derived from the pipeline, and ownership — a
// topic or table that exists already is never touched, nor deleted, without consent; with consent
// the operator sets only the config keys it manages and leaves other overrides.

let namespace: string;
let operator: Operator | undefined;
let admin: Admin;
let hbase: HBaseClient;
const foreignTopics: string[] = [];
const foreignTables: string[] = [];

beforeAll(async () => {
  await installCrd();
  namespace = await freshNamespace('own');
  admin = kafka('adpipe-ownership-test').admin();
  await admin.connect();
  hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
  operator = await startTestOperator(namespace, { tables: hbaseTableAdmins() });
});

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
  // An adopted topic went with its pipeline (deletionPolicy Delete); the others are still there.
  const left = new Set(await admin.listTopics());
  await admin?.deleteTopics({ topics: foreignTopics.filter((t) => left.has(t)) }).catch(() => undefined);
  for (const table of foreignTables) await hbase?.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  await admin?.disconnect();
  hbase?.close();
});

async function overrides(topic: string): Promise<Record<string, string>> {
  const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  const own: Record<string, string> = {};
  for (const e of configs.resources[0]!.configEntries) if ((e as { configSource?: number }).configSource === 1) own[e.configName] = e.configValue;
  return own;
}

/** A topic someone else made, with an override of their own and a retention unlike the spec's. */
async function foreignTopic(): Promise<string> {
  const topic = uniqueName('theirs');
  foreignTopics.push(topic);
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'max.message.bytes', value: '123456' }] }] });
  return topic;
}

function pipelineOf(name: string, change: (p: AdPipeline) => void): AdPipeline {
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.workers!.replicas = 0;
  pipeline.spec.deletionPolicy = 'Delete';
  change(pipeline);
  return pipeline;
}

test('without consent an existing topic and table stay untouched (Stalled TopicExists / TableExists) and Delete leaves them', async () => {
  const topic = await foreignTopic();
  const table = uniqueName('theirs').replace(/-/g, '_');
  foreignTables.push(table);
  await hbase.admin.createTable({ name: table, families: [{ name: 'x' }] });
  const name = uniqueName('noconsent');
  await applyPipeline(pipelineOf(name, (p) => ((p.spec.sources!.impressions!.topic = topic), (p.spec.storage!.table = table))));

  const stalled = await waitForCondition(namespace, name, 'Stalled', 'True', undefined, 90_000);
  expect(condition(stalled, 'TopicsReady')).toMatchObject({ status: 'False', reason: 'TopicExists' });
  expect(condition(stalled, 'TopicsReady')!.message).toContain(`topic ${topic} exists`);
  await waitForCondition(namespace, name, 'StorageReady', 'False', 'TableExists');
  const created = (await getPipeline(namespace, name))!.status!.owned!.topics!;
  expect(created).not.toContain(topic);
  // Several drift checks (every 2 s here) later the foreign topic is as its owner left it.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  expect(await overrides(topic)).toEqual({ 'retention.ms': '3600000', 'max.message.bytes': '123456' });
  expect((await hbase.admin.describeTable(table))!.families.map((f) => f.name)).toEqual(['x']);

  await kubectl('delete', 'adp', name, '-n', namespace, '--wait=true', '--timeout=90s');
  const left = await admin.listTopics();
  expect(left).toContain(topic);
  for (const mine of created) expect(left).not.toContain(mine);
  expect(await hbase.admin.tableExists(table)).toBe(true);
}, 180_000);

test('with adpipe.io/adopt the topic is managed: owned keys follow the spec, a foreign override survives drift correction; unset source topics derive from the pipeline', async () => {
  const topic = await foreignTopic();
  const name = uniqueName('adopt');
  const pipeline = pipelineOf(name, (p) => {
    p.metadata.annotations = { 'adpipe.io/adopt': topic };
    p.spec.sources = { impressions: { topic } };
  });
  await applyPipeline(pipeline);
  const ready = await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 90_000);
  expect(ready.status!.owned!.topics).toContain(topic);
  const spec = (await getPipeline(namespace, name))!.spec;
  expect(spec.sources?.clicks?.topic).toBeUndefined(); // never written to spec
  expect(ready.status!.topicNames).toMatchObject({ impressions: topic, clicks: `adpipe.${namespace}.${name}.ad-clicks`, bidRequests: `adpipe.${namespace}.${name}.bid-requests` });
  expect(await admin.listTopics()).toEqual(expect.arrayContaining([`adpipe.${namespace}.${name}.ad-clicks`, `adpipe.${namespace}.${name}.ad-conversions`]));

  const retention = String(168 * 3_600_000);
  await eventually('retention.ms set to the spec, the foreign override kept', async () => {
    const o = await overrides(topic);
    return o['retention.ms'] === retention && o['max.message.bytes'] === '123456' ? true : undefined;
  });
  // Drift made directly in Kafka: the owned key goes back, the other override stays.
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }, { name: 'max.message.bytes', value: '123456' }] }] });
  await eventually('retention.ms corrected', async () => ((await overrides(topic))['retention.ms'] === retention ? true : undefined), 30_000);
  expect((await overrides(topic))['max.message.bytes']).toBe('123456');
}, 180_000);
