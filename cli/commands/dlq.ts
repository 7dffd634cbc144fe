import type { Kafka, KafkaMessage } from 'kafkajs';
import { parseDuration } from '../../api/duration.js';
import { SOURCE_NAMES } from '../../api/runtime-config.js';
import { deadLetterTopicOf, sourceTopicOf } from '../../operator/render/names.js';
import { kafkaClient, newProducer, readClientProperties } from '../../producer/index.js';
import { noPositionals, stringOption, type Command, type CommandContext, type OptionSpec } from '../command.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import { loadKubeConfig, pipelineRef, readPipeline } from '../pipeline-access.js';
import { ProgressBar } from '../progress.js';

/**
 * `adpipe dlq inspect|replay`: the dead letters of a pipeline (contract §2.1 headers) — shown with
 * their headers, or re-produced, original bytes, to the source topic they came from once the cause is
 * fixed. Replays are safe to repeat: a record already counted is a duplicate (dedup by id).
 */

const SELECT: Record<string, OptionSpec> = {
  pipeline: { type: 'string', value: '[NS/]NAME', description: "the AdPipeline (namespace: the kubeconfig context's, else default)" },
  kubeconfig: { type: 'string', value: 'FILE', description: 'kubeconfig (default: KUBECONFIG or ~/.kube/config)' },
  brokers: { type: 'string', value: 'LIST', description: "Kafka bootstrap servers (default: the pipeline's spec.kafka.bootstrapServers)" },
  'command-config': { type: 'string', value: 'FILE', description: 'Kafka client properties for TLS/SASL (as adpipe produce --command-config)' },
  reason: { type: 'string', value: 'REASON', description: 'only dead letters whose adpipe-reason starts with this, e.g. processing.failed or field.missing' },
  since: { type: 'string', value: 'ISO|DURATION', description: 'only dead letters written after this instant, or this long ago (e.g. 2h)' },
};

interface DeadLetter {
  dlqPartition: number;
  dlqOffset: string;
  timestamp: string;
  headers: Record<string, string>;
  value: Buffer;
}

async function selection(ctx: CommandContext): Promise<{ kafka: Kafka; topic: string; sources: Set<string>; sinceMs: number | undefined; reason: string | undefined }> {
  const kc = loadKubeConfig(ctx);
  const pipeline = await readPipeline(kc, pipelineRef(ctx, kc));
  const brokers = (stringOption(ctx, 'brokers') ?? pipeline.spec.kafka.bootstrapServers.join(',')).split(',').map((b) => b.trim()).filter(Boolean);
  const since = stringOption(ctx, 'since');
  let sinceMs: number | undefined;
  if (since !== undefined) {
    sinceMs = /^([0-9]+(ms|s|m|h))+$/.test(since) ? Date.now() - parseDuration(since) : Date.parse(since);
    if (!Number.isFinite(sinceMs)) throw new UsageError(`--since ${since}: give an ISO instant (2026-12-01T10:00:00Z) or a duration (2h)`, ctx.path);
  }
  const sources = new Set(SOURCE_NAMES.map((s) => pipeline.status?.topicNames?.[s] ?? sourceTopicOf(pipeline, s)));
  const commandConfig = stringOption(ctx, 'command-config');
  return { kafka: kafkaClient(brokers, 'adpipe-dlq', commandConfig === undefined ? {} : readClientProperties(commandConfig)), topic: pipeline.status?.topicNames?.deadLetter ?? deadLetterTopicOf(pipeline), sources, sinceMs, reason: stringOption(ctx, 'reason') };
}

