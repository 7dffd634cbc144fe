import { createRequire } from 'node:module';
import { frameRequest, produceRequest } from './produce-request.js';

// kafkajs's own produce request and request framing, straight from Node's module cache (this test installs nothing).
const require = createRequire(import.meta.url);
type Encoded = { buffer: Buffer };
type Request = { apiKey: number; apiVersion: number; encode: () => Promise<Encoded> };
const kafkajsProduce = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (args: object) => Request & { apiName: string; expectResponse: () => boolean };
const kafkajsFrame = require('kafkajs/src/protocol/request.js') as (args: { correlationId: number; clientId: string | null; request: Request }) => Promise<Encoded>;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(value: number): unknown };
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as { Types: { None: number; GZIP: number } };

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

/** The same produce through kafkajs and ours, framed as a request: byte for byte the same. */
async function expectSameRequest(args: Record<string, unknown>, clientId: string | null = 'adpipe-worker'): Promise<void> {
  const theirs = kafkajsProduce(args);
  const ours = produceRequest(args as unknown as Parameters<typeof produceRequest>[0]);
  expect([ours.apiKey, ours.apiVersion, ours.apiName, ours.expectResponse()]).toEqual([theirs.apiKey, theirs.apiVersion, theirs.apiName, theirs.expectResponse()]);
  const theirBytes = (await kafkajsFrame({ correlationId: 42, clientId, request: theirs })).buffer;
  const ourBytes = (await frameRequest({ correlationId: 42, clientId, request: ours })).buffer;
  expect(ourBytes.toString('hex')).toBe(theirBytes.toString('hex'));
}

const frames = (count: number, size: number) => Array.from({ length: count }, (_, i) => ({ value: Buffer.alloc(size + i, i + 1), timestamp: 1_764_633_600_000 + i }));

test('a transaction of the task producer: frames to several partitions of two topics, with dead letters', async () => {
  await expectSameRequest({
    acks: -1,
    timeout: 30_000,
    transactionalId: 'group-task-3',
    producerId: Long.fromValue(9001),
    producerEpoch: 7,
    topicData: [
      { topic: 'adpipe.ns.p.tasks', partitions: [{ partition: 0, firstSequence: 12, messages: frames(3, 200_000) }, { partition: 5, firstSequence: 0, messages: frames(1, 10) }] },
      { topic: 'adpipe.ns.p.dlq', partitions: [{ partition: 2, firstSequence: 4, messages: [{ key: 'impressions/1/17', value: utf8('{oops'), headers: { 'adpipe-reason': 'not JSON', 'adpipe-source': utf8('impressions') }, timestamp: 1_764_633_600_005 }] }] },
    ],
  });
});

test('plain producers: no transaction, timestamps of every kind, acks 0, a null client id, compression left to kafkajs', async () => {
  const realNow = Date.now;
  Date.now = () => 1_764_633_612_345; // messages without a timestamp take the clock's
  try {
    await expectSameRequest({ acks: 1, timeout: 5000, topicData: [{ topic: 'ü-topic', partitions: [{ partition: 1, messages: [{ key: 'k', value: 'v' }, { value: utf8('w'), timestamp: '1764633600000' }, { value: null, timestamp: 1_764_633_500_000 }] }] }] });
    await expectSameRequest({ acks: 0, timeout: 1, topicData: [] }, null);
    await expectSameRequest({ acks: -1, timeout: 1000, compression: Compression.GZIP, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: frames(2, 3000) }] }] });
  } finally {
    Date.now = realNow;
  }
});

test('any request is framed as kafkajs frames it: size, api key and version, correlation id, client id', async () => {
  const payload = { buffer: utf8('any payload'), buf: utf8('any payload') };
  const request = { apiKey: 1, apiVersion: 11, encode: async () => payload };
  for (const clientId of ['c', 'clïent', null]) {
    const theirs = await kafkajsFrame({ correlationId: 7, clientId, request: request as unknown as Request });
    const ours = await frameRequest({ correlationId: 7, clientId, request: request as never });
    expect(ours.buffer.equals(theirs.buffer)).toBe(true);
  }
});
