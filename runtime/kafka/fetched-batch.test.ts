import { createRequire } from 'node:module';
import { FetchedBatch } from './fetched-batch.js';
import { committedRecords, type FetchedRecord } from './read-committed.js';

const require = createRequire(import.meta.url);
// kafkajs's own batch module (nothing replaced in this test process).
const KafkajsBatch = require('kafkajs/src/consumer/batch.js') as new (topic: string, fetchedOffset: string, data: unknown) => Record<string, unknown> & Record<'isEmpty' | 'isEmptyIncludingFiltered' | 'isEmptyDueToFiltering' | 'isEmptyControlRecord' | 'isEmptyDueToLogCompactedMessages' | 'firstOffset' | 'lastOffset' | 'offsetLag' | 'offsetLagLow', () => unknown>;

const record = (offset: string | number, options: { control?: boolean; producerId?: string; inTransaction?: boolean; key?: Buffer | null } = {}): FetchedRecord => ({
  offset: String(offset),
  key: options.key ?? null,
  isControlRecord: options.control ?? false,
  batchContext: { producerId: options.producerId ?? '7', inTransaction: options.inTransaction ?? false },
});
const range = (from: number, to: number, options?: Parameters<typeof record>[1]) => Array.from({ length: to - from }, (_, i) => record(from + i, options));
const COMMIT = Buffer.from([0, 0, 0, 1]);
const ABORT = Buffer.from([0, 0, 0, 0]);
const BIG = 2n ** 60n;

const cases: { name: string; fetchedOffset: string; highWatermark: string; messages: FetchedRecord[] }[] = [
  { name: 'plain records from the fetched offset', fetchedOffset: '10', highWatermark: '30', messages: range(10, 20) },
  { name: 'a compressed batch that starts below the fetched offset', fetchedOffset: '15', highWatermark: '20', messages: range(10, 20) },
  { name: 'only records below the fetched offset (log compaction)', fetchedOffset: '25', highWatermark: '30', messages: range(10, 20) },
  { name: 'an empty fetch', fetchedOffset: '5', highWatermark: '5', messages: [] },
  { name: 'committed transactions with their markers', fetchedOffset: '0', highWatermark: '9', messages: [...range(0, 4, { inTransaction: true }), record(4, { control: true, inTransaction: true, key: COMMIT }), ...range(5, 8)] },
  { name: 'only a marker', fetchedOffset: '4', highWatermark: '5', messages: [record(4, { control: true, inTransaction: true, key: COMMIT })] },
  { name: 'offsets beyond 2^53', fetchedOffset: String(BIG + 3n), highWatermark: String(BIG + 10n), messages: [0n, 2n, 3n, 4n, 9n].map((d) => record(String(BIG + d))) },
  { name: 'offsets of different lengths around 10^15', fetchedOffset: '999999999999999', highWatermark: '1000000000000003', messages: ['999999999999998', '999999999999999', '1000000000000000', '1000000000000001'].map((o) => record(o)) },
];

test.each(cases)('the same batch as kafkajs 2.2.4 builds: $name', ({ fetchedOffset, highWatermark, messages }) => {
  const data = { partition: 3, highWatermark, abortedTransactions: [], messages };
  const ours = new FetchedBatch('t', fetchedOffset, data);
  const theirs = new KafkajsBatch('t', fetchedOffset, data);
  for (const field of ['fetchedOffset', 'topic', 'partition', 'highWatermark', 'rawMessages', 'messagesWithinOffset', 'messages'] as const) expect(ours[field]).toEqual(theirs[field]);
  for (const method of ['isEmpty', 'isEmptyIncludingFiltered', 'isEmptyDueToFiltering', 'isEmptyControlRecord', 'isEmptyDueToLogCompactedMessages', 'firstOffset', 'lastOffset', 'offsetLag', 'offsetLagLow'] as const) expect([method, ours[method]()]).toEqual([method, theirs[method]()]);
});

test('nothing is dropped: the fetched list itself is handed on, not a copy', () => {
  const messages = range(0, 100);
  const batch = new FetchedBatch('t', '0', { partition: 0, highWatermark: '100', messages });
  expect(batch.messages).toBe(messages);
});

test('aborted transactions go through our read_committed filter (decision 0073), then control records are dropped', () => {
  const messages = [...range(0, 3, { inTransaction: true, producerId: 'A' }), record(3, { control: true, inTransaction: true, producerId: 'A', key: ABORT }), ...range(4, 6, { inTransaction: true, producerId: 'B' })];
  const aborted = [{ producerId: 'A', firstOffset: '0' }];
  const batch = new FetchedBatch('t', '0', { partition: 0, highWatermark: '6', abortedTransactions: aborted, messages });
  expect(batch.messages.map((m) => m.offset)).toEqual(['4', '5']);
  expect(batch.messages).toEqual(committedRecords(messages, aborted).filter((m) => !m.isControlRecord));
});
