import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';
import { replaceKafkajsModule } from './replace-module.js';

/**
 * The produce side of decision 0079: kafkajs 2.2.4 encodes each record into an Encoder of its own,
 * then copies the records into the batch body, the body into the batch, the batch behind its offset
 * and length, each time into a new zero-filled buffer grown by doubling. A task's internal frames
 * are up to 512 KiB each, so a commit copied every frame five times before the produce request
 * copied it again (the worker's profile: 6–7 % of its main thread in Buffer.alloc and copies).
 *
 * Here a record stays a plain description until its batch is encoded, and an uncompressed batch is
 * written once, sized exactly, into one buffer. The bytes are kafkajs's own, byte for byte
 * (record-batch-encoder.test.ts compares them). A compressed batch, or anything this does not
 * handle the same way (a null header value, a timestamp delta that is not a safe integer), goes
 * through kafkajs's own code.
 */

const require = createRequire(import.meta.url);
type Headers = Record<string, unknown>;
interface RecordFields {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: unknown;
  value?: unknown;
  headers?: Headers;
}
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
}
interface BatchFields {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: unknown[];
}
interface Long {
  getHighBits(): number;
  getLowBits(): number;
}

const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (fields: RecordFields) => KafkajsEncoder;
const kafkajsBatchModule = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (fields: BatchFields) => Promise<KafkajsEncoder>; MAGIC_BYTE: number };
const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => KafkajsEncoder;
const LongType = require('kafkajs/src/utils/long.js') as { fromValue(value: unknown): Long; fromInt(value: number): Long };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number } };

const TRANSACTIONAL = 16;

/** An Encoder of kafkajs's own around bytes already written: the produce request takes it as any other. */
export function encoderOf(bytes: Buffer): KafkajsEncoder {
  const encoder = new Encoder(0);
  encoder.buf = bytes;
  encoder.offset = bytes.length;
  return encoder;
}

/** A record as the produce request hands it over: encoded with its batch. */
export class PendingRecord {
  constructor(readonly fields: RecordFields) {}
}

export function pendingRecord(fields: RecordFields): PendingRecord {
  return new PendingRecord(fields);
}

const zigZag32 = (value: number): number => ((value << 1) ^ (value >> 31)) >>> 0;

