import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { requireStackState } from '../e2e/stack/state.js';
import { SOURCE_FILES, SOURCES, writeGeneratedDirectory, type Source } from '../generator/index.js';
import { newProducer, produceDirectory, readMessages, sendMessages, type SendSummary } from '../producer/index.js';

/**
 * `npm run bench -- generate [impressions]`: generates a set (default 1M impressions) and produces
 * it into fresh topics of the local stack's Kafka: the impressions with adpipe's producer and, on the
 * same data in the same run, with a plain kafkajs loop (batches of the same size, one await per
 * send; and one message per send on a sample); then the whole set, all sources at once.
 * Topics and files are deleted at the end. Ends with one JSON line.
 */
const impressions = Number(process.argv[3] ?? 1_000_000);
const BATCH = 2000;
const SINGLE_SAMPLE = 20_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString('en-US')} msg/s`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-bench-gen-'));
const kafka = new Kafka({ clientId: 'adpipe-bench', brokers: [requireStackState().kafka.bootstrap], logLevel: logLevel.ERROR });
const admin = kafka.admin();
const run = `bench-${process.pid}-${Date.now().toString(36)}`;
const topics: string[] = [];
const topic = async (name: string, partitions = 3): Promise<string> => {
  const t = `${run}-${name}`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: t, numPartitions: partitions }] });
  topics.push(t);
  return t;
};

async function plainLoop(file: string, t: string, perSend: number, limit = Infinity): Promise<{ messages: number; seconds: number }> {
  const producer = kafka.producer();
  await producer.connect();
  const started = Date.now();
  let batch: { value: string }[] = [];
  let n = 0;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    if (n >= limit) break;
    batch.push({ value: line });
    n++;
    if (batch.length >= perSend) {
      await producer.send({ topic: t, messages: batch });
      batch = [];
    }
  }
  if (batch.length) await producer.send({ topic: t, messages: batch });
  const seconds = (Date.now() - started) / 1000;
  await producer.disconnect();
  return { messages: n, seconds };
}

try {
  await admin.connect();
  say(`generating ${impressions.toLocaleString('en-US')} impressions (seed 7) into ${dir}`);
  const t0 = Date.now();
  const { summary, expected } = writeGeneratedDirectory(dir, { seed: 7, impressions });
  const generateSeconds = (Date.now() - t0) / 1000;
  const sizes = Object.fromEntries(SOURCES.map((s) => [s, fs.statSync(path.join(dir, SOURCE_FILES[s].file)).size])) as Record<Source, number>;
  const totalMessages = SOURCES.reduce((n, s) => n + summary.messages[s], 0);
  say(`  generated in ${generateSeconds.toFixed(1)} s: ${JSON.stringify(summary.messages)} messages, ${(Object.values(sizes).reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB, ${expected.queries.length} expected answers`);

  const impressionsFile = path.join(dir, SOURCE_FILES.impressions.file);
  const producer = newProducer(kafka);
  await producer.connect();
  const ours: SendSummary = await sendMessages(producer, readMessages({ source: 'impressions', file: impressionsFile }), { topic: await topic('adpipe'), batchMessages: BATCH });
  await producer.disconnect();
  say(`  impressions, adpipe producer (keys, batches of ${BATCH}, reading while sending): ${ours.messages} in ${ours.seconds.toFixed(1)} s = ${rate(ours.messages, ours.seconds)}, ${ours.megabytesPerSecond.toFixed(1)} MB/s`);

  const plain = await plainLoop(impressionsFile, await topic('plain'), BATCH);
  say(`  impressions, plain kafkajs loop (batches of ${BATCH}, await each send, no keys): ${plain.messages} in ${plain.seconds.toFixed(1)} s = ${rate(plain.messages, plain.seconds)}`);

  const single = await plainLoop(impressionsFile, await topic('single'), 1, SINGLE_SAMPLE);
  say(`  impressions, plain kafkajs loop (one message per send), first ${SINGLE_SAMPLE}: ${single.seconds.toFixed(1)} s = ${rate(single.messages, single.seconds)}`);

  const setTopics = Object.fromEntries(await Promise.all(SOURCES.map(async (s) => [s, await topic(s)] as const))) as Record<Source, string>;
  const t1 = Date.now();
  const whole = await produceDirectory(dir, { kafka, topics: setTopics });
  const wholeSeconds = (Date.now() - t1) / 1000;
  say(`  whole set, all four sources at once (Avro encoding of bid requests included): ${totalMessages} in ${wholeSeconds.toFixed(1)} s = ${rate(totalMessages, wholeSeconds)}`);

  process.stdout.write(
    JSON.stringify({
      bench: 'generate',
      impressions,
      generateSeconds,
      messages: summary.messages,
      bytes: sizes,
      produceImpressions: {
        adpipe: { messages: ours.messages, seconds: ours.seconds, messagesPerSecond: Math.round(ours.messagesPerSecond) },
        plainKafkajsBatched: { messages: plain.messages, seconds: plain.seconds, messagesPerSecond: Math.round(plain.messages / plain.seconds) },
        plainKafkajsSingle: { messages: single.messages, seconds: single.seconds, messagesPerSecond: Math.round(single.messages / single.seconds) },
      },
      produceSet: { messages: totalMessages, seconds: wholeSeconds, messagesPerSecond: Math.round(totalMessages / wholeSeconds), perSource: Object.fromEntries(SOURCES.map((s) => [s, Math.round(whole[s]!.messagesPerSecond)])) },
    }) + '\n',
  );
} finally {
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
}