/** Every committed dead letter of the topic up to its current end, filtered; no consumer group is left behind. */
async function readDeadLetters(kafka: Kafka, topic: string, filter: { sinceMs?: number; reason?: string }, onProgress: (seen: number, total: number) => void): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `adpipe-cli-dlq-${process.pid}-${Date.now()}`;
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = filter.sinceMs !== undefined ? await admin.fetchTopicOffsetsByTimestamp(topic, filter.sinceMs) : ends.map((p) => ({ partition: p.partition, offset: p.low }));
    const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
    const startOf = new Map(starts.map((p) => [p.partition, BigInt(p.offset === '-1' ? ends.find((e) => e.partition === p.partition)!.high : p.offset)]));
    const total = ends.reduce((sum, p) => sum + Number(BigInt(p.high) - (startOf.get(p.partition) ?? BigInt(p.low))), 0);
    for (const [partition, end] of remaining) if ((startOf.get(partition) ?? 0n) >= end) remaining.delete(partition);
    const letters: DeadLetter[] = [];
    if (!remaining.size) return letters;
    const consumer = kafka.consumer({ groupId, readUncommitted: false });
    await consumer.connect();
    let seen = 0;
    let joined = false;
    let lastProgress = Date.now();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
        lastProgress = Date.now();
        for (const [partition, offset] of startOf) consumer.seek({ topic, partition, offset: String(offset) });
      });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen++;
          lastProgress = Date.now();
          onProgress(seen, total);
          const end = remaining.get(partition);
          if (end === undefined) return;
          if (matches(message, filter)) letters.push(deadLetter(partition, message));
          if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
        },
      });
      // Transaction markers take offsets too and are never delivered, so a partition whose last
      // offset is a marker never reports its end: 5 s without a message after joining ends the read.
      const deadline = Date.now() + 300_000;
      while (remaining.size && Date.now() < deadline && !(joined && Date.now() - lastProgress > 5000)) await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      await consumer.disconnect();
    }
    return letters.sort((a, b) => a.dlqPartition - b.dlqPartition || Number(BigInt(a.dlqOffset) - BigInt(b.dlqOffset)));
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

function matches(message: KafkaMessage, filter: { sinceMs?: number; reason?: string }): boolean {
  if (filter.sinceMs !== undefined && Number(message.timestamp) < filter.sinceMs) return false;
  if (filter.reason !== undefined && !(message.headers?.['adpipe-reason']?.toString() ?? '').startsWith(filter.reason)) return false;
  return true;
}

function deadLetter(partition: number, message: KafkaMessage): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[key] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  return { dlqPartition: partition, dlqOffset: message.offset, timestamp: message.timestamp, headers, value: message.value ?? Buffer.alloc(0) };
}

const preview = (value: Buffer) => {
  const text = value.toString('utf8');
  const printable = /^[\x20-\x7e\t]*$/.test(text) ? text : `<${value.length} bytes, base64 ${value.toString('base64').slice(0, 24)}…>`;
  return printable.length > 60 ? `${printable.slice(0, 57)}...` : printable;
};

const inspect: Command = {
  name: 'inspect',
  summary: "a pipeline's dead letters with their headers (source, reason, error code, origin)",
  usage: '--pipeline [NS/]NAME [--reason R] [--since 2h] [-o json]',
  options: { ...SELECT, output: { type: 'string', short: 'o', value: 'FORMAT', description: "'json': one JSON object per dead letter (value as base64)" }, quiet: { type: 'boolean', short: 'q', description: 'no progress bar' } },
  async run(ctx) {
    noPositionals(ctx);
    const format = stringOption(ctx, 'output');
    if (format !== undefined && format !== 'json') throw new UsageError(`-o ${format}: only 'json' is known`, ctx.path);
    const { kafka, topic, sinceMs, reason } = await selection(ctx);
    const filter = { sinceMs, reason };
    const bar = new ProgressBar(ctx.io.stderr, undefined, !ctx.values.quiet);
    const letters = await readDeadLetters(kafka, topic, filter, (seen) => bar.update(topic, seen, 0));
    bar.finish();
    if (format === 'json') {
      for (const l of letters) ctx.io.stdout.write(JSON.stringify({ partition: l.dlqPartition, offset: l.dlqOffset, timestamp: new Date(Number(l.timestamp)).toISOString(), headers: l.headers, value: l.value.toString('base64') }) + '\n');
      return 0;
    }
    const h = (l: DeadLetter, name: string) => l.headers[`adpipe-${name}`] ?? '';
    const rows = letters.map((l) => [new Date(Number(l.timestamp)).toISOString(), h(l, 'source'), h(l, 'reason'), h(l, 'error-code'), `${h(l, 'topic')}/${h(l, 'partition')}/${h(l, 'offset')}`, preview(l.value)]);
    ctx.io.stdout.write(table(['time', 'source', 'reason', 'error code', 'origin', 'value'], rows, [false, false, false, false, false, false]));
    ctx.io.stdout.write(`${letters.length} dead letters in ${topic}\n`);
    return 0;
  },
};

