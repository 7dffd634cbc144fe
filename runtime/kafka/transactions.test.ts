import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type KafkaMessage, type Producer, type Transaction } from 'kafkajs';
import { eventually, kafka, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { sendOffsetsWhenCoordinatorReady } from './send-offsets.js';
import { createTopicsReady } from './test-support.js';

// What the runtime's per-task commit relies on, against the shared stack's real Kafka with kafkajs:
// a transaction's records and its sendOffsets become visible together at commit, an abort hides
// both, and a second producer with the same transactional id fences the first — but only from its
// first transaction() call, because kafkajs sends InitProducerId there, not at connect(). Each test
// uses fresh topics, groups and transactional ids; the topics are deleted afterwards.

const client = kafka('adpipe-txn-test');
/**
 * For the producers: kafkajs logs at ERROR level every broker error it then retries or throws, and
 * here they are expected (CONCURRENT_TRANSACTIONS while the previous commit's markers are written,
 * fencing errors). What the tests rely on is asserted, not logged.
 */
const producerClient = new Kafka({ clientId: 'adpipe-txn-test-producer', brokers: [stack().kafka.bootstrap], logLevel: logLevel.NOTHING });
let admin: Admin;
const topics: string[] = [];
const groups: string[] = [];
const clients: Array<Producer | Consumer> = [];

beforeAll(async () => {
  admin = client.admin();
  await admin.connect();
}, 30_000);

afterAll(async () => {
  for (const c of clients) await c.disconnect().catch(() => undefined);
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
  if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  await admin.disconnect();
}, 30_000);

async function freshTopic(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  topics.push(topic);
  // one partition, so every record of a test is in one total order
  await createTopicsReady(admin, [{ topic, numPartitions: 1 }]);
  return topic;
}

function freshGroup(prefix: string): string {
  const group = uniqueName(prefix);
  groups.push(group);
  return group;
}

async function transactionalProducer(transactionalId: string): Promise<Producer> {
  const producer = producerClient.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  clients.push(producer);
  await producer.connect();
  return producer;
}

/** The committed offset of partition 0 of `topic` for `groupId` ('-1' when none), as it is now. */
async function committedOffset(groupId: string, topic: string): Promise<string> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === 0)?.offset ?? '-1';
}

/**
 * Waits until the group's committed offset is `offset`. Needed right after a commit: EndTxn
 * returns once the coordinator has logged the decision, and the markers that make the offsets (and
 * records) visible are written after that; kafkajs's OffsetFetch cannot ask for stable offsets
 * (KIP-447's require_stable), so a fetch moments after commit() can still see the old offset
 * (seen here: '2' instead of '4').
 */
async function offsetBecomes(groupId: string, topic: string, offset: string): Promise<void> {
  await eventually(`offset ${offset} for ${groupId}`, async () => ((await committedOffset(groupId, topic)) === offset ? true : undefined), 20_000, 50);
}

/**
 * The values in `topic` from the beginning, read by a fresh consumer group (read_committed unless
 * asked otherwise) until the value `last` has been read.
 */
async function readUntil(topic: string, last: string, readUncommitted = false): Promise<string[]> {
  const consumer = client.consumer({ groupId: freshGroup('txn-reader'), readUncommitted, maxWaitTimeInMs: 200 });
  clients.push(consumer);
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }: { message: KafkaMessage }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    await eventually(`"${last}" in ${topic}`, async () => (values.includes(last) ? true : undefined), 30_000);
    return values;
  } finally {
    await consumer.disconnect();
  }
}


/** Offsets of partition 0 of `topic`, committed with `txn` for `group`. */
const sendOffsets = (txn: Transaction, group: string, topic: string, offset: string) =>
  sendOffsetsWhenCoordinatorReady(txn, group, [{ topic, partitions: [{ partition: 0, offset }] }]);

const records = (...values: string[]) => values.map((value) => ({ value }));

/** The error `action` rejects with (fails the test when it resolves). */
async function rejection(action: () => Promise<unknown>): Promise<Error & { type?: string; code?: number; retriable?: boolean }> {
  try {
    await action();
  } catch (error) {
    return error as Error & { type?: string; code?: number };
  }
  throw new Error('expected a rejection, but the action succeeded');
}

test('commit: the records become visible to read_committed consumers and sendOffsets sets the group offsets', async () => {
  const out = await freshTopic('txn-out');
  const source = await freshTopic('txn-source');
  const group = freshGroup('txn-task');
  const producer = await transactionalProducer(uniqueName('txn-commit'));

  const txn = await producer.transaction();
  await txn.send({ topic: out, messages: records('c1', 'c2', 'c3') });
  await sendOffsets(txn, group, source, '5');
  // not yet committed: the group has no offset
  expect(await committedOffset(group, source)).toBe('-1');
  await txn.commit();

  await offsetBecomes(group, source, '5');
  expect(await readUntil(out, 'c3')).toEqual(['c1', 'c2', 'c3']);

  // a second transaction moves the offsets on, again at commit
  const next = await producer.transaction();
  await next.send({ topic: out, messages: records('c4') });
  await sendOffsets(next, group, source, '9');
  expect(await committedOffset(group, source)).toBe('5');
  await next.commit();
  await offsetBecomes(group, source, '9');
  expect(await readUntil(out, 'c4')).toEqual(['c1', 'c2', 'c3', 'c4']);
}, 90_000);