function sizeOfUVarInt(value: number): number {
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

/** Zig-zag of a safe integer, as a non-negative number (exact up to 2^53). */
const zigZag64 = (value: number): number => (value >= 0 ? value * 2 : -value * 2 - 1);

/** A key, value or header value as kafkajs writes it (null, the bytes, or the UTF-8 of a string); undefined for any other kind. */
function bytesOf(value: unknown): Buffer | null | undefined {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined;
}

interface Planned {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: [Buffer, Buffer][];
  body: number;
}

/** The record's parts and the size of its body, or undefined where kafkajs's own code must encode it. */
function plan(fields: RecordFields): Planned | undefined {
  const offsetDelta = fields.offsetDelta ?? 0;
  const timestampDelta = fields.timestampDelta ?? 0;
  if (!Number.isSafeInteger(timestampDelta) || !Number.isInteger(offsetDelta) || Math.abs(timestampDelta) > 2 ** 52) return undefined;
  // Keys, values and headers of other kinds (numbers, Uint8Arrays, a null header value, null
  // headers) are kafkajs's to encode, or to refuse, as it does.
  if (fields.headers === null) return undefined;
  const headers: [Buffer, Buffer][] = [];
  for (const [name, value] of Object.entries(fields.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      const bytes = one === null || one === undefined ? undefined : bytesOf(one);
      if (!bytes) return undefined;
      headers.push([Buffer.from(name, 'utf8'), bytes]);
    }
  }
  const key = bytesOf(fields.key);
  const value = bytesOf(fields.value);
  if (key === undefined || value === undefined) return undefined;
  const sizeOfBytes = (bytes: Buffer | null) => (bytes === null ? 1 : sizeOfUVarInt(zigZag32(bytes.length)) + bytes.length);
  let body = 1 + sizeOfUVarInt(zigZag64(timestampDelta)) + sizeOfUVarInt(zigZag32(offsetDelta)) + sizeOfBytes(key) + sizeOfBytes(value) + sizeOfUVarInt(zigZag32(headers.length));
  for (const [name, one] of headers) body += sizeOfBytes(name) + sizeOfBytes(one);
  return { offsetDelta, timestampDelta, key, value, headers, body };
}

class Writer {
  at = 0;
  constructor(readonly out: Buffer) {}

  uvarint(value: number): void {
    while (value >= 0x80) {
      this.out[this.at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.out[this.at++] = value;
  }
  bytes(bytes: Buffer | null): void {
    if (bytes === null) return void (this.out[this.at++] = 1); // zig-zag of -1
    this.uvarint(zigZag32(bytes.length));
    bytes.copy(this.out, this.at);
    this.at += bytes.length;
  }
  int64(value: unknown): void {
    const long = LongType.fromValue(value);
    this.out.writeInt32BE(long.getHighBits(), this.at);
    this.out.writeInt32BE(long.getLowBits(), this.at + 4);
    this.at += 8;
  }
}

/** kafkajs's RecordBatch: ours for an uncompressed batch of our records, kafkajs's own for the rest. */
export async function recordBatch(fields: BatchFields): Promise<KafkajsEncoder> {
  const records = fields.records ?? [];
  const compression = fields.compression ?? Compression.None;
  const planned = compression === Compression.None && records.every((r) => r instanceof PendingRecord) ? records.map((r) => plan((r as PendingRecord).fields)) : undefined;
  if (!planned || planned.some((p) => p === undefined)) {
    return kafkajsBatchModule.RecordBatch({ ...fields, records: records.map((r) => (r instanceof PendingRecord ? kafkajsRecord(r.fields) : r)) });
  }
  const all = planned as Planned[];
  // FirstOffset, Length, PartitionLeaderEpoch, Magic, CRC; then the body the CRC covers.
  const head = 8 + 4 + 4 + 1 + 4;
  let size = head + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
  for (const p of all) size += sizeOfUVarInt(zigZag32(p.body)) + p.body;
  const w = new Writer(Buffer.allocUnsafe(size));
  const now = Date.now();
  w.int64(fields.firstOffset ?? LongType.fromInt(0));
  w.out.writeInt32BE(size - 12, 8);
  w.out.writeInt32BE(fields.partitionLeaderEpoch ?? 0, 12);
  w.out.writeInt8(kafkajsBatchModule.MAGIC_BYTE, 16);
  w.at = head;
  w.out.writeInt16BE((compression & 0x7) | (fields.transactional ? TRANSACTIONAL : 0), w.at);
  w.out.writeInt32BE(fields.lastOffsetDelta ?? 0, w.at + 2);
  w.at += 6;
  w.int64(fields.firstTimestamp ?? now);
  w.int64(fields.maxTimestamp ?? now);
  w.int64(fields.producerId ?? LongType.fromValue(-1));
  w.out.writeInt16BE(fields.producerEpoch ?? 0, w.at);
  w.out.writeInt32BE(fields.firstSequence ?? 0, w.at + 2);
  w.out.writeInt32BE(all.length, w.at + 6);
  w.at += 10;
  for (const p of all) {
    w.uvarint(zigZag32(p.body));
    w.out[w.at++] = 0; // attributes
    w.uvarint(zigZag64(p.timestampDelta));
    w.uvarint(zigZag32(p.offsetDelta));
    w.bytes(p.key);
    w.bytes(p.value);
    w.uvarint(zigZag32(p.headers.length));
    for (const [name, value] of p.headers) {
      w.bytes(name);
      w.bytes(value);
    }
  }
  if (w.at !== size) throw new Error(`record batch encoder: wrote ${w.at} bytes of ${size}`);
  w.out.writeUInt32BE(crc32c(w.out.subarray(head)), 17);
  return encoderOf(w.out);
}

const batchModule = { RecordBatch: recordBatch, MAGIC_BYTE: kafkajsBatchModule.MAGIC_BYTE };

/** Puts both in place of kafkajs's record and record batch encoders (before kafkajs's produce request loads). */
export function installRecordBatchEncoder(options: { ifStillPossible?: boolean } = {}): void {
  replaceKafkajsModule({ module: 'protocol/recordBatch/record/v0/index.js', loadedBy: 'protocol/requests/produce/v3/request.js', replacement: pendingRecord, what: 'record encoder', ...options });
  replaceKafkajsModule({ module: 'protocol/recordBatch/v0/index.js', loadedBy: 'protocol/requests/produce/v3/request.js', replacement: batchModule, what: 'record batch encoder', ...options });
}
