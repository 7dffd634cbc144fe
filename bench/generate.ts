import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';
import { requireStackState } from '../e2e/stack/state.js';
import { SOURCE_FILES, SOURCES, writeGeneratedDirectory, type Source } from '../generator/index.js';
import { newProducer, produceDirectory, readMessageChunks, sendMessages, type SendSummary } from '../producer/index.js';

/**
 * `npm run bench -- generate [impressions]`: generates a set (default 1M impressions) and produces
 * it into fresh topics of the local stack's Kafka: the impressions with adpipe's producer and, on the
 * same data in the same run, with a plain kafkajs loop (batches of the same size, one await per
 * send; and one message per send on a sample), alternating for ADPIPE_BENCH_ROUNDS rounds (default
 * 2); then the whole set, all sources at once.
 * Topics and files are deleted at the end. Ends with one JSON line.
 */
const impressions = Number(process.argv[3] ?? 1_000_000);
const BATCH = 2000;
const SINGLE_SAMPLE = 20_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString('en-US')} msg/s`;
const ROUNDS = Number(process.env.ADPIPE_BENCH_ROUNDS ?? 2);

interface Round {
  messages: number;
  seconds: number;
  cpuSeconds: number;
  rate: number;
}

async function measure(work: () => Promise<number>): Promise<Round> {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const messages = await work();
  const used = process.cpuUsage(cpu);
  const seconds = (Date.now() - started) / 1000;
  return { messages, seconds, cpuSeconds: (used.user + used.system) / 1e6, rate: Math.round(messages / seconds) };
}

const describe = (r: Round): string => `${r.messages} in ${r.seconds.toFixed(1)} s = ${rate(r.messages, r.seconds)} (client CPU ${r.cpuSeconds.toFixed(1)} s)`;

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
  const cpu0 = process.cpuUsage();
  const { summary, expected } = writeGeneratedDirectory(dir, { seed: 7, impressions });
  const generateSeconds = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const generateCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const load = os.loadavg()[0]!.toFixed(1);
  const sizes = Object.fromEntries(SOURCES.map((s) => [s, fs.statSync(path.join(dir, SOURCE_FILES[s].file)).size])) as Record<Source, number>;
  const totalMessages = SOURCES.reduce((n, s) => n + summary.messages[s], 0);
  say(`  generated in ${generateSeconds.toFixed(1)} s (CPU ${generateCpuSeconds.toFixed(1)} s, load average ${load} on ${os.cpus().length} cores): ${JSON.stringify(summary.messages)} messages, ${(Object.values(sizes).reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB, ${expected.queries.length} expected answers`);

  const impressionsFile = path.join(dir, SOURCE_FILES.impressions.file);
  // Alternate the two producers so that neither always runs on a warmer (or busier) broker; keep
  // each one's best round. CPU seconds of this process show the client-side cost apart from load.
  const best = { adpipe: undefined as Round | undefined, plain: undefined as Round | undefined };
  for (let round = 1; round <= ROUNDS; round++) {
    const ours = await measure(async () => {
      const producer = newProducer(kafka);
      await producer.connect();
      const s: SendSummary = await sendMessages(producer, readMessageChunks({ source: 'impressions', file: impressionsFile }), { topic: await topic(`adpipe${round}`), batchMessages: BATCH });
      await producer.disconnect();
      return s.messages;
    });
    say(`  round ${round}, impressions, adpipe producer (id keys, batches of ${BATCH}, reading while sending): ${describe(ours)}`);
    const plain = await measure(async () => (await plainLoop(impressionsFile, await topic(`plain${round}`), BATCH)).messages);
    say(`  round ${round}, impressions, plain kafkajs loop (batches of ${BATCH}, await each send, no keys): ${describe(plain)}`);
    if (!best.adpipe || ours.rate > best.adpipe.rate) best.adpipe = ours;
    if (!best.plain || plain.rate > best.plain.rate) best.plain = plain;
  }

  const single = await measure(async () => (await plainLoop(impressionsFile, await topic('single'), 1, SINGLE_SAMPLE)).messages);
  say(`  impressions, plain kafkajs loop (one message per send), first ${SINGLE_SAMPLE}: ${describe(single)}`);

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
      generateCpuSeconds,
      loadAverage: Number(load),
      messages: summary.messages,
      bytes: sizes,
      produceImpressions: { rounds: ROUNDS, adpipe: best.adpipe, plainKafkajsBatched: best.plain, plainKafkajsSingle: single },
      produceSet: { messages: totalMessages, seconds: wholeSeconds, messagesPerSecond: Math.round(totalMessages / wholeSeconds), perSource: Object.fromEntries(SOURCES.map((s) => [s, Math.round(whole[s]!.messagesPerSecond)])) },
    }) + '\n',
  );
} finally {
  if (topics.length) await admin.deleteTopics({ topics }).catch(() => undefined);
  await admin.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
}
