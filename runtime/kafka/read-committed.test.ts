import { createRequire } from 'node:module';
import { committedRecords, type AbortedTransaction, type FetchedRecord } from './read-committed.js';

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const data = (offset: number, producerId: string, inTransaction = true): FetchedRecord => ({ offset: String(offset), key: null, batchContext: { producerId, inTransaction } });
const marker = (offset: number, producerId: string, key: Buffer): FetchedRecord => ({ offset: String(offset), key, isControlRecord: true, batchContext: { producerId, inTransaction: true } });

// Three tasks' producers after a kill -9: each left an open transaction that the next owner aborted,
// then the next owners (same producer ids, new epochs) committed new records. The broker lists the
// aborted transactions in the order of their markers: P3's marker (offset 7) came first.
const log: FetchedRecord[] = [
  data(0, 'P1'), // aborted
  data(1, 'P2'), // aborted
  data(2, 'P3'), // aborted
  data(3, 'P1'), // aborted
  data(4, 'P2'), // aborted
  marker(5, 'P1', ABORT),
  marker(6, 'P2', ABORT),
  marker(7, 'P3', ABORT),
  data(8, 'P3'), // committed below
  data(9, 'P1'), // committed below
  marker(10, 'P3', COMMIT),
  marker(11, 'P1', COMMIT),
  data(12, 'Q', false), // not transactional
];
const aborted: AbortedTransaction[] = [
  { producerId: 'P1', firstOffset: '0' },
  { producerId: 'P2', firstOffset: '1' },
  { producerId: 'P3', firstOffset: '2' },
];

test('records of aborted transactions are dropped, and the same producers\' later committed records kept', () => {
  const kept = committedRecords(log, aborted).filter((r) => !r.isControlRecord).map((r) => Number(r.offset));
  expect(kept).toEqual([8, 9, 12]);
});

test('the order in which the broker lists aborted transactions does not matter', () => {
  const byMarker = [aborted[0]!, aborted[2]!, aborted[1]!].reverse();
  expect(committedRecords(log, byMarker).map((r) => r.offset)).toEqual(committedRecords(log, aborted).map((r) => r.offset));
});

test('a fetch that starts inside aborted transactions starts them all at its first record', () => {
  const tail = log.slice(3);
  expect(committedRecords(tail, aborted).filter((r) => !r.isControlRecord).map((r) => Number(r.offset))).toEqual([8, 9, 12]);
});

test('kafkajs 2.2.4\'s own filter lets aborted records through when markers come in another order than first offsets (why decision 0073 replaces it)', () => {
  // P1's transaction starts first but is aborted last; P2's starts later and is aborted first. The
  // broker lists them by marker (P2, P1): kafkajs starts P1 only after P2, so P1's first records leak.
  const records = [data(0, 'P1'), data(1, 'P1'), data(2, 'P2'), marker(3, 'P2', ABORT), marker(4, 'P1', ABORT), data(5, 'P1'), marker(6, 'P1', COMMIT)];
  const listed: AbortedTransaction[] = [{ producerId: 'P2', firstOffset: '2' }, { producerId: 'P1', firstOffset: '0' }];
  const require = createRequire(import.meta.url);
  const kafkajsFilter = require('kafkajs/src/consumer/filterAbortedMessages.js') as (args: { messages: FetchedRecord[]; abortedTransactions: AbortedTransaction[] }) => FetchedRecord[];
  const dataOffsets = (kept: FetchedRecord[]) => kept.filter((r) => !r.isControlRecord).map((r) => Number(r.offset));
  expect(dataOffsets(kafkajsFilter({ messages: records, abortedTransactions: listed }))).toEqual([0, 1, 5]);
  expect(dataOffsets(committedRecords(records, listed))).toEqual([5]);
});
