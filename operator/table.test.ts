import { HBaseClient } from '../hbase/index.js';
import { eventually, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import type { Operator } from './operator.js';
import { hbaseTableAdmins } from './reconcile/hbase-admin.js';
import { applyPipeline, condition, cleanUp, examplePipeline, freshNamespace, getPipeline, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// The table reconciler through the HBase module against the stack's real HBase.

let namespace: string;
let operator: Operator;
let hbase: HBaseClient;

beforeAll(async () => {
  await installCrd();
  namespace = await freshNamespace('optbl');
  hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
  operator = await startTestOperator(namespace, { tables: hbaseTableAdmins() });
});

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
  hbase?.close();
});

test('the example creates its table with families, TTLs and pre-split regions; Ready when workers are scaled to 0', async () => {
  const name = uniqueName('tbl');
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.workers!.replicas = 0;
  pipeline.spec.deletionPolicy = 'Delete';
  await applyPipeline(pipeline);
  const table = `adpipe_${namespace}_${name}`;
  const ready = await waitForCondition(namespace, name, 'Ready', 'True', 'Ready', 90_000);
  expect(condition(ready, 'StorageReady')).toMatchObject({ status: 'True', reason: 'TableReady' });
  expect(ready.status?.table).toBe(table);

  const description = await hbase.admin.describeTable(table);
  const families = Object.fromEntries(description!.families.map((f) => [f.name, f]));
  expect(families['a']).toMatchObject({ ttlSeconds: 8760 * 3600, maxVersions: 1, compression: 'NONE', bloomFilter: 'ROW' });
  expect(families['s']).toMatchObject({ ttlSeconds: (168 + 24) * 3600 });
  expect(families['d']).toMatchObject({ ttlSeconds: 168 * 3600 });
  expect(await hbase.admin.listRegions(table)).toHaveLength(8);

  // Retention of stored data changes online: the family TTL follows.
  pipeline.spec.retention!.aggregates = '720h';
  await applyPipeline(pipeline);
  await eventually('TTL of family a to be 720h', async () => {
    const d = await hbase.admin.describeTable(table);
    return d?.families.find((f) => f.name === 'a')?.ttlSeconds === 720 * 3600 ? true : undefined;
  });
  await waitForCondition(namespace, name, 'Ready', 'True');
  expect((await hbase.admin.describeTable(table))!.enabled).toBe(true);

  // Delete: the table goes with the pipeline.
  await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
  await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true), 90_000);
  expect(await hbase.admin.tableExists(table)).toBe(false);
});

test('Retain keeps the table', async () => {
  const name = uniqueName('tblkeep');
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.workers!.replicas = 0;
  await applyPipeline(pipeline);
  const table = `adpipe_${namespace}_${name}`;
  await waitForCondition(namespace, name, 'StorageReady', 'True', 'TableReady', 90_000);
  await kubectl('delete', 'adp', name, '-n', namespace, '--wait=false');
  await eventually('the AdPipeline to be gone', async () => ((await getPipeline(namespace, name)) ? undefined : true));
  expect(await hbase.admin.tableExists(table)).toBe(true);
  await hbase.admin.deleteTable(table, { ifExists: true });
});
