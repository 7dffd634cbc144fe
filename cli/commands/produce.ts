import fs from 'node:fs';
import { DEFAULT_TOPICS, readManifest, SOURCES, type Source } from '../../generator/index.js';
import { isWrittenRecord } from '../../generator/writer-versions.js';
import {
  ensureTopics,
  kafkaClient,
  newProducer,
  readClientProperties,
  produceDirectory,
  readMessageChunks,
  registerWriterSchemas,
  sendMessages,
  type RegistryTarget,
  type AvroEncoding,
  type FileFormat,
  type SendSummary,
} from '../../producer/index.js';
import { intOption, noPositionals, numberOption, stringOption, type Command, type CommandContext } from '../command.js';
import { UsageError } from '../errors.js';
import { bytes, count, table } from '../format.js';
import { ProgressBar } from '../progress.js';
import { sourceTopicOf } from '../../operator/render/names.js';
import { loadKubeConfig, pipelineRef, readPipeline } from '../pipeline-access.js';

const FORMATS: readonly FileFormat[] = ['text-lines', 'json-string-lines', 'csv', 'avro-json'];

export const produceCommand: Command = {
  name: 'produce',
  summary: 'load JSON, CSV and Avro data into Kafka, in batch or at a steady rate',
  usage: '(--source SOURCE --file PATH | --dir DIR) (--pipeline [NS/]NAME | --brokers HOST:PORT[,...]) [options]',
  options: {
    pipeline: { type: 'string', value: '[NS/]NAME', description: "an AdPipeline: its topics (status.topicNames) and brokers (spec.kafka), read with the kubeconfig" },
    kubeconfig: { type: 'string', value: 'FILE', description: 'with --pipeline: kubeconfig (default: KUBECONFIG or ~/.kube/config)' },
    source: { type: 'string', value: 'SOURCE', description: `with --file: ${SOURCES.join(' | ')}` },
    file: { type: 'string', value: 'PATH', description: 'a file of messages for --source (JSON lines, .csv, Avro records as JSON lines)' },
    dir: { type: 'string', value: 'DIR', description: "a set written by 'adpipe generate': every source into its topic" },
    brokers: { type: 'string', value: 'LIST', description: "Kafka bootstrap servers, comma-separated (default: the pipeline's, else $KAFKA_BOOTSTRAP)" },
    'command-config': { type: 'string', value: 'FILE', description: 'Kafka client properties for TLS/SASL (security.protocol, sasl.mechanism, sasl.jaas.config or sasl.username/sasl.password, ssl.truststore.location PEM)' },
    topic: { type: 'string', value: 'NAME', description: 'with --file: the topic (default the source\'s contract default, e.g. ad-impressions)' },
    topics: { type: 'string', value: 'MAP', description: 'with --dir: topics per source, e.g. impressions=p1-imps,clicks=p1-clicks' },
    sources: { type: 'string', value: 'LIST', description: 'with --dir: only these sources, comma-separated' },
    format: { type: 'string', value: 'FORMAT', description: `how the file holds messages: ${FORMATS.join(' | ')} (default by source and extension)` },
    'records-per-message': { type: 'string', value: 'N', description: 'csv format: CSV records per message (default 1)' },
    'skip-header': { type: 'boolean', description: 'csv format: the first line is a header, not data' },
    'schema-id': { type: 'string', value: 'ID', description: 'bid requests: Confluent framing with this schema-registry id (default plain Avro binary)' },
    schema: { type: 'string', value: 'FILE', description: 'bid requests: the writer schema (.avsc; default the contract\'s)' },
    registry: { type: 'string', value: 'URL', description: 'bid requests: register the writer schema(s) in this schema registry (Confluent API) and frame records with their ids' },
    subject: { type: 'string', value: 'NAME', description: 'with --registry: the subject (default <topic>-value)' },
    rate: { type: 'string', value: 'N', description: 'messages per second per source, a steady real-time stream (default: as fast as possible)' },
    batch: { type: 'string', value: 'N', description: 'messages per produce request (default 2000)' },
    'in-flight': { type: 'string', value: 'N', description: 'produce requests in flight per source (default 1; more may reorder messages within a partition)' },
    sequential: { type: 'boolean', description: 'with --dir: one source after the other (default all at once)' },
    'create-topics': { type: 'boolean', description: 'create missing topics (brokers here do not create them on first use)' },
    partitions: { type: 'string', value: 'N', description: 'partitions of created topics (default 6, as an AdPipeline)' },
    'replication-factor': { type: 'string', value: 'N', description: 'replication factor of created topics (default 1, as an AdPipeline)' },
    quiet: { type: 'boolean', short: 'q', description: 'no progress bar' },
    output: { type: 'string', short: 'o', value: 'FORMAT', description: "'json' prints the summary as one JSON line" },
  },
  details: `Keys are record ids (request_id, impression_id, first click_id / conversion_id of a message), so
copies of an id share a partition. The summary gives messages, bytes, seconds and msg/s per topic.

examples:
  adpipe produce --dir /tmp/set7 --pipeline team-a/demo
  adpipe produce --dir /tmp/set7 --brokers 127.0.0.1:9092 --create-topics
  adpipe produce --source clicks --file clicks.csv --skip-header --brokers 127.0.0.1:9092 --rate 200
  adpipe produce --source bidRequests --file bids.jsonl --schema-id 3 --brokers 127.0.0.1:9092
  adpipe produce --dir /tmp/set7 --pipeline team-a/demo --command-config client.properties
  adpipe produce --dir /tmp/set7 --registry http://127.0.0.1:8081/apis/ccompat/v7 --brokers 127.0.0.1:9092`,
  async run(ctx) {
    noPositionals(ctx);
    const pipeline = stringOption(ctx, 'pipeline') ? await pipelineTopics(ctx) : undefined;
    const brokers = (stringOption(ctx, 'brokers') ?? pipeline?.brokers.join(',') ?? ctx.io.env.KAFKA_BOOTSTRAP ?? '').split(',').map((b) => b.trim()).filter(Boolean);
    if (!brokers.length) throw new UsageError('--brokers is required (or --pipeline, or set KAFKA_BOOTSTRAP)', ctx.path);
    const dir = stringOption(ctx, 'dir');
    const file = stringOption(ctx, 'file');
    if ((dir === undefined) === (file === undefined)) throw new UsageError('give either --dir DIR or --source SOURCE --file PATH', ctx.path);
    const output = stringOption(ctx, 'output');
    if (output !== undefined && output !== 'json') throw new UsageError(`-o ${output}: only 'json' is known`, ctx.path);
    const avro = avroOptions(ctx);
    const registry = registryTarget(ctx);
    const rate = numberOption(ctx, 'rate');
    const batch = intOption(ctx, 'batch', 1);
    const inFlight = intOption(ctx, 'in-flight', 1);
    const send = { ...(rate ? { rate } : {}), ...(batch ? { batchMessages: batch } : {}), ...(inFlight ? { inFlight } : {}) };
    // The defaults of an AdPipeline's source topics (crds/source: partitions 6, replicationFactor 1).
    const createTopics = ctx.values['create-topics'] ? { partitions: intOption(ctx, 'partitions', 1) ?? 6, replicationFactor: intOption(ctx, 'replication-factor', 1) ?? 1 } : undefined;
    const commandConfig = stringOption(ctx, 'command-config');
    const kafka = kafkaClient(brokers, undefined, commandConfig === undefined ? {} : readClientProperties(commandConfig));
    let summaries: Partial<Record<Source, SendSummary>>;

    if (dir !== undefined) {
      for (const name of ['source', 'file', 'topic', 'format', 'records-per-message', 'skip-header']) {
        if (ctx.values[name] !== undefined) throw new UsageError(`--${name} goes with --file, not --dir`, ctx.path);
      }
      const manifest = readManifest(dir);
      const sources = listOption(ctx, 'sources')?.map((s) => sourceName(s, ctx)) ?? [...SOURCES];
      const topics = { ...pipeline?.topics, ...topicMap(ctx) };
      const total = sources.reduce((sum, s) => sum + manifest.files[s].messages, 0);
      const bar = new ProgressBar(ctx.io.stderr, total, !ctx.values.quiet);
      summaries = await produceDirectory(dir, {
        kafka,
        sources,
        topics,
        ...(avro ? { avro } : {}),
        ...(registry ? { registry } : {}),
        ...(createTopics ? { createTopics } : {}),
        sequential: ctx.values.sequential === true,
        send,
        onProgress: (source, p) => bar.update(source, p.messages, p.bytes),
      });
      bar.finish();
    } else {
      if (ctx.values.topics !== undefined || ctx.values.sources !== undefined || ctx.values.sequential) {
        throw new UsageError('--topics, --sources and --sequential go with --dir', ctx.path);
      }
      const source = sourceName(stringOption(ctx, 'source') ?? '', ctx);
      if (!fs.existsSync(file!)) throw new UsageError(`--file ${file}: no such file`, ctx.path);
      const format = stringOption(ctx, 'format');
      if (format !== undefined && !FORMATS.includes(format as FileFormat)) throw new UsageError(`--format ${format}: use one of ${FORMATS.join(', ')}`, ctx.path);
      const perMessage = intOption(ctx, 'records-per-message', 1);
      const topic = stringOption(ctx, 'topic') ?? pipeline?.topics[source] ?? DEFAULT_TOPICS[source];
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [topic], createTopics);
      } finally {
        await admin.disconnect();
      }
      const encoding = registry && source === 'bidRequests' ? await registerWriterSchemas(registry, topic, avro, startsWithWrittenRecord(file!)) : avro;
      const bar = new ProgressBar(ctx.io.stderr, undefined, !ctx.values.quiet);
      const producer = newProducer(kafka);
      await producer.connect();
      try {
        const messages = readMessageChunks({
          source,
          file: file!,
          ...(format ? { format: format as FileFormat } : {}),
          ...(encoding ? { avro: encoding } : {}),
          ...(perMessage ? { recordsPerMessage: perMessage } : {}),
          skipHeader: ctx.values['skip-header'] === true,
        });
        summaries = { [source]: await sendMessages(producer, messages, { ...send, topic, onProgress: (p) => bar.update(source, p.messages, p.bytes) }) };
      } finally {
        await producer.disconnect();
      }
      bar.finish();
    }
    printSummary(ctx, summaries, output === 'json');
    return 0;
  },
};

