import { HBaseClient, isHBaseError } from './index.js';
import { stack, uniqueName } from '../e2e/support/stack-clients.js';

// DDL through the master of the shared stack's real HBase. Every table is fresh and dropped after.

let client: HBaseClient;
const created: string[] = [];

beforeAll(() => {
  client = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum, operationTimeoutMs: 60_000 });
});

afterAll(async () => {
  for (const table of created) await client.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  client.close();
});

function tableName(prefix: string): string {
  const name = uniqueName(prefix).replace(/-/g, '_');
  created.push(name);
  return name;
}

test('create with family settings and pre-split keys; describe; exists', async () => {
  const table = tableName('ddl');
  expect(await client.admin.tableExists(table)).toBe(false);
  expect(await client.admin.describeTable(table)).toBeUndefined();
  await client.admin.createTable({
    name: table,
    families: [
      { name: 'd', ttlSeconds: 86_400, maxVersions: 3, compression: 'GZ', bloomFilter: 'ROWCOL', blockSizeBytes: 32_768, dataBlockEncoding: 'FAST_DIFF' },
      { name: 'agg', inMemory: true, blockCache: true },
    ],
    splitKeys: ['m', 'f', 't'],
  });
  expect(await client.admin.tableExists(table)).toBe(true);
  expect(await client.admin.listTables()).toContain(table);
  const description = await client.admin.describeTable(table);
  expect(description).toMatchObject({ name: table, enabled: true });
  const byName = Object.fromEntries(description!.families.map((family) => [family.name, family]));
  expect(byName['d']).toEqual({ name: 'd', ttlSeconds: 86_400, maxVersions: 3, minVersions: 0, compression: 'GZ', bloomFilter: 'ROWCOL', blockSizeBytes: 32_768, blockCache: true, inMemory: false, dataBlockEncoding: 'FAST_DIFF', encryption: 'NONE' });
  expect(byName['agg']).toMatchObject({ inMemory: true, ttlSeconds: undefined, maxVersions: 1 });
  const regions = await client.admin.listRegions(table);
  expect(regions.map((region) => [region.startKey.toString(), region.endKey.toString()])).toEqual([['', 'f'], ['f', 'm'], ['m', 't'], ['t', '']]);
  expect(regions.every((region) => region.server !== undefined)).toBe(true);
  // Writable right away (create waits until its regions are online).
  await client.putMany(table, ['a', 'g', 'n', 'z'].map((row) => ({ row, cells: [{ family: 'd', qualifier: 'q', value: row }] })));
  expect((await client.getMany(table, [{ row: 'a' }, { row: 'z' }])).map((row) => row?.value('d', 'q')?.toString())).toEqual(['a', 'z']);
});

test('modify a family (whole descriptor: omitted settings revert), add a family, disable/enable, delete', async () => {
  const table = tableName('alter');
  await client.admin.createTable({ name: table, families: [{ name: 'd', ttlSeconds: 3600, maxVersions: 5 }] });
  await client.admin.modifyFamily(table, { name: 'd', ttlSeconds: 7200, maxVersions: 5, compression: 'GZ' });
  expect((await client.admin.describeTable(table))!.families[0]).toMatchObject({ ttlSeconds: 7200, maxVersions: 5, compression: 'GZ' });
  await client.admin.modifyFamily(table, { name: 'd', ttlSeconds: 60 });
  expect((await client.admin.describeTable(table))!.families[0]).toMatchObject({ ttlSeconds: 60, maxVersions: 1, compression: 'NONE' });

  await client.admin.addFamily(table, { name: 'extra', maxVersions: 2 });
  expect((await client.admin.describeTable(table))!.families.map((family) => family.name).sort()).toEqual(['d', 'extra']);
  await client.put(table, { row: 'r', cells: [{ family: 'extra', qualifier: 'q', value: 'v' }] });
  expect((await client.get(table, { row: 'r' }))?.value('extra', 'q')?.toString()).toBe('v');

  await client.admin.disableTable(table);
  expect((await client.admin.describeTable(table))!.enabled).toBe(false);
  await client.admin.enableTable(table);
  expect((await client.admin.describeTable(table))!.enabled).toBe(true);
  expect((await client.get(table, { row: 'r' }))?.value('extra', 'q')?.toString()).toBe('v');

  await client.admin.deleteTable(table);
  expect(await client.admin.tableExists(table)).toBe(false);
  await client.admin.deleteTable(table, { ifExists: true });
  await expect(client.admin.deleteTable(table)).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND' });
});

test('DDL errors are clear: existing table, missing table, missing family, bad family name', async () => {
  const table = tableName('ddlerr');
  await client.admin.createTable({ name: table, families: [{ name: 'd' }] });

  const exists = await client.admin.createTable({ name: table, families: [{ name: 'd' }] }).catch((e: unknown) => e);
  expect(isHBaseError(exists, 'TABLE_EXISTS')).toBe(true);
  expect((exists as Error).message).toContain(table);
  expect(exists).toMatchObject({ retriable: false, context: expect.objectContaining({ table }) });

  const missing = uniqueName('nosuch').replace(/-/g, '_');
  const modifyMissing = await client.admin.modifyFamily(missing, { name: 'd' }).catch((e: unknown) => e);
  expect(isHBaseError(modifyMissing, 'TABLE_NOT_FOUND')).toBe(true);
  expect((modifyMissing as Error).message).toContain(missing);
  await expect(client.admin.addFamily(missing, { name: 'x' })).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND' });
  await expect(client.admin.disableTable(missing)).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND' });

  const noFamily = await client.admin.modifyFamily(table, { name: 'nope' }).catch((e: unknown) => e);
  expect(isHBaseError(noFamily, 'NO_SUCH_FAMILY')).toBe(true);
  expect((noFamily as Error).message).toMatch(/nope/);

  const badName = await client.admin.createTable({ name: tableName('badfam'), families: [{ name: 'a:b' }] }).catch((e: unknown) => e);
  expect(isHBaseError(badName, 'INVALID_ARGUMENT')).toBe(true);
  expect((badName as Error).message).toContain("'a:b'");
  await expect(client.admin.addFamily(table, { name: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', context: { table, family: '' } });
  await expect(client.admin.createTable({ name: 'not a name', families: [{ name: 'd' }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(client.admin.createTable({ name: tableName('nofam'), families: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
});

test('split a region on demand: the table keeps every row', async () => {
  const table = tableName('split');
  await client.admin.createTable({ name: table, families: [{ name: 'd' }] });
  await client.putMany(table, Array.from({ length: 200 }, (_, i) => ({ row: `r${String(i).padStart(3, '0')}`, cells: [{ family: 'd', qualifier: 'q', value: String(i) }] })));
  await client.admin.splitRegion(table, 'r100');
  const regions = await client.admin.listRegions(table);
  expect(regions.map((region) => region.startKey.toString())).toEqual(['', 'r100']);
  let count = 0;
  for await (const row of client.scan(table)) if (row.value('d', 'q')) count++;
  expect(count).toBe(200);
});
