import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { BID_REQUEST_SCHEMA, writeGeneratedDirectory, type Expected } from '../../generator/index.js';
import { registryFetcher } from '../decode/avro.js';
import { produceDirectory } from '../../producer/index.js';
import { frame, SchemaRegistryClient, valueSubject } from '../../schema-registry/index.js';
import { freePort } from '../../e2e/stack/ports.js';
import { stopProcess } from '../../e2e/stack/proc.js';
import { restartRegistry } from '../../e2e/stack/stack.js';
import { eventually, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { createPipeline, dropPipeline, ensureBuilt, openProducer, startWorker, stopWorker, untilExact, type TestPipeline, type WorkerProcess } from './harness.js';

// Confluent-framed bid requests with ids from the stack's real schema registry (Apicurio, Confluent
// API): three writer versions interleaved on one topic decode exactly; an id the registry does not
// know is dead-lettered with the id; a registry outage makes the worker wait, never dead-letter.

const state = stack();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };
const kafka = new Kafka({ clientId: 'adpipe-schema-test', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
const registry = new SchemaRegistryClient({ url: state.registry.url });
const UNKNOWN_ID = 2_000_000_001;
let setDir: string;
let expected: Expected;
const pipelines: TestPipeline[] = [];
const workers: WorkerProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  setDir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-set-'));
  expected = writeGeneratedDirectory(setDir, { seed: 17, impressions: 400, writerVersions: true }).expected;
}, 120_000);

afterAll(async () => {
  await restartRegistry(stack());
  for (const worker of workers) await stopWorker(worker);
  for (const pipeline of pipelines) await dropPipeline(endpoints, pipeline);
  fs.rmSync(setDir, { recursive: true, force: true });
}, 180_000);

async function registryPipeline(prefix: string): Promise<TestPipeline> {
  const pipeline = await createPipeline(endpoints, uniqueName(prefix), { avro: { schemaRegistryUrl: state.registry.url } });
  pipelines.push(pipeline);
  return pipeline;
}

function produceSet(pipeline: TestPipeline): Promise<unknown> {
  const topics = Object.fromEntries(Object.entries(pipeline.config.sources).map(([source, s]) => [source, s.topic]));
  return produceDirectory(setDir, { kafka, topics, registry: { url: state.registry.url } });
}

async function metric(worker: WorkerProcess, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

test('three writer versions interleaved on one topic, ids from the registry: exact; an unknown id is dead-lettered with the id', async () => {
  const pipeline = await registryPipeline('rt-schemas');
  await produceSet(pipeline);
  const subject = valueSubject(pipeline.config.sources.bidRequests.topic);
  const versions = await registry.versions(subject);
  expect(versions).toHaveLength(3);
  const ids = await Promise.all(versions.map(async (v) => (await registry.version(subject, v)).id));
  expect(new Set(ids).size).toBe(3);

  // One framed record whose id no registry has.
  const producer = await openProducer(endpoints.bootstrap);
  await producer.send({ topic: pipeline.config.sources.bidRequests.topic, acks: -1, messages: [{ key: 'unknown-id', value: frame(UNKNOWN_ID, Buffer.from([2, 0x41])) }] });
  await producer.disconnect();

  const worker = startWorker(pipeline, await freePort());
  workers.push(worker);
  const withUnknown = { ...expected, stats: { ...expected.stats, invalid: { ...expected.stats.invalid, bidRequests: expected.stats.invalid.bidRequests + 1 } } };
  await untilExact(worker.port, withUnknown, 180_000, () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
  });
  // Each id fetched once by this worker: the three versions and the unknown one.
  expect(await metric(worker, /^adpipe_schema_fetches_total (\d+)/m)).toBe(4);

  const reasons = await deadLetterReasons(pipeline, expected.stats.invalid.bidRequests + 1);
  expect(reasons).toContain(`avro.schema:unknown_id_${UNKNOWN_ID}`);
  expect(reasons.filter((r) => r.startsWith('avro.schema'))).toHaveLength(1);
}, 300_000);

test('the registry stopped while the worker reads: it waits and retries, dead-letters nothing, and is exact once the registry is back', async () => {
  const pipeline = await registryPipeline('rt-outage');
  await produceSet(pipeline);
  await stopProcess(stack().pids['schema-registry']);
  const worker = startWorker(pipeline, await freePort());
  workers.push(worker);
  // The worker meets the outage: its bid-request batches fail as retriable and start over.
  await eventually('a retried batch', async () => ((await metric(worker, /^adpipe_batch_retries_total\{source="task",code="SCHEMA_REGISTRY"\} (\d+)/m)) > 0 ? true : undefined), 120_000, 1000);
  const during = await (await fetch(`http://127.0.0.1:${worker.port}/v1/pipeline/stats`)).json() as Expected['stats'];
  expect(during.accepted.bidRequests).toBe(0);
  expect(worker.child.exitCode).toBeNull();

  await restartRegistry(stack());
  await untilExact(worker.port, expected, 180_000, () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
  });
  expect((await deadLetterReasons(pipeline, expected.stats.invalid.bidRequests)).filter((r) => r.startsWith('avro.schema'))).toEqual([]);
}, 400_000);

test("the worker's fetcher reads the registry CA (and credentials) from the mounted files and fetches over https", async () => {
  const id = await registry.register(uniqueName('rt-tls'), JSON.stringify(BID_REQUEST_SCHEMA));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-tls-'));
  fs.writeFileSync(path.join(dir, 'username'), 'adpipe\n');
  fs.writeFileSync(path.join(dir, 'password'), 'not-checked-by-the-stack-registry\n');
  const files = { usernameFile: path.join(dir, 'username'), passwordFile: path.join(dir, 'password') };
  try {
    const fetcher = registryFetcher({ schemaRegistryUrl: state.registry.tlsUrl, schemaRegistryCaFile: state.registry.caFile, schemaRegistryAuth: files });
    expect(JSON.parse((await fetcher(id))!)).toEqual(BID_REQUEST_SCHEMA);
    // Without the CA the certificate is not trusted: an error to fix, not an outage to wait out.
    await expect(registryFetcher({ schemaRegistryUrl: state.registry.tlsUrl })(id)).rejects.toMatchObject({ code: 'SCHEMA_REGISTRY', retriable: false });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The `adpipe-reason` of every bid-request dead letter, once `count` of them are there. */
async function deadLetterReasons(pipeline: TestPipeline, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-reasons') });
  const reasons: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: pipeline.config.deadLetterTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.headers?.['adpipe-source']?.toString() === 'bidRequests') reasons.push(message.headers['adpipe-reason']?.toString() ?? '');
    },
  });
  try {
    await eventually(`${count} bid-request dead letters`, async () => (reasons.length >= count ? true : undefined), 60_000, 500);
  } finally {
    await consumer.disconnect();
  }
  return reasons;
}
