import { SOURCE_NAMES } from '../../../api/runtime-config.js';
import { requireStackState } from '../../../e2e/stack/state.js';
import { generate } from '../../../generator/index.js';
import { createPipeline, dropPipeline, kafkaMessages, openProducer, produce, type TestPipeline } from '../../../runtime/e2e/harness.js';
import { runPeer } from './run.js';

/**
 * The Kafka Streams peer (issue 14) on a small generated set equals expected.json: every HBase row
 * (through every expected query) and every stat. Keeps the bench's yardstick honest as the contract
 * evolves. The Maven build comes from the per-user cache (built on first use).
 */
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };
let pipeline: TestPipeline | undefined;

afterAll(async () => {
  if (pipeline) await dropPipeline(endpoints, pipeline);
});

test('the peer on seed 23, 1000 impressions, equals expected.json (rows and stats)', async () => {
  const set = generate({ seed: 23, impressions: 1000 });
  const all = kafkaMessages(set.messages);
  const total = SOURCE_NAMES.reduce((sum, s) => sum + all[s].length, 0);
  pipeline = await createPipeline(endpoints, `peer-t-${Date.now().toString(36)}`, { partitions: 3 });
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, all);
  await producer.disconnect();
  const run = await runPeer({ endpoints, pipeline, expected: set.expected, totalMessages: total, threads: 2, partitions: 3, commitMs: 200 });
  expect(run.differences).toEqual([]);
  expect(run.exact).toBe(true);
  expect(run.hbaseRows).toBeGreaterThan(0);
}, 600_000);
