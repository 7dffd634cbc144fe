import { replaceKafkajsModule } from './replace-module.js';

/** What kafkajs 2.2.4's fetch decoding hands its aborted-transaction filter (offsets and ids are Int64 strings). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]); // control record version 0, type 0 (abort)

/**
 * The records of one fetched partition a read_committed consumer may see (decision 0073).
 *
 * kafkajs 2.2.4 assumes the broker lists aborted transactions by first offset and starts at most one
 * per record. The broker lists them in the order their markers were written (its transaction index).
 * When a transaction that began earlier is aborted later than another, kafkajs starts it late and
 * hands its first records to the consumer as if committed. After a `kill -9`, the next owner's
 * InitProducerIds abort the old owner's open transactions in just that pattern, and the leaked
 * internal records (a batch's progress among them) were applied: counts moved twice, and a leaked
 * progress record made the new owner skip source records whose dead letters had only been sent in
 * the aborted transaction (decision 0073 has the runs).
 * Here, as in the Java consumer: every aborted transaction whose first offset has been reached is
 * started (in first-offset order), and a producer's abort marker ends it.
 */
export function committedRecords<R extends FetchedRecord>(records: readonly R[], aborted: readonly AbortedTransaction[] | undefined): R[] {
  if (!aborted || aborted.length === 0) return [...records];
  const pending = [...aborted].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : BigInt(a.firstOffset) > BigInt(b.firstOffset) ? 1 : 0));
  const abortedProducers = new Set<string>();
  let next = 0;
  return records.filter((record) => {
    const offset = BigInt(record.offset);
    while (next < pending.length && offset >= BigInt(pending[next]!.firstOffset)) abortedProducers.add(pending[next++]!.producerId);
    const { producerId, inTransaction } = record.batchContext;
    if (record.isControlRecord) {
      if (record.key && ABORT_MARKER_KEY.equals(record.key)) abortedProducers.delete(producerId);
      return true; // kafkajs drops control records itself, after this filter
    }
    return !(inTransaction && abortedProducers.has(producerId));
  });
}

/**
 * Puts `committedRecords` in place of kafkajs's own filter. kafkajs's batch module takes the filter
 * once, when it is first loaded, so this must run before anything loads kafkajs: the worker's entry
 * imports this module first, and it refuses to run late rather than leave the old filter in place.
 */
export function installReadCommittedFilter(options: { ifStillPossible?: boolean } = {}): void {
  replaceKafkajsModule({ module: 'consumer/filterAbortedMessages.js', loadedBy: 'consumer/batch.js', replacement: kafkajsFilter, what: 'read_committed filter', ...options });
}

function kafkajsFilter({ messages, abortedTransactions }: { messages: FetchedRecord[]; abortedTransactions?: AbortedTransaction[] }): FetchedRecord[] {
  return committedRecords(messages, abortedTransactions);
}
