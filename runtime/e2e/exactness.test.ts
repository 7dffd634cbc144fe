import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import { freePort } from '../../e2e/stack/ports.js';
import { eventually, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { main as adpipe } from '../../cli/adpipe.js';
import { generate, type Expected } from '../../generator/index.js';
import { HBaseClient } from '../../hbase/index.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { untilExact, createPipeline, dropPipeline, ensureBuilt, getJson, kafkaMessages, openProducer, performancePath, produce, startWorker, stopWorker, type TestPipeline, type WorkerProcess } from './harness.js';

// Generated data in → the worker's answers equal the generator's ground truth, against the shared
// stack's real Kafka and HBase, with the worker as its own process.

const endpoints = { bootstrap: stack().kafka.bootstrap, zookeeperQuorum: stack().hbase.zookeeperQuorum };
let pipeline: TestPipeline;
let worker: WorkerProcess | undefined;
let expected: Expected;
let producedMessages: Record<SourceName, number>;

beforeAll(async () => {
  ensureBuilt();
  const set = generate({ seed: 11, impressions: 1500 });
  expected = set.expected;
  pipeline = await createPipeline(endpoints, uniqueName('rt-exact'));
  const messages = kafkaMessages(set.messages);
  producedMessages = Object.fromEntries(SOURCE_NAMES.map((s) => [s, messages[s].length])) as Record<SourceName, number>;
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, messages);
  await producer.disconnect();
  worker = startWorker(pipeline, await freePort());
}, 180_000);

afterAll(async () => {
  await stopWorker(worker);
  if (pipeline) await dropPipeline(endpoints, pipeline);
}, 120_000);

test('stats and every hourly and daily query, with and without breakdown, equal expected.json', async () => {
  const port = worker!.port;
  await eventually(
    'the worker to have counted every record',
    async () => {
      if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output()}`);
      const stats = await getJson<Expected['stats']>(port, '/v1/pipeline/stats');
      return JSON.stringify(stats) === JSON.stringify(expected.stats) ? stats : undefined;
    },
    150_000,
    1000,
  ).catch(async (error: unknown) => {
    const stats = await getJson<Expected['stats']>(port, '/v1/pipeline/stats').catch(() => undefined);
    expect(stats).toEqual(expected.stats);
    throw error;
  });
  expect(expected.queries.length).toBeGreaterThan(12);
  await untilExact(port, expected, 60_000);
  for (const { query, response } of expected.queries) {
    expect(await getJson(port, performancePath(query))).toEqual(response);
  }
  const bad = await fetch(`http://127.0.0.1:${port}/v1/campaigns/x/performance?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=week`);
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ error: { code: 'QUERY_ARGUMENT', message: expect.stringContaining('granularity') } });
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(ready.status).toBe(200);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toMatch(/adpipe_records_total\{source="impressions",outcome="accepted"\} \d+/);
  expect(metrics).toContain('adpipe_hbase_write_duration_seconds_bucket');
  expect(metrics).toContain('adpipe_consumer_lag');
}, 200_000);

test('every invalid record is in the dead-letter topic once, with its source, reason and origin', async () => {
  const totalInvalid = SOURCE_NAMES.reduce((sum, s) => sum + expected.stats.invalid[s], 0);
  expect(totalInvalid).toBeGreaterThan(10);
  const kafka = new Kafka({ clientId: 'adpipe-dlq-check', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('dlq-check') });
  const seen: { source: string; reason: string; topic: string; partition: number; offset: number; value: Buffer }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: pipeline.config.deadLetterTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const header = (name: string) => message.headers?.[name]?.toString() ?? '';
      seen.push({ source: header('adpipe-source'), reason: header('adpipe-reason'), topic: header('adpipe-topic'), partition: Number(header('adpipe-partition')), offset: Number(header('adpipe-offset')), value: message.value ?? Buffer.alloc(0) });
    },
  });
  try {
    await eventually('every dead letter', async () => (seen.length >= totalInvalid ? true : undefined), 60_000, 500);
  } finally {
    await consumer.disconnect();
  }
  expect(seen).toHaveLength(totalInvalid);
  for (const source of SOURCE_NAMES) {
    expect(seen.filter((m) => m.source === source)).toHaveLength(expected.stats.invalid[source]);
  }
  for (const letter of seen) {
    expect(letter.reason).toMatch(/^(json\.(parse|type)|csv\.(column_count|quote)|avro\.(decode|schema)|message\.empty|field\.(missing|type|range|future):[a-z_]+)$/);
    expect(letter.topic).toBe(pipeline.config.sources[letter.source as SourceName].topic);
    expect(letter.offset).toBeLessThan(producedMessages[letter.source as SourceName]);
    expect(letter.value.length).toBeGreaterThan(0);
  }
  // Every kind the generator makes shows up (its edge cases cover each source's failure modes).
  expect(seen.map((m) => m.reason)).toEqual(expect.arrayContaining(['json.parse', 'csv.column_count', 'csv.quote', 'avro.decode', 'field.future:ts']));
}, 120_000);

test('no user id leaves the source topics: the internal topic and the HBase table hold none', async () => {
  const USER = Buffer.from('usr-');
  const kafka = new Kafka({ clientId: 'adpipe-pii-check', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  /** Every message of a topic, aborted transactions' too, read until nothing new comes for 2 s. */
  const everyValue = async (topic: string): Promise<Buffer[]> => {
    const values: Buffer[] = [];
    let lastSeen = Date.now();
    const consumer = kafka.consumer({ groupId: uniqueName('pii-check'), readUncommitted: true });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void (values.push(message.value ?? Buffer.alloc(0)), (lastSeen = Date.now())) });
    try {
      await eventually(`all of ${topic}`, async () => (values.length > 0 && Date.now() - lastSeen > 2000 ? true : undefined), 60_000, 250);
    } finally {
      await consumer.disconnect();
    }
    return values;
  };
  // The search finds user ids where they are: the generated impressions carry them.
  expect((await everyValue(pipeline.config.sources.impressions.topic)).some((value) => value.includes(USER))).toBe(true);
  const internal = await everyValue(pipeline.config.tasks.topic);
  expect(internal.filter((value) => value.includes(USER))).toEqual([]);
  const hbase = new HBaseClient({ zookeeperQuorum: endpoints.zookeeperQuorum });
  try {
    let cells = 0;
    for await (const row of new HBaseStore(hbase, pipeline.config.hbase.table).scan({ startRow: Buffer.alloc(0), stopRow: Buffer.alloc(0) })) {
      for (const cell of row.cells) {
        cells++;
        expect({ row: row.row.includes(USER), value: cell.value.includes(USER) }).toEqual({ row: false, value: false });
      }
    }
    expect(cells).toBeGreaterThan(0);
  } finally {
    hbase.close();
  }
}, 180_000);

test('adpipe query performance answers the same JSON from the same query module', async () => {
  const picks = [expected.queries[0]!, expected.queries.find((q) => q.query.by === 'country' && q.query.granularity === 'day')!];
  for (const { query, response } of picks) {
    let out = '';
    let err = '';
    const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) }, env: {} } as unknown as Parameters<typeof adpipe>[1];
    const argv = ['query', 'performance', '--config', pipeline.configFile, '--campaign', query.campaign_id, '--from', query.from, '--to', query.to, '--granularity', query.granularity, ...(query.by ? ['--by', query.by] : []), '-o', 'json'];
    expect({ code: await adpipe(argv, io), err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual(response);
  }
}, 60_000);