/** The pipeline's source topics as the operator resolved them, and its brokers. */
async function pipelineTopics(ctx: CommandContext): Promise<{ topics: Record<Source, string>; brokers: string[] }> {
  const kc = loadKubeConfig(ctx);
  const pipeline = await readPipeline(kc, pipelineRef(ctx, kc));
  const topics = Object.fromEntries(SOURCES.map((s) => [s, pipeline.status?.topicNames?.[s] ?? sourceTopicOf(pipeline, s)])) as Record<Source, string>;
  return { topics, brokers: pipeline.spec.kafka.bootstrapServers };
}

function sourceName(name: string, ctx: CommandContext): Source {
  if (!(SOURCES as readonly string[]).includes(name)) throw new UsageError(`--source '${name}': use one of ${SOURCES.join(', ')}`, ctx.path);
  return name as Source;
}

function listOption(ctx: CommandContext, name: string): string[] | undefined {
  return stringOption(ctx, name)?.split(',').map((s) => s.trim()).filter(Boolean);
}

function topicMap(ctx: CommandContext): Partial<Record<Source, string>> {
  const map: Partial<Record<Source, string>> = {};
  for (const pair of listOption(ctx, 'topics') ?? []) {
    const [source, topic] = pair.split('=');
    if (!topic) throw new UsageError(`--topics: '${pair}' is not SOURCE=TOPIC`, ctx.path);
    map[sourceName(source!, ctx)] = topic;
  }
  return map;
}