const replay: Command = {
  name: 'replay',
  summary: 're-produce dead letters (original bytes) to the source topic each came from, after a fix',
  usage: '--pipeline [NS/]NAME [--reason R] [--since 2h] [--dry-run]',
  options: { ...SELECT, 'dry-run': { type: 'boolean', description: 'only say what would be replayed' }, quiet: { type: 'boolean', short: 'q', description: 'no progress bar' } },
  details: `Each dead letter goes back to its adpipe-topic with header adpipe-replayed-from (dead-letter
topic/partition/offset). Records the pipeline counted already are duplicates and count once; records
that are still invalid return to the dead letters.`,
  async run(ctx) {
    noPositionals(ctx);
    const { kafka, topic, sources, ...filter } = await selection(ctx);
    const reading = new ProgressBar(ctx.io.stderr, undefined, !ctx.values.quiet);
    const read = await readDeadLetters(kafka, topic, filter, (seen) => reading.update(topic, seen, 0));
    reading.finish();
    // Only to the pipeline's own sources: a shared or adopted dead-letter topic may hold others'.
    const letters = read.filter((l) => sources.has(l.headers['adpipe-topic'] ?? ''));
    const foreign = [...new Set(read.filter((l) => !sources.has(l.headers['adpipe-topic'] ?? '')).map((l) => l.headers['adpipe-topic'] ?? '(none)'))];
    if (foreign.length) ctx.io.stderr.write(`skipping ${read.length - letters.length} dead letters from topics this pipeline does not read: ${foreign.join(', ')}\n`);
    const byTopic = new Map<string, DeadLetter[]>();
    for (const l of letters) byTopic.set(l.headers['adpipe-topic']!, [...(byTopic.get(l.headers['adpipe-topic']!) ?? []), l]);
    if (ctx.values['dry-run'] === true) {
      for (const [target, list] of byTopic) ctx.io.stdout.write(`would replay ${list.length} dead letters to ${target}\n`);
      return 0;
    }
    const producer = newProducer(kafka);
    await producer.connect();
    const bar = new ProgressBar(ctx.io.stderr, letters.length, !ctx.values.quiet);
    let sent = 0;
    try {
      for (const [target, list] of byTopic) {
        for (let i = 0; i < list.length; i += 500) {
          const chunk = list.slice(i, i + 500);
          await producer.send({ topic: target, acks: -1, messages: chunk.map((l) => ({ value: l.value, headers: { 'adpipe-replayed-from': `${topic}/${l.dlqPartition}/${l.dlqOffset}` } })) });
          sent += chunk.length;
          bar.update('replay', sent, 0);
        }
      }
    } finally {
      await producer.disconnect();
      bar.finish();
    }
    for (const [target, list] of byTopic) ctx.io.stdout.write(`replayed ${list.length} dead letters to ${target}\n`);
    return 0;
  },
};

export const dlqCommand: Command = {
  name: 'dlq',
  summary: "inspect or replay a pipeline's dead letters",
  subcommands: [inspect, replay],
};
