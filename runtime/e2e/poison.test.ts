import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../e2e/stack/ports.js';
import { eventually, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { generate, type Expected } from '../../generator/index.js';
import { createPipeline, dropPipeline, ensureBuilt, getJson, kafkaMessages, openProducer, produce, startWorker, stopWorker, type TestPipeline, type WorkerProcess } from './harness.js';

// A record that makes a stage throw (test hook ADPIPE_TEST_FAULT_MARKER) on the real stack: while
// it keeps failing the worker reports no progress (readiness, metric); after N failures the same
// way it goes to the dead letters as processing.failed with the error's code, the partition moves
// on, and the totals of every other record stay exact.

const MARKER = 'poison-8d1f';
const endpoints = { bootstrap: stack().kafka.bootstrap, zookeeperQuorum: stack().hbase.zookeeperQuorum };
let pipeline: TestPipeline;
let worker: WorkerProcess | undefined;
let expected: Expected;
let poison: Buffer;

beforeAll(async () => {
  ensureBuilt();
  const set = generate({ seed: 18, impressions: 300 });
  expected = set.expected;
  pipeline = await createPipeline(endpoints, uniqueName('rt-poison'), { partitions: 2 });
  const messages = kafkaMessages(set.messages);
  // A well-formed impression, except that it carries the marker: only the injected fault fails it.
  poison = Buffer.from(JSON.stringify({ impression_id: `imp-${MARKER}`, request_id: 'r', campaign_id: 'c', creative_id: 'k', user_id: 'u', ts: '2026-01-05T10:00:00Z', price_micros: 1 }));
  messages.impressions.splice(Math.floor(messages.impressions.length / 2), 0, { key: null, value: poison });
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, messages);
  await producer.disconnect();
}, 180_000);

afterAll(async () => {
  await stopWorker(worker);
  if (pipeline) await dropPipeline(endpoints, pipeline);
}, 120_000);

const metricsOf = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

test('a record failing without end makes the worker report no progress (readiness, metric)', async () => {
  // The settings as the operator renders spec.workers.poisonAttempts / stallThreshold into the config.
  fs.writeFileSync(pipeline.configFile, JSON.stringify({ ...pipeline.config, worker: { logLevel: 'warn', partitionConcurrency: 8, poisonAttempts: 1_000_000, stallThresholdMs: 3000 } }));
  worker = startWorker(pipeline, await freePort(), { ADPIPE_TEST_FAULT_MARKER: MARKER });
  const port = worker.port;
  const reason = await eventually(
    'readiness to report the stalled task',
    async () => {
      if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output()}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      if (ready?.status !== 503) return undefined;
      const body = (await ready.json()) as { reason?: string };
      return body.reason?.includes('no progress') ? body.reason : undefined;
    },
    90_000,
    500,
  );
  expect(reason).toContain('INJECTED_FAULT');
  expect(await metricsOf(port)).toMatch(/^adpipe_tasks_stalled [1-9]/m);
  await stopWorker(worker);
}, 150_000);

test('after N failures the record is a dead letter (processing.failed, its code); every other total is exact', async () => {
  fs.writeFileSync(pipeline.configFile, JSON.stringify({ ...pipeline.config, worker: { logLevel: 'warn', partitionConcurrency: 8, poisonAttempts: 3, stallThresholdMs: 600_000 } }));
  worker = startWorker(pipeline, await freePort(), { ADPIPE_TEST_FAULT_MARKER: MARKER });
  const port = worker.port;
  // The poison record counts as invalid (it is dead-lettered, never counted as accepted).
  const want = { ...expected.stats, invalid: { ...expected.stats.invalid, impressions: expected.stats.invalid.impressions + 1 } };
  await eventually(
    'exact totals',
    async () => {
      if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output()}`);
      const stats = await getJson<Expected['stats']>(port, '/v1/pipeline/stats').catch(() => undefined);
      return JSON.stringify(stats) === JSON.stringify(want) ? stats : undefined;
    },
    150_000,
    1000,
  ).catch(async (error: unknown) => {
    expect(await getJson(port, '/v1/pipeline/stats')).toEqual(want);
    throw error;
  });
  expect(await metricsOf(port)).toMatch(/^adpipe_records_processing_failed_total\{source="impressions",code="INJECTED_FAULT"\} 1$/m);
  expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

  const kafka = new Kafka({ clientId: 'adpipe-poison-check', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('poison-check') });
  const failed: Record<string, string>[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: pipeline.config.deadLetterTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      if (headers['adpipe-reason'] === 'processing.failed') failed.push({ ...headers, value: message.value?.toString() ?? '' });
    },
  });
  try {
    await eventually('the processing.failed dead letter', async () => (failed.length ? true : undefined), 60_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // a second copy would come now
  } finally {
    await consumer.disconnect();
  }
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatchObject({ 'adpipe-source': 'impressions', 'adpipe-error-code': 'INJECTED_FAULT', 'adpipe-topic': pipeline.config.sources.impressions.topic, value: poison.toString() });
}, 200_000);
