import { createRequire } from 'node:module';
import { replaceKafkajsModule } from './replace-module.js';

/**
 * kafkajs 2.2.4's record batch decoding with its per-record cost taken out (decision 0079).
 *
 * kafkajs decodes each record's timestamp and offset through its BigInt `Long`: it parses the
 * batch's first offset and first timestamp from their strings again for every record, reads the
 * timestamp delta as a BigInt varlong, adds, and prints both back to strings; it also copies every
 * record into a Buffer and a Decoder of its own before reading it. In the worker that was most of
 * kafkajs's share of the main thread. Here a batch's bases are parsed once, deltas are read as
 * numbers, and records are read in place; what comes out is what kafkajs's decoder gives (the same
 * fields, Int64s as decimal strings), checked against it in `record-batch-decoder.test.ts`.
 * Values outside the range a double holds exactly take kafkajs's BigInt path.
 */

/** The slice of kafkajs's protocol Decoder this module uses. */
interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  slice(size: number): KafkajsDecoder;
  forward(size: number): void;
}
interface Codec {
  decompress(buffer: Buffer): Promise<Buffer>;
}

export interface BatchContext {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  magicByte: number;
}

export interface DecodedRecord {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
  batchContext: BatchContext;
}

const TIMESTAMP_TYPE_FLAG_MASK = 0x8;
const TRANSACTIONAL_FLAG_MASK = 0x10;
const CONTROL_FLAG_MASK = 0x20;
const CREATE_TIME = 0;
const LOG_APPEND_TIME = 1;

const require = createRequire(import.meta.url);
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression/index.js') as { lookupCodecByAttributes: (attributes: number) => Codec | null };
const { KafkaJSPartialMessageError } = require('kafkajs/src/errors.js') as { KafkaJSPartialMessageError: new (message: string) => Error };

/** Reads one record batch at the fetch decoder's position; the same contract as kafkajs's `recordBatch/v0/decoder`. */
export async function decodeRecordBatch(fetchDecoder: KafkajsDecoder): Promise<Omit<BatchContext, 'magicByte'> & { records: DecodedRecord[] }> {
  const firstOffset = fetchDecoder.readInt64().toString();
  const length = fetchDecoder.readInt32();
  const decoder = fetchDecoder.slice(length);
  fetchDecoder.forward(length);
  const remainingBytes = decoder.buffer.length;
  if (remainingBytes < length) throw new KafkaJSPartialMessageError(`Tried to decode a partial record batch: remainingBytes(${remainingBytes}) < recordBatchLength(${length})`);

  const partitionLeaderEpoch = decoder.readInt32();
  const magicByte = decoder.readInt8();
  decoder.readInt32(); // CRC: kafkajs does not check it either (the broker did)
  const attributes = decoder.readInt16();
  const lastOffsetDelta = decoder.readInt32();
  const firstTimestamp = decoder.readInt64().toString();
  const maxTimestamp = decoder.readInt64().toString();
  const producerId = decoder.readInt64().toString();
  const producerEpoch = decoder.readInt16();
  const firstSequence = decoder.readInt32();
  const batch = {
    firstOffset,
    firstTimestamp,
    partitionLeaderEpoch,
    inTransaction: (attributes & TRANSACTIONAL_FLAG_MASK) > 0,
    isControlBatch: (attributes & CONTROL_FLAG_MASK) > 0,
    lastOffsetDelta,
    producerId,
    producerEpoch,
    firstSequence,
    maxTimestamp,
    timestampType: (attributes & TIMESTAMP_TYPE_FLAG_MASK) > 0 ? LOG_APPEND_TIME : CREATE_TIME,
  };
  // As kafkajs: the records carry the magic byte in their batch context, the batch itself does not.
  const batchContext: BatchContext = { ...batch, magicByte };
  const codec = lookupCodecByAttributes(attributes);
  let records: DecodedRecord[];
  if (!codec) {
    const count = decoder.readInt32();
    records = count === -1 ? [] : readRecords(decoder.buffer, decoder.offset, count, batchContext);
  } else {
    const count = decoder.readInt32();
    if (count <= 0) records = [];
    else records = readRecords(await codec.decompress(decoder.buffer.subarray(decoder.offset)), 0, count, batchContext);
  }
  return { ...batch, records };
}

/** Reads `count` records from `buffer` at `at`. */
function readRecords(buffer: Buffer, at: number, count: number, batch: BatchContext): DecodedRecord[] {
  const reader = new RecordReader(buffer, at, batch);
  const records = new Array<DecodedRecord>(count);
  for (let i = 0; i < count; i++) records[i] = reader.record();
  return records;
}

/** What a record without headers carries: one object for all of them, frozen so no reader can change it for the others. */
const NO_HEADERS: DecodedRecord['headers'] = Object.freeze({});

/**
 * A decoded record, the fields kafkajs gives. Its key is read from the batch's bytes only when
 * asked for: the worker never reads it, and a view per record was a fifth of what decoding a
 * source batch allocated (with `NO_HEADERS` and the shared timestamp text, half of it).
 */
class LazyKeyRecord implements DecodedRecord {
  readonly magicByte: number;
  readonly isControlRecord: boolean;

