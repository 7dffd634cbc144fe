import { jest } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startHBase, type HBasePorts } from '../e2e/stack/components/hbase.js';
import { newClusterId, startKafka, type KafkaPorts } from '../e2e/stack/components/kafka.js';
import { cacheRoot } from '../e2e/stack/paths.js';
import { freePort } from '../e2e/stack/ports.js';
import { stopProcess } from '../e2e/stack/proc.js';
import { eventually, kubectl, uniqueName } from '../e2e/support/stack-clients.js';
import type { Operator } from './operator.js';
import { hbaseTableAdmins } from './reconcile/hbase-admin.js';
import { applyPipeline, condition, cleanUp, examplePipeline, freshNamespace, getPipeline, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// Outages, against a PRIVATE Kafka and a PRIVATE HBase (the shared ones are never stopped): the
// pipeline goes Ready=False with a reason and events, the operator backs off instead of spinning,
// and it is Ready again once the server is back. Deletion with the server gone still completes.

jest.setTimeout(600_000);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-outage-'));
const kafkaLib = path.join(cacheRoot(), 'kafka-4.1.1', 'lib');
const hbaseLib = path.join(cacheRoot(), 'hbase-2.6.4-hadoop3', 'lib');
const clusterId = newClusterId();
let kafkaPorts: KafkaPorts;
let hbasePorts: HBasePorts;
let kafkaPid: number | undefined;
let hbasePid: number | undefined;
let namespace: string;
let operator: Operator;

const startPrivateKafka = async () => (kafkaPid = await startKafka(kafkaLib, path.join(dir, 'kafka'), kafkaPorts, clusterId, path.join(dir, 'kafka.log')));
const startPrivateHBase = async () => (hbasePid = await startHBase(hbaseLib, path.join(dir, 'hbase'), hbasePorts, path.join(dir, 'hbase.log')));

beforeAll(async () => {
  kafkaPorts = { broker: await freePort(), controller: await freePort() };
  hbasePorts = { zookeeper: await freePort(), master: await freePort(), regionServer: await freePort() };
  await installCrd();
  namespace = await freshNamespace('opout');
  await Promise.all([startPrivateKafka(), startPrivateHBase()]);
  operator = await startTestOperator(namespace, { tables: hbaseTableAdmins({ operationTimeoutMs: 5000, connectTimeoutMs: 1000 }), eventRepeatMs: 600_000 });
});

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
  await Promise.all([stopProcess(kafkaPid), stopProcess(hbasePid)]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function privatePipeline(name: string) {
  const pipeline = examplePipeline(namespace, name, { brokers: [`127.0.0.1:${kafkaPorts.broker}`] });
  pipeline.spec.hbase.zookeeperQuorum = `127.0.0.1:${hbasePorts.zookeeper}`;
  pipeline.spec.workers!.replicas = 0;
  pipeline.spec.deletionPolicy = 'Delete';
  return pipeline;
}

async function warningReasons(name: string): Promise<string[]> {
  const events = JSON.parse(await kubectl('get', 'events.events.k8s.io', '-n', namespace, '-o', 'json')) as { items: Array<{ reason: string; type: string; regarding: { name: string } }> };
  return events.items.filter((e) => e.regarding.name === name && e.type === 'Warning').map((e) => e.reason);
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await operator.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('Kafka down → Ready=False KafkaUnavailable, events, backoff; Kafka back → Ready', async () => {
  const name = uniqueName('kdown');
  await applyPipeline(privatePipeline(name));
  await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 120_000);

  await stopProcess(kafkaPid);
  // Kafka comes back whatever the assertions say: the tests after this one need it.
  try {
    const down = await waitForCondition(namespace, name, 'Ready', 'False', 'KafkaUnavailable', 90_000);
    expect(condition(down, 'TopicsReady')).toMatchObject({ status: 'False', reason: 'KafkaUnavailable' });
    expect(condition(down, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingAfterError' });
    expect(condition(down, 'StorageReady')).toMatchObject({ status: 'True' });
    expect(await eventually('a KafkaUnavailable event', async () => ((await warningReasons(name)).includes('KafkaUnavailable') ? true : undefined))).toBe(true);

    // Backoff: failed reconciles are requeued with growing delays, not in a tight loop.
    const before = await metric('adpipe_operator_reconcile_total', 'result="requeue"');
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const during = (await metric('adpipe_operator_reconcile_total', 'result="requeue"')) - before;
    expect(during).toBeGreaterThanOrEqual(1);
    expect(during).toBeLessThan(12);
    // The repeated failure is one event, not one per retry.
    expect((await warningReasons(name)).filter((r) => r === 'KafkaUnavailable')).toHaveLength(1);
  } finally {
    await startPrivateKafka();
  }
  await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 120_000);
});

test('HBase down → Ready=False HBaseUnavailable; HBase back → Ready', async () => {
  const name = uniqueName('hdown');
  await applyPipeline(privatePipeline(name));
  await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 120_000);

  await stopProcess(hbasePid);
  try {
    const down = await waitForCondition(namespace, name, 'Ready', 'False', 'HBaseUnavailable', 90_000);
    expect(condition(down, 'StorageReady')).toMatchObject({ status: 'False', reason: 'HBaseUnavailable' });
    expect(condition(down, 'TopicsReady')).toMatchObject({ status: 'True' });
    await eventually('an HBaseUnavailable event', async () => ((await warningReasons(name)).includes('HBaseUnavailable') ? true : undefined));
  } finally {
    await startPrivateHBase();
  }
  await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 180_000);
});

test('deletion with Kafka gone: the finalizer is released after the cleanup timeout, with an event', async () => {
  const name = uniqueName('gone');
  await applyPipeline(privatePipeline(name));
  await waitForCondition(namespace, name, 'TopicsReady', 'True', undefined, 120_000);
  await stopProcess(kafkaPid);
  await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
  await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true), 90_000);
  const reasons = await warningReasons(name);
  expect(reasons).toContain('CleanupAbandoned');
});
