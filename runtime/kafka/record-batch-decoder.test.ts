import { createRequire } from 'node:module';
import { decodeRecordBatch, type DecodedRecord } from './record-batch-decoder.js';

// kafkajs's own encoder and decoder, straight from Node's module cache (this test installs nothing).
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
interface RecordInput {
  offsetDelta: number;
  timestampDelta: number | bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
}
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: RecordInput) => Encoded;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (batch: object) => Promise<Encoded> };
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => { offset: number };
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<unknown>;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: string | number | bigint): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

async function batch(options: { firstOffset: string; firstTimestamp: string; compression?: number; transactional?: boolean; records: RecordInput[] }): Promise<Buffer> {
  const encoded = await RecordBatch({
    firstOffset: Long.fromValue(options.firstOffset),
    firstTimestamp: Long.fromValue(options.firstTimestamp),
    maxTimestamp: Long.fromValue(options.firstTimestamp),
    lastOffsetDelta: options.records.length - 1,
    compression: options.compression ?? Compression.None,
    transactional: options.transactional ?? false,
    producerId: Long.fromValue(4711),
    producerEpoch: 3,
    records: options.records.map((record) => Record(record)),
  });
  return encoded.buffer;
}

/** A decoded batch as plain data: every field a reader sees, the lazily read key included. */
function fields(decoded: unknown): unknown {
  const { records, ...batchFields } = decoded as { records: DecodedRecord[] };
  return { ...batchFields, records: records.map((r) => ({ magicByte: r.magicByte, attributes: r.attributes, timestamp: r.timestamp, offset: r.offset, key: r.key, value: r.value, headers: r.headers, isControlRecord: r.isControlRecord, batchContext: r.batchContext })) };
}

/** Both decoders over the same bytes (two batches back to back): the same records, fields and positions. */
async function expectSameAsKafkajs(bytes: Buffer): Promise<unknown[]> {
  const ours = new Decoder(Buffer.concat([bytes, bytes]));
  const theirs = new Decoder(Buffer.concat([bytes, bytes]));
  const decoded = [await decodeRecordBatch(ours as never), await decodeRecordBatch(ours as never)];
  const expected = [await kafkajsDecode(theirs), await kafkajsDecode(theirs)];
  expect(decoded.map(fields)).toEqual(expected.map(fields));
  expect(ours.offset).toBe(theirs.offset);
  return decoded;
}

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

test('plain records: offsets, timestamps (deltas of either sign), keys, values and headers as kafkajs gives them', async () => {
  const [first] = (await expectSameAsKafkajs(
    await batch({
      firstOffset: '1000',
      firstTimestamp: '1764633600000',
      records: [
        { offsetDelta: 0, timestampDelta: 0, key: utf8('a'), value: utf8('{"x":1}') },
        { offsetDelta: 1, timestampDelta: -250, key: null, value: utf8('b'), headers: { trace: utf8('t1') } },
        { offsetDelta: 2, timestampDelta: 86_400_000, key: utf8('c'), value: null, headers: { h: [utf8('1'), utf8('2'), utf8('3')], other: utf8('o') } },
        { offsetDelta: 300, timestampDelta: 1, key: Buffer.alloc(0), value: Buffer.alloc(5000, 7) },
      ],
    }),
  )) as { records: { offset: string; timestamp: string }[] }[];
  expect(first!.records.map((r) => [r.offset, r.timestamp])).toEqual([
    ['1000', '1764633600000'],
    ['1001', '1764633599750'],
    ['1002', '1764720000000'],
    ['1300', '1764633600001'],
  ]);
});

test('offsets and timestamps beyond what a double holds exactly take the BigInt path', async () => {
  const [first] = (await expectSameAsKafkajs(
    await batch({
      firstOffset: '9007199254740990',
      firstTimestamp: '9007199254740000',
      records: [
        { offsetDelta: 0, timestampDelta: 0, key: null, value: utf8('v') },
        { offsetDelta: 5, timestampDelta: 2n ** 52n, key: null, value: utf8('w') },
        { offsetDelta: 6, timestampDelta: -(2n ** 60n), key: null, value: utf8('x') },
      ],
    }),
  )) as { records: { offset: string; timestamp: string }[] }[];
  expect(first!.records.map((r) => r.offset)).toEqual(['9007199254740990', '9007199254740995', '9007199254740996']);
  expect(first!.records[1]!.timestamp).toBe(String(9007199254740000n + 2n ** 52n));
});

test('a compressed, transactional batch', async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({ offsetDelta: i, timestampDelta: i * 3, key: utf8(`k${i}`), value: utf8(`value ${i}`) }));
  await expectSameAsKafkajs(await batch({ firstOffset: '77', firstTimestamp: '1764633600000', compression: Compression.GZIP, transactional: true, records }));
});

test('a batch cut short by the fetch size is a partial message, as kafkajs reports it', async () => {
  const bytes = await batch({ firstOffset: '0', firstTimestamp: '1764633600000', records: [{ offsetDelta: 0, timestampDelta: 0, key: null, value: Buffer.alloc(100) }] });
  const cut = bytes.subarray(0, bytes.length - 10);
  await expect(decodeRecordBatch(new Decoder(cut) as never)).rejects.toMatchObject({ name: 'KafkaJSPartialMessageError' });
  await expect(kafkajsDecode(new Decoder(cut))).rejects.toMatchObject({ name: 'KafkaJSPartialMessageError' });
});