test('abort: the records are hidden from read_committed consumers and sendOffsets does not move the group', async () => {
  const out = await freshTopic('txn-out');
  const source = await freshTopic('txn-source');
  const group = freshGroup('txn-task');
  const producer = await transactionalProducer(uniqueName('txn-abort'));

  const first = await producer.transaction();
  await first.send({ topic: out, messages: records('kept-1') });
  await sendOffsets(first, group, source, '3');
  await first.commit();
  await offsetBecomes(group, source, '3');

  const aborted = await producer.transaction();
  await aborted.send({ topic: out, messages: records('aborted-1', 'aborted-2') });
  await sendOffsets(aborted, group, source, '100');
  await aborted.abort();

  // a committed record after the aborted ones tells the reader it has seen everything before it
  const last = await producer.transaction();
  await last.send({ topic: out, messages: records('kept-2') });
  await last.commit();

  expect(await readUntil(out, 'kept-2')).toEqual(['kept-1', 'kept-2']);
  // the aborted records are in the log: a read_uncommitted consumer sees them
  expect(await readUntil(out, 'kept-2', true)).toEqual(['kept-1', 'aborted-1', 'aborted-2', 'kept-2']);
  // the last transaction (no offsets) is complete by now, and the aborted one never moved the group
  expect(await committedOffset(group, source)).toBe('3');
}, 90_000);

test('fencing: a new producer with the same transactional id fences the old one from its first transaction() on, not from connect()', async () => {
  const out = await freshTopic('txn-out');
  const source = await freshTopic('txn-source');
  const group = freshGroup('txn-task');
  const transactionalId = uniqueName('txn-fence');

  const old = await transactionalProducer(transactionalId);
  const first = await old.transaction();
  await first.send({ topic: out, messages: records('old-1') });
  await sendOffsets(first, group, source, '1');
  await first.commit();

  // The new owner connects. kafkajs has not sent InitProducerId yet, so the old one is not fenced:
  // it can still run a whole transaction.
  const owner = await transactionalProducer(transactionalId);
  const second = await old.transaction();
  await second.send({ topic: out, messages: records('old-2') });
  await sendOffsets(second, group, source, '2');
  await second.commit();

  // The old producer is mid-transaction when the new owner calls transaction() (InitProducerId):
  // the coordinator aborts the old transaction and bumps the epoch (kafkajs retries the
  // CONCURRENT_TRANSACTIONS it answers meanwhile), and the old commit fails.
  const third: Transaction = await old.transaction();
  await third.send({ topic: out, messages: records('old-3') });
  await sendOffsets(third, group, source, '3');
  const owned = await owner.transaction();
  // InitProducerId returns only once the old producer's transactions are complete, so what the new
  // owner reads now (before it restores) is stable: the last commit's offsets, not the aborted ones.
  expect(await committedOffset(group, source)).toBe('2');
  const commitError = await rejection(() => third.commit());
  expect(commitError.name).toBe('KafkaJSProtocolError');
  expect(commitError.type).toBe('INVALID_PRODUCER_EPOCH');
  expect(commitError.retriable).toBe(false);

  await owned.send({ topic: out, messages: records('new-1') });
  await sendOffsets(owned, group, source, '4');
  await owned.commit();
  await offsetBecomes(group, source, '4');
  // old-3 was aborted by the fencing: read_committed readers never see it
  expect(await readUntil(out, 'new-1')).toEqual(['old-1', 'old-2', 'new-1']);
}, 90_000);

test('fencing: an old producer that is between transactions fails at its next send; its last commit is visible to the new owner at once', async () => {
  const out = await freshTopic('txn-out');
  const source = await freshTopic('txn-source');
  const group = freshGroup('txn-task');
  const transactionalId = uniqueName('txn-fence');

  const old = await transactionalProducer(transactionalId);
  const first = await old.transaction();
  await first.send({ topic: out, messages: records('old-1') });
  await sendOffsets(first, group, source, '1');
  await first.commit();

  // the new owner's first transaction() right after the old commit: when it returns, the commit's
  // offsets can be read (no waiting), because InitProducerId waits for the commit to complete
  const owner = await transactionalProducer(transactionalId);
  const owned = await owner.transaction();
  expect(await committedOffset(group, source)).toBe('1');

  // transaction() itself is local once the producer id is known, so the fencing shows at the send
  const stale = await old.transaction();
  const sendError = await rejection(() => stale.send({ topic: out, messages: records('old-2') }));
  expect(sendError.name).toBe('KafkaJSProtocolError');
  expect(sendError.type).toBe('INVALID_PRODUCER_EPOCH');

  await owned.send({ topic: out, messages: records('new-1') });
  await owned.commit();
  expect(await readUntil(out, 'new-1')).toEqual(['old-1', 'new-1']);
}, 90_000);
