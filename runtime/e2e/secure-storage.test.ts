import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../e2e/stack/ports.js';
import { eventually, filesContaining, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { generate, type Expected } from '../../generator/index.js';
import { hbaseClient } from '../hbase-client.js';
import { createPipeline, dropPipeline, ensureBuilt, getJson, kafkaMessages, openProducer, produce, startWorker, stopWorker, untilExact, type TestPipeline, type WorkerProcess } from './harness.js';

// The worker against the shared stack's HBase over mutual TLS (certificates from the stack CA, as
// the Secrets of spec.hbase.tls would mount them), into a table whose families are encrypted at
// rest (spec.storage.encryption: AES). Answers stay exact; after a flush, no campaign id or user id
// is in the table's HFiles or in the (encrypted) WAL on disk (decisions 0130, 0132).

const endpoints = { bootstrap: stack().kafka.bootstrap, zookeeperQuorum: stack().hbase.zookeeperQuorum };
let pipeline: TestPipeline;
let worker: WorkerProcess | undefined;
let expected: Expected;
let userIds: string[];

beforeAll(async () => {
  ensureBuilt();
  const set = generate({ seed: 16, impressions: 800 });
  expected = set.expected;
  userIds = [...new Set(set.messages.impressions.flatMap((text) => [...text.matchAll(/"user_id"\s*:\s*"([^"]{6,})"/g)].map((m) => m[1]!)))];
  const tls = stack().hbase.tls;
  pipeline = await createPipeline(endpoints, uniqueName('rt-secure'), { hbaseTls: { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }, encryption: 'AES' });
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, kafkaMessages(set.messages));
  await producer.disconnect();
  worker = startWorker(pipeline, await freePort());
}, 180_000);

afterAll(async () => {
  await stopWorker(worker);
  if (pipeline) await dropPipeline(endpoints, pipeline);
}, 120_000);

test('a worker over mutual TLS into an encrypted table: exact answers; no campaign or user id in plaintext on disk', async () => {
  const port = worker!.port;
  await eventually('the worker to have counted every record', async () => {
    if (worker!.child.exitCode !== null) throw new Error(`worker exited: ${worker!.output()}`);
    const stats = await getJson<Expected['stats']>(port, '/v1/pipeline/stats');
    return JSON.stringify(stats) === JSON.stringify(expected.stats) ? stats : undefined;
  }, 150_000, 1000);
  await untilExact(port, expected, 60_000);

  const hbase = hbaseClient(pipeline.config.hbase);
  try {
    const families = (await hbase.admin.describeTable(pipeline.config.hbase.table))!.families;
    expect(families.map((family) => family.encryption)).toEqual(families.map(() => 'AES'));
    await hbase.admin.flushTable(pipeline.config.hbase.table);
  } finally {
    hbase.close();
  }
  const root = stack().hbase.rootDir;
  const tableDir = path.join(root, 'data', 'default', pipeline.config.hbase.table);
  const storeFiles = fs.readdirSync(tableDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && /^[0-9a-f]{32}$/.test(e.name));
  expect(storeFiles.length).toBeGreaterThan(0);
  const campaignIds = [...new Set(expected.queries.map(({ query }) => query.campaign_id))];
  expect(campaignIds.length).toBeGreaterThan(2);
  expect(userIds.length).toBeGreaterThan(10);
  const needles = [...campaignIds, ...userIds];
  expect(filesContaining(tableDir, needles)).toEqual([]);
  // The WAL is shared by every table and encrypted as a whole (hbase.regionserver.wal.encryption).
  for (const wal of ['WALs', 'oldWALs']) {
    if (fs.existsSync(path.join(root, wal))) expect(filesContaining(path.join(root, wal), needles)).toEqual([]);
  }
  // Still exact after the flush (reads now come from the encrypted HFiles).
  await untilExact(port, expected, 60_000);
}, 400_000);
