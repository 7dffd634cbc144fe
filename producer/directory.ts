import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { DEFAULT_TOPICS, SOURCES, type Source } from '../generator/contract.js';
import { readManifest } from '../generator/output.js';
import type { AvroEncoding } from './avro.js';
import { ensureTopics, newProducer } from './kafka.js';
import { sendMessages, type Progress, type SendOptions, type SendSummary } from './produce.js';
import { readMessageChunks, type FileFormat } from './read.js';
import { registerWriterSchemas, type RegistryTarget } from './registry.js';

/**
 * Produces a generated set (the output of `adpipe generate`): every source's file into its topic,
 * all sources at once, as feeds would arrive. One producer for all of them.
 */
export interface DirectoryOptions {
  kafka: Kafka;
  /** Topic per source; default the contract's default topics. */
  topics?: Partial<Record<Source, string>>;
  /** Only these sources (default all four). */
  sources?: readonly Source[];
  avro?: AvroEncoding;
  /** Register the bid requests' writer schemas here and frame every record with their ids. */
  registry?: RegistryTarget;
  createTopics?: { partitions: number; replicationFactor: number };
  /** One source after the other instead of all at once (e.g. to have every bid request first). */
  sequential?: boolean;
  send?: Omit<SendOptions, 'topic' | 'onProgress'>;
  onProgress?: (source: Source, progress: Progress) => void;
}

export type DirectorySummary = Partial<Record<Source, SendSummary>>;

const LINE_FORMATS: Record<string, FileFormat> = { text: 'text-lines', 'json-string': 'json-string-lines', 'avro-json': 'avro-json' };

export async function produceDirectory(dir: string, options: DirectoryOptions): Promise<DirectorySummary> {
  const manifest = readManifest(dir);
  const sources = options.sources ?? SOURCES;
  const topicOf = (s: Source): string => options.topics?.[s] ?? DEFAULT_TOPICS[s];
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, sources.map(topicOf), options.createTopics);
  } finally {
    await admin.disconnect();
  }
  const avro = options.registry && sources.includes('bidRequests')
    ? await registerWriterSchemas(options.registry, topicOf('bidRequests'), options.avro, manifest.options.writerVersions === true)
    : options.avro;
  const producer = newProducer(options.kafka);
  await producer.connect();
  const summary: DirectorySummary = {};
  try {
    const one = async (source: Source): Promise<void> => {
      const entry = manifest.files[source];
      const messages = readMessageChunks({
        source,
        file: path.join(dir, entry.file),
        format: LINE_FORMATS[entry.encoding]!,
        ...(avro ? { avro } : {}),
      });
      summary[source] = await sendMessages(producer, messages, {
        ...options.send,
        topic: topicOf(source),
        ...(options.onProgress ? { onProgress: (p: Progress) => options.onProgress!(source, p) } : {}),
      });
    };
    if (options.sequential) for (const s of sources) await one(s);
    else await Promise.all(sources.map(one));
  } finally {
    await producer.disconnect();
  }
  return summary;
}
