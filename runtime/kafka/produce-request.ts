import { createRequire } from 'node:module';
import { encoderOf, pendingRecord, recordBatch, type KafkajsEncoder } from './record-batch-encoder.js';
import { replaceKafkajsModule } from './replace-module.js';

/**
 * The rest of the produce path of decision 0079: kafkajs 2.2.4 wraps each record batch in the
 * partition's encoder, that in the topic's, that in the request's, then adds the request header
 * and then the size, five more copies of every internal frame, each into a zero-filled buffer
 * grown by doubling. Here the produce request (v3, which v4–v7 reuse) is written once, sized
 * exactly, around the record batches, and every request gets its header and size in one more
 * copy. The bytes are kafkajs's own (produce-request.test.ts compares them).
 */

const require = createRequire(import.meta.url);
const { Produce: PRODUCE } = require('kafkajs/src/protocol/requests/apiKeys.js') as { Produce: number };
const Long = require('kafkajs/src/utils/long.js') as { fromInt(value: number): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number } };

interface ProduceMessage {
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
  timestamp?: number | string | null;
}
interface PartitionData {
  partition: number;
  firstSequence?: number;
  messages: ProduceMessage[];
}
interface TopicData {
  topic: string;
  partitions: PartitionData[];
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: TopicData[];
}

/** A nullable string as kafkajs writes it: int16 length (-1 for null), UTF-8. */
const sizeOfString = (text: string | null | undefined): number => 2 + (text == null ? 0 : Buffer.byteLength(text, 'utf8'));
function writeString(out: Buffer, at: number, text: string | null | undefined): number {
  if (text == null) return out.writeInt16BE(-1, at);
  const length = out.write(text, at + 2, 'utf8');
  out.writeInt16BE(length, at);
  return at + 2 + length;
}

/** One partition's record batch, with kafkajs's timestamps and deltas (its partitionsEncoder). */
async function partitionBatch(compression: number, data: PartitionData, producer: { transactionalId: string | null; producerId: unknown; producerEpoch: number }): Promise<Buffer> {
  const now = Date.now();
  // kafkajs sorts the timestamps as strings (Array#sort without a comparator): kept as it is.
  const given = data.messages.map((m) => m.timestamp).filter((t) => t != null);
  given.sort();
  const timestamps = given.length === 0 ? [now] : given;
  const firstTimestamp = timestamps[0]!;
  const records = data.messages.map((message, i) => pendingRecord({ ...message, offsetDelta: i, timestampDelta: Number(message.timestamp || now) - Number(firstTimestamp) }));
  const batch = await recordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp: timestamps[timestamps.length - 1],
    producerId: producer.producerId,
    producerEpoch: producer.producerEpoch,
    firstSequence: data.firstSequence,
    transactional: !!producer.transactionalId,
    lastOffsetDelta: records.length - 1,
  });
  return batch.buffer;
}

/** kafkajs's produce request v3: the same request, its payload written once. */
export function produceRequest({ acks, timeout, transactionalId = null, producerId = Long.fromInt(-1), producerEpoch = 0, compression = Compression.None, topicData }: ProduceArgs) {
  return {
    apiKey: PRODUCE,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async (): Promise<KafkajsEncoder> => {
      const producer = { transactionalId, producerId, producerEpoch };
      const topics: { topic: string; partitions: { partition: number; batch: Buffer }[] }[] = [];
      let size = sizeOfString(transactionalId) + 2 + 4 + 4;
      for (const data of topicData) {
        const partitions = [];
        size += sizeOfString(data.topic) + 4;
        for (const partition of data.partitions) {
          const batch = await partitionBatch(compression, partition, producer);
          partitions.push({ partition: partition.partition, batch });
          size += 4 + 4 + batch.length;
        }
        topics.push({ topic: data.topic, partitions });
      }
      const out = Buffer.allocUnsafe(size);
      let at = writeString(out, 0, transactionalId);
      at = out.writeInt16BE(acks, at);
      at = out.writeInt32BE(timeout, at);
      at = out.writeInt32BE(topics.length, at);
      for (const { topic, partitions } of topics) {
        at = writeString(out, at, topic);
        at = out.writeInt32BE(partitions.length, at);
        for (const { partition, batch } of partitions) {
          at = out.writeInt32BE(partition, at);
          at = out.writeInt32BE(batch.length, at);
          at += batch.copy(out, at);
        }
      }
      if (at !== size) throw new Error(`produce request encoder: wrote ${at} bytes of ${size}`);
      return encoderOf(out);
    },
  };
}

interface RequestArgs {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode: () => Promise<KafkajsEncoder> };
}

/** kafkajs's request framing (size, header, payload) in one copy of the payload. */
export async function frameRequest({ correlationId, clientId, request: { apiKey, apiVersion, encode } }: RequestArgs): Promise<KafkajsEncoder> {
  const payload = (await encode()).buffer;
  const bodySize = 2 + 2 + 4 + sizeOfString(clientId) + payload.length;
  const out = Buffer.allocUnsafe(4 + bodySize);
  let at = out.writeInt32BE(bodySize, 0);
  at = out.writeInt16BE(apiKey, at);
  at = out.writeInt16BE(apiVersion, at);
  at = out.writeInt32BE(correlationId, at);
  at = writeString(out, at, clientId);
  payload.copy(out, at);
  return encoderOf(out);
}

/** Both in place of kafkajs's, before kafkajs's connection (request framing) and produce v4 (which reuses v3) load. */
export function installProduceRequest(options: { ifStillPossible?: boolean } = {}): void {
  replaceKafkajsModule({ module: 'protocol/requests/produce/v3/request.js', loadedBy: 'protocol/requests/produce/v4/request.js', replacement: produceRequest, what: 'produce request encoder', ...options });
  replaceKafkajsModule({ module: 'protocol/request.js', loadedBy: 'network/connection.js', replacement: frameRequest, what: 'request framing', ...options });
}