  constructor(
    readonly batchContext: BatchContext,
    readonly attributes: number,
    readonly timestamp: string,
    readonly offset: string,
    private readonly bytes: Buffer,
    private readonly keyAt: number,
    private readonly keyLength: number,
    readonly value: Buffer | null,
    readonly headers: DecodedRecord['headers'],
  ) {
    this.magicByte = batchContext.magicByte;
    this.isControlRecord = batchContext.isControlBatch;
  }

  get key(): Buffer | null {
    return this.keyLength < 0 ? null : this.bytes.subarray(this.keyAt, this.keyAt + this.keyLength);
  }
}

class RecordReader {
  private readonly baseOffset: number | undefined;
  private readonly baseTimestamp: number | undefined;
  private readonly logAppendTime: string | undefined;
  private lastDelta: number | bigint | undefined;
  private lastTimestamp = '';

  constructor(
    private readonly buffer: Buffer,
    private at: number,
    private readonly batch: BatchContext,
  ) {
    this.baseOffset = exact(batch.firstOffset);
    this.baseTimestamp = exact(batch.firstTimestamp);
    this.logAppendTime = batch.timestampType === LOG_APPEND_TIME && batch.maxTimestamp ? batch.maxTimestamp : undefined;
  }

  record(): DecodedRecord {
    const length = this.varInt();
    const end = this.at + length;
    // The batch is whole (checked above), so a record past its end is corrupt, not a fetch cut short:
    // a plain error, never the partial-message error kafkajs takes as "stop reading here".
    if (length < 0 || end > this.buffer.length) throw new RangeError(`corrupt record batch: a record of ${length} bytes at ${this.at} of ${this.buffer.length}`);
    const attributes = this.buffer.readInt8(this.at++);
    const timestamp = this.logAppendTime ?? this.timestamp(this.varLong());
    const offset = sum(this.batch.firstOffset, this.baseOffset, this.varInt());
    const keyLength = this.varInt();
    const keyAt = this.at;
    if (keyLength > 0) this.at += keyLength;
    const value = this.bytes();
    const headerCount = this.varInt();
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      headers = {};
      for (let i = 0; i < headerCount; i++) {
        const keyBytes = this.bytes();
        const name = keyBytes === null ? 'null' : keyBytes.toString('utf8');
        const headerValue = this.bytes();
        const seen = headers[name];
        headers[name] = seen === undefined ? headerValue : Array.isArray(seen) ? [...seen, headerValue] : [seen, headerValue];
      }
    }
    // A record is its own length: what a newer format appends is skipped, as kafkajs's copy of it did.
    this.at = end;
    return new LazyKeyRecord(this.batch, attributes, timestamp, offset, this.buffer, keyAt, keyLength, value, headers);
  }

  /**
   * The record's timestamp as kafkajs prints it. The records of one batch mostly share theirs (a
   * producer stamps a whole send at once), so the last one's text is handed out again, not printed anew.
   */
  private timestamp(delta: number | bigint): string {
    if (delta !== this.lastDelta) {
      this.lastDelta = delta;
      this.lastTimestamp = sum(this.batch.firstTimestamp, this.baseTimestamp, delta);
    }
    return this.lastTimestamp;
  }

  private bytes(): Buffer | null {
    const length = this.varInt();
    if (length === -1) return null;
    const bytes = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return bytes;
  }

  /** A zigzag varint of at most 32 bits, as kafkajs reads it. */
  private varInt(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.buffer[this.at++]!;
      result += (byte & 0x7f) << shift;
      shift += 7;
    } while (byte >= 0x80);
    return (result >>> 1) ^ -(result & 1);
  }

  /** A zigzag varlong: a number when it is exact as one, else a bigint. */
  private varLong(): number | bigint {
    const start = this.at;
    let result = 0;
    let scale = 1;
    let byte: number;
    do {
      if (scale >= 2 ** 49) return this.bigVarLong(start);
      byte = this.buffer[this.at++]!;
      result += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte >= 0x80);
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  private bigVarLong(start: number): bigint {
    this.at = start;
    let result = 0n;
    let shift = 0n;
    let byte: number;
    do {
      if (shift > 63n) throw new Error('Invalid Long, must contain 9 bytes or less');
      byte = this.buffer[this.at++]!;
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
    } while (byte >= 0x80);
    return BigInt.asIntN(64, (result >> 1n) ^ -(result & 1n));
  }
}

/** The Int64 string as a number when that is exact. */
function exact(decimal: string): number | undefined {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** base + delta as kafkajs prints it (a 64-bit sum, in decimal). */
function sum(baseText: string, base: number | undefined, delta: number | bigint): string {
  if (base !== undefined && typeof delta === 'number') {
    const total = base + delta;
    if (Number.isSafeInteger(total)) return String(total);
  }
  return String(BigInt.asIntN(64, BigInt(baseText) + BigInt(delta)));
}

/**
 * Puts `decodeRecordBatch` in place of kafkajs's batch decoder in Node's require cache. Like the
 * read_committed filter, it must run before kafkajs's fetch decoding is loaded (it takes the
 * decoder once); `runtime/kafka/kafkajs-fixes.ts` runs both first.
 */
export function installRecordBatchDecoder(options: { ifStillPossible?: boolean } = {}): void {
  replaceKafkajsModule({ module: 'protocol/recordBatch/v0/decoder.js', loadedBy: 'protocol/requests/fetch/v4/decodeMessages.js', replacement: decodeRecordBatch, what: 'record batch decoder', ...options });
}
