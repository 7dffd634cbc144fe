import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import avro from 'avsc';
import type { Consumer, Kafka } from 'kafkajs';
import { eventually, kafka, uniqueName } from '../e2e/support/stack-clients.js';
import { BID_REQUEST_SCHEMA, SOURCE_FILES, SOURCES, writeGeneratedDirectory, type Source } from '../generator/index.js';
import { produceDirectory } from './directory.js';
import { newProducer } from './kafka.js';
import { sendMessages } from './produce.js';
import { readMessages, type OutMessage } from './read.js';

// Against the shared stack's real Kafka, in fresh topics: what goes in is exactly what comes out.

interface Consumed {
  topic: string;
  partition: number;
  key: string | null;
  value: Buffer;
}

let client: Kafka;
let dir: string;
const topicsToDelete: string[] = [];
const consumers: Consumer[] = [];

beforeAll(() => {
  client = kafka('adpipe-producer-test');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-produce-'));
});
afterAll(async () => {
  for (const c of consumers) await c.disconnect();
  const admin = client.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: topicsToDelete }).catch(() => undefined);
  await admin.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function consumeAll(topics: string[], count: number): Promise<Consumed[]> {
  const consumer = client.consumer({ groupId: uniqueName('produce-test') });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const got: Consumed[] = [];
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      got.push({ topic, partition, key: message.key ? message.key.toString() : null, value: message.value ?? Buffer.alloc(0) });
    },
  });
  await eventually(`${count} messages from ${topics.join(', ')}`, async () => (got.length >= count ? true : undefined), 90_000);
  await consumer.stop();
  return got;
}

async function fileMessages(source: Source): Promise<OutMessage[]> {
  const out: OutMessage[] = [];
  for await (const m of readMessages({ source, file: path.join(dir, SOURCE_FILES[source].file) })) out.push(m);
  return out;
}

/** True when `part` appears in `whole` in the same order (not necessarily adjacent). */
function isSubsequence(part: Buffer[], whole: Buffer[]): boolean {
  let i = 0;
  for (const w of whole) if (i < part.length && w.equals(part[i]!)) i++;
  return i === part.length;
}

test('a generated set goes into Kafka and reads back exactly: every message, byte for byte, in order per partition, copies of an id on one partition', async () => {
  const { summary } = writeGeneratedDirectory(dir, { seed: 11, impressions: 3000 });
  const prefix = uniqueName('gen');
  const topics = Object.fromEntries(SOURCES.map((s) => [s, `${prefix}-${s}`])) as Record<Source, string>;
  topicsToDelete.push(...Object.values(topics));

  const produced = await produceDirectory(dir, { kafka: client, topics, createTopics: { partitions: 3, replicationFactor: 1 }, send: { batchMessages: 250 } });
  const total = SOURCES.reduce((n, s) => n + summary.messages[s], 0);
  for (const s of SOURCES) expect(produced[s]!.messages).toBe(summary.messages[s]);

  const consumed = await consumeAll(Object.values(topics), total);
  expect(consumed).toHaveLength(total);
  for (const source of SOURCES) {
    const expected = await fileMessages(source);
    const got = consumed.filter((m) => m.topic === topics[source]);
    const sig = (m: { key: string | null; value: Buffer }): string => `${m.key}\u0000${m.value.toString('base64')}`;
    expect(got.map(sig).sort()).toEqual(expected.map(sig).sort());
    for (const partition of [0, 1, 2]) {
      const inPartition = got.filter((m) => m.partition === partition).map((m) => m.value);
      expect(isSubsequence(inPartition, expected.map((m) => m.value))).toBe(true);
    }
    const partitionOfKey = new Map<string, number>();
    for (const m of got) {
      if (m.key === null) continue;
      expect(partitionOfKey.get(m.key) ?? m.partition).toBe(m.partition);
      partitionOfKey.set(m.key, m.partition);
    }
  }

  // The bid requests are Avro binary that decodes to the records of the file.
  const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
  const firstLine = fs.readFileSync(path.join(dir, SOURCE_FILES.bidRequests.file), 'utf8').split('\n')[0]!;
  const record = JSON.parse(firstLine) as { request_id: string };
  const sent = consumed.find((m) => m.topic === topics.bidRequests && m.key === record.request_id)!;
  expect(type.fromBuffer(sent.value)).toEqual(record);
});

test('a CSV file record by record at a steady rate, and bid requests with Confluent framing', async () => {
  const csvTopic = uniqueName('clicks-json');
  const bidTopic = uniqueName('bids-framed');
  topicsToDelete.push(csvTopic, bidTopic);
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: csvTopic, numPartitions: 1 }, { topic: bidTopic, numPartitions: 1 }] });
  await admin.disconnect();

  const csv = path.join(dir, 'clicks.csv');
  fs.writeFileSync(csv, 'click_id,impression_id,ts,user_id\r\n' + Array.from({ length: 30 }, (_, i) => `k${i},i${i},2026-01-05T10:00:0${i % 10}Z,"u,${i}"`).join('\r\n') + '\r\n');
  const bids = path.join(dir, 'bids.jsonl');
  const bid = { request_id: 'r1', ts: 1767607200000, exchange: 'adx', publisher_id: 'p', site_domain: null, app_bundle: 'com.x', device_type: 'MOBILE', country: 'US', user_id: 'u', floor_price_micros: 5 };
  fs.writeFileSync(bids, `${JSON.stringify(bid)}\n`);

  const producer = newProducer(client);
  await producer.connect();
  try {
    const progress: number[] = [];
    const s = await sendMessages(producer, readMessages({ source: 'clicks', file: csv, skipHeader: true }), {
      topic: csvTopic,
      rate: 300,
      onProgress: (p) => progress.push(p.messages),
    });
    expect(s.messages).toBe(30);
    expect(progress.at(-1)).toBe(30);
    await sendMessages(producer, readMessages({ source: 'bidRequests', file: bids, avro: { confluentSchemaId: 42 } }), { topic: bidTopic });
  } finally {
    await producer.disconnect();
  }

  const got = await consumeAll([csvTopic, bidTopic], 31);
  const clicks = got.filter((m) => m.topic === csvTopic).map((m) => m.value.toString());
  expect(clicks[7]).toBe('k7,i7,2026-01-05T10:00:07Z,"u,7"');
  expect(clicks.map((c) => c.split(',')[0])).toEqual(Array.from({ length: 30 }, (_, i) => `k${i}`));
  const framed = got.find((m) => m.topic === bidTopic)!.value;
  expect([...framed.subarray(0, 5)]).toEqual([0, 0, 0, 0, 42]);
  expect(avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema).fromBuffer(framed.subarray(5))).toEqual(bid);
});

test('a missing topic is an error that says what to do', async () => {
  const missing = uniqueName('absent');
  await expect(
    produceDirectory(dir, { kafka: client, topics: { impressions: missing }, sources: ['impressions'] }),
  ).rejects.toMatchObject({ code: 'PRODUCE_TOPIC', message: expect.stringContaining(`${missing} do not exist`) });
});
