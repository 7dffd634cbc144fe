import { createRequire } from 'node:module';
import { crc32c } from './crc32c.js';
import { pendingRecord, recordBatch } from './record-batch-encoder.js';

// kafkajs's own encoders, straight from Node's module cache (this test installs nothing).
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key?: unknown;
  value?: unknown;
  headers?: Record<string, unknown>;
}
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: RecordInput) => Encoded;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (batch: object) => Promise<Encoded> };
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: string | number): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

/** The same batch through kafkajs's encoders and ours: byte for byte the same. */
async function expectSameBytes(records: RecordInput[], options: { compression?: number; transactional?: boolean; firstTimestamp?: number | string; ours?: boolean } = {}): Promise<Buffer> {
  const fields = {
    firstTimestamp: options.firstTimestamp ?? 1_764_633_600_000,
    maxTimestamp: 1_764_633_700_000,
    lastOffsetDelta: records.length - 1,
    compression: options.compression ?? Compression.None,
    transactional: options.transactional ?? false,
    producerId: Long.fromValue(4711),
    producerEpoch: 3,
    firstSequence: 17,
  };
  const theirs = (await RecordBatch({ ...fields, records: records.map((record) => Record(record)) })).buffer;
  const encoded = await recordBatch({ ...fields, records: records.map((record) => pendingRecord(record)) });
  const ours = encoded.buffer;
  expect(ours.toString('hex')).toBe(theirs.toString('hex'));
  // Written by us: one buffer of exactly the batch's size (kafkajs's grow to powers of two).
  if (options.ours) expect(encoded.buf.length).toBe(ours.length);
  return ours;
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

test('records with and without keys, values and headers: the bytes kafkajs writes, CRC included', async () => {
  await expectSameBytes([
    { offsetDelta: 0, timestampDelta: 0, key: utf8('a'), value: utf8('{"x":1}') },
    { offsetDelta: 1, timestampDelta: -250, key: null, value: utf8('b'), headers: { trace: utf8('t1') } },
    { offsetDelta: 2, timestampDelta: 86_400_000, key: utf8('c'), value: null, headers: { h: [utf8('1'), utf8('2'), utf8('3')], other: 'text ü' } },
    { offsetDelta: 3, timestampDelta: 1, key: Buffer.alloc(0), value: Buffer.alloc(5000, 7) },
    { offsetDelta: 4, timestampDelta: 2 ** 40, key: 'string key ✓', value: 'string value' },
    { offsetDelta: 5, timestampDelta: -(2 ** 35) },
  ], { ours: true });
});

test('a transactional batch of frames of 512 KiB (the task producer), and one empty of records', async () => {
  const frames = Array.from({ length: 4 }, (_, i) => ({ offsetDelta: i, timestampDelta: 0, key: null, value: Buffer.alloc(512 * 1024 + i * 131, i + 1) }));
  const bytes = await expectSameBytes(frames, { transactional: true, ours: true });
  expect(bytes.length).toBeGreaterThan(4 * 512 * 1024);
  await expectSameBytes([], { transactional: true, ours: true });
});

test('what it leaves to kafkajs comes out as kafkajs makes it: compression, timestamps as strings, a delta past 2^52', async () => {
  await expectSameBytes([{ offsetDelta: 0, timestampDelta: 0, key: utf8('k'), value: utf8('v'.repeat(1000)) }], { compression: Compression.GZIP });
  await expectSameBytes([{ offsetDelta: 0, timestampDelta: 5, value: utf8('v') }], { firstTimestamp: '1764633600000' });
  await expectSameBytes([{ offsetDelta: 0, timestampDelta: 2 ** 53 + 2, value: utf8('v') }]);
  // A Uint8Array is not a Buffer: kafkajs's own bytes for it (wrong as they are), not text.
  await expectSameBytes([{ offsetDelta: 0, timestampDelta: 0, value: new Uint8Array([1, 2, 3]) }]);
});

test('a batch mixing our records with kafkajs encoders is encoded by kafkajs, the same', async () => {
  const fields = { firstTimestamp: 1, maxTimestamp: 2, lastOffsetDelta: 1, producerId: Long.fromValue(-1) };
  const mixed = await recordBatch({ ...fields, records: [pendingRecord({ offsetDelta: 0, timestampDelta: 0, value: utf8('a') }), Record({ offsetDelta: 1, timestampDelta: 0, value: utf8('b') })] });
  const theirs = await RecordBatch({ ...fields, records: [Record({ offsetDelta: 0, timestampDelta: 0, value: utf8('a') }), Record({ offsetDelta: 1, timestampDelta: 0, value: utf8('b') })] });
  expect(mixed.buffer.equals(theirs.buffer)).toBe(true);
});

test('CRC-32C eight bytes at a time equals kafkajs\'s byte at a time, at every length and offset', () => {
  const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (bytes: Buffer) => number;
  expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  const bytes = Buffer.alloc(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  for (let start = 0; start < 9; start++) {
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4000]) {
      const part = bytes.subarray(start, start + length);
      expect(crc32c(part)).toBe(kafkajsCrc(part));
    }
  }
});