/** Whether a bid-request file holds writer-version records (`adpipe generate --writer-versions`): its first line tells. */
function startsWithWrittenRecord(file: string): boolean {
  const head = Buffer.alloc(65_536);
  const fd = fs.openSync(file, 'r');
  const length = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  try {
    return isWrittenRecord(JSON.parse(head.subarray(0, length).toString('utf8').split('\n')[0]!));
  } catch {
    return false;
  }
}

function registryTarget(ctx: CommandContext): RegistryTarget | undefined {
  const url = stringOption(ctx, 'registry');
  const subject = stringOption(ctx, 'subject');
  if (url === undefined) {
    if (subject !== undefined) throw new UsageError('--subject goes with --registry', ctx.path);
    return undefined;
  }
  if (ctx.values['schema-id'] !== undefined) throw new UsageError('--schema-id and --registry exclude each other: the registry gives the ids', ctx.path);
  return { url, ...(subject ? { subject } : {}) };
}

function avroOptions(ctx: CommandContext): AvroEncoding | undefined {
  const id = intOption(ctx, 'schema-id');
  const schemaFile = stringOption(ctx, 'schema');
  if (id === undefined && schemaFile === undefined) return undefined;
  const encoding: AvroEncoding = {};
  if (id !== undefined) encoding.confluentSchemaId = id;
  if (schemaFile !== undefined) {
    try {
      encoding.schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object;
    } catch (error) {
      throw new UsageError(`--schema ${schemaFile}: cannot read it as an Avro schema (JSON): ${(error as Error).message}`, ctx.path);
    }
  }
  return encoding;
}

function printSummary(ctx: CommandContext, summaries: Partial<Record<Source, SendSummary>>, json: boolean): void {
  const entries = SOURCES.filter((s) => summaries[s]).map((s) => [s, summaries[s]!] as const);
  const total = entries.reduce((t, [, s]) => ({ messages: t.messages + s.messages, bytes: t.bytes + s.bytes, seconds: Math.max(t.seconds, s.seconds) }), { messages: 0, bytes: 0, seconds: 0 });
  if (json) {
    const perSource = Object.fromEntries(entries.map(([source, s]) => [source, s]));
    ctx.io.stdout.write(JSON.stringify({ sources: perSource, total: { ...total, messagesPerSecond: total.messages / Math.max(total.seconds, 0.001) } }) + '\n');
    return;
  }
  const rows = entries.map(([source, s]) => [source, s.topic, count(s.messages), bytes(s.bytes), s.seconds.toFixed(1), count(s.messagesPerSecond)]);
  if (entries.length > 1) rows.push(['total', '', count(total.messages), bytes(total.bytes), total.seconds.toFixed(1), count(total.messages / Math.max(total.seconds, 0.001))]);
  ctx.io.stdout.write(table(['source', 'topic', 'messages', 'bytes', 'seconds', 'msg/s'], rows, [false, false, true, true, true, true]));
}
