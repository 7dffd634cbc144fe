import { Worker as Thread } from 'node:worker_threads';
import { Kafka, logLevel, type EachBatchPayload, type KafkaMessage } from 'kafkajs';
import { SOURCE_NAMES, type SourceName } from '../api/runtime-config.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { decodersFor } from '../runtime/decode/index.js';
import { createPipeline, dropPipeline, kafkaMessages, openProducer, produce } from '../runtime/e2e/harness.js';
import type { BoundThreadData, PackedBatch } from './bound-thread.js';
import { consumeAll, type ConsumeFigures } from './consume.js';

/**
 * `npm run bench -- runtime-bound [impressions]`: how close to the raw kafkajs consume rate any
 * pipeline can get on this machine (decision 0047). Over the same generated set as the runtime
 * bench, in one run, each beside the raw rate:
 *  - decode: the runtime's decoders on the consuming thread, nothing else;
 *  - decode-thread: the same decoding on a second thread (the consuming thread only copies bytes);
 *  - state-thread: decoding plus the least state work an exactly-once design needs, kept in
 *    memory and checkpointed to HBase once a second (bench/bound-thread.ts).
 * None of these is exactly-once or complete; they bound what the product can reach from above.
 */
const impressions = Number(process.argv[3] ?? 480_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const fmt = (n: number): string => n.toLocaleString('en-US');
const CHUNK = 2000;
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };

const set = generate({ seed: 7, impressions });
const all = kafkaMessages(set.messages);
const total = SOURCE_NAMES.reduce((sum, source) => sum + all[source].length, 0);
const pipeline = await createPipeline(endpoints, `bench-rb-${Date.now().toString(36)}`, { partitions: 6, saltBuckets: 8, batchSize: CHUNK });
const kafka = new Kafka({ clientId: 'adpipe-bench-bound', brokers: [endpoints.bootstrap], logLevel: logLevel.ERROR });
const topics = SOURCE_NAMES.map((source) => pipeline.config.sources[source].topic);
const sourceByTopic = new Map<string, SourceName>(SOURCE_NAMES.map((source) => [pipeline.config.sources[source].topic, source]));
const servers = { kafka: state.pids.kafka, hbase: state.pids.hbase };

/** Runs `handle` over each chunk of each batch, resolving offsets as chunks finish. */
function chunked(handle: (source: SourceName, partition: number, chunk: KafkaMessage[]) => Promise<void>) {
  return async ({ batch, resolveOffset }: EachBatchPayload): Promise<void> => {
    const source = sourceByTopic.get(batch.topic)!;
    for (let i = 0; i < batch.messages.length; i += CHUNK) {
      const chunk = batch.messages.slice(i, i + CHUNK);
      await handle(source, batch.partition, chunk);
      resolveOffset(chunk[chunk.length - 1]!.offset);
    }
  };
}

/** A thread that takes packed batches; `send` resolves when the thread has handled one. */
function startThread(mode: BoundThreadData['mode']) {
  const data: BoundThreadData = { mode, sources: pipeline.config.sources, zookeeperQuorum: endpoints.zookeeperQuorum, table: pipeline.config.hbase.table, family: pipeline.config.storage.families.state };
  const thread = new Thread(new URL('./bound-thread.js', import.meta.url), { workerData: data });
  const waiting = new Map<number, () => void>();
  let next = 0;
  thread.on('message', (id: number) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  const send = (source: SourceName, partition: number, chunk: KafkaMessage[]): Promise<void> => {
    const size = chunk.reduce((sum, message) => sum + (message.value?.length ?? 0), 0);
    const bytes = new ArrayBuffer(size);
    const view = Buffer.from(bytes);
    const ends: number[] = [];
    let at = 0;
    for (const message of chunk) {
      at += message.value?.copy(view, at) ?? 0;
      ends.push(at);
    }
    const batch: PackedBatch = { id: next++, source, partition, bytes, ends, offsets: chunk.map((message) => message.offset) };
    return new Promise<void>((resolve) => {
      waiting.set(batch.id, resolve);
      thread.postMessage(batch, [bytes]);
    });
  };
  return { send, stop: () => thread.terminate() };
}

const figures: Record<string, number> = {};
function report(name: string, run: ConsumeFigures, raw?: ConsumeFigures): void {
  const ratio = raw ? Math.round((run.messagesPerSecond / raw.messagesPerSecond) * 1000) / 1000 : 1;
  figures[`${name.replace(/-/g, '_')}_msg_per_s`] = run.messagesPerSecond;
  if (raw) figures[`${name.replace(/-/g, '_')}_ratio`] = ratio;
  say(`${name.padEnd(13)} ${fmt(run.messagesPerSecond).padStart(8)} msg/s${raw ? ` (ratio ${ratio})` : ''}; CPU per message: this process ${run.selfCpuUs} µs, Kafka ${run.serverCpuUs.kafka} µs, HBase ${run.serverCpuUs.hbase} µs`);
}

try {
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, all);
  await producer.disconnect();
  say(`${fmt(total)} messages in Kafka (${fmt(impressions)} impressions' set, seed 7)`);
  const consume = (name: string, work?: (payload: EachBatchPayload) => Promise<void>) => consumeAll(kafka, { groupId: `${pipeline.name}-${name}`, topics, total, servers, work });

  const raw = await consume('raw');
  report('raw', raw);
  const decoders = decodersFor(pipeline.config.sources);
  const decodeHere = chunked(async (source, partition, chunk) => {
    await decoders[source](chunk.map((m) => ({ partition, offset: m.offset, timestamp: m.timestamp, value: m.value })), Date.now());
  });
  report('decode', await consume('decode', decodeHere), raw);
  for (const mode of ['decode', 'state'] as const) {
    const thread = startThread(mode);
    report(`${mode}-thread`, await consume(`${mode}-thread`, chunked(thread.send)), raw);
    await thread.stop();
  }
  const rawAgain = await consume('raw-again');
  report('raw-again', rawAgain);
  say(JSON.stringify({ bench: 'runtime-bound', messages: total, raw_again_msg_per_s: rawAgain.messagesPerSecond, ...figures }));
} finally {
  await dropPipeline(endpoints, pipeline);
}
