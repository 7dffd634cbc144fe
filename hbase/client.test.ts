import { HBaseClient, isHBaseError, type HBaseRow } from './index.js';
import { stack, uniqueName } from '../e2e/support/stack-clients.js';

// The data API against the shared stack's real HBase. Each test uses its own fresh table(s).

let client: HBaseClient;
const tables: string[] = [];

beforeAll(() => {
  client = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum, operationTimeoutMs: 30_000 });
});

afterAll(async () => {
  for (const table of tables) await client.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  client.close();
});

async function freshTable(prefix: string, options: { splitKeys?: string[]; families?: string[]; name?: string } = {}): Promise<string> {
  const name = options.name ?? uniqueName(prefix).replace(/-/g, '_');
  tables.push(name);
  await client.admin.createTable({ name, families: (options.families ?? ['f']).map((family) => ({ name: family })), splitKeys: options.splitKeys });
  return name;
}

async function collect(iterable: AsyncIterable<HBaseRow>): Promise<string[]> {
  const rows: string[] = [];
  for await (const row of iterable) rows.push(row.row.toString());
  return rows;
}

const key = (i: number) => `row-${String(i).padStart(6, '0')}`;

test('put, get, multi-put and multi-get round-trip cells, with column selection', async () => {
  const table = await freshTable('data', { families: ['f', 'g'] });
  await client.put(table, { row: 'a', cells: [{ family: 'f', qualifier: 'q1', value: 'v1' }, { family: 'g', qualifier: 'q2', value: Buffer.from([0, 255]) }] });
  await client.putMany(table, [
    { row: 'b', cells: [{ family: 'f', qualifier: 'q1', value: 'vb' }] },
    { row: 'c', cells: [{ family: 'f', qualifier: 'q1', value: 'vc', timestamp: 1_700_000_000_000 }] },
  ]);

  const a = await client.get(table, { row: 'a' });
  expect(a?.value('f', 'q1')?.toString()).toBe('v1');
  expect(a?.value('g', 'q2')).toEqual(Buffer.from([0, 255]));
  const onlyG = await client.get(table, { row: 'a', columns: [{ family: 'g' }] });
  expect(onlyG?.cells.map((cell) => cell.family.toString())).toEqual(['g']);
  expect(await client.get(table, { row: 'missing' })).toBeUndefined();

  const many = await client.getMany(table, [{ row: 'c' }, { row: 'nope' }, { row: 'b', columns: [{ family: 'f', qualifier: 'q1' }] }]);
  expect(many.map((row) => row?.value('f', 'q1')?.toString())).toEqual(['vc', undefined, 'vb']);
  expect(many[0]?.cell('f', 'q1')?.timestamp).toBe(1_700_000_000_000);
});

test('get with several column prefixes returns exactly the columns under them, from a wide row', async () => {
  const table = await freshTable('prefixes', { families: ['f', 'g'] });
  // 3 000 columns in one row: the filter must seek, and must not leak neighbours sharing a shorter prefix.
  const cells = Array.from({ length: 3000 }, (_, i) => ({ family: 'f', qualifier: `x${i}:`, value: String(i) }));
  await client.put(table, { row: 'wide', cells: [...cells, { family: 'g', qualifier: 'x7:', value: 'other family' }] });
  const [row, none] = await client.getMany(table, [
    { row: 'wide', columns: [{ family: 'f' }], filter: { type: 'columnPrefixes', prefixes: ['x2999:', 'x7:', 'x12:', 'x7:'] } },
    { row: 'wide', columns: [{ family: 'f' }], filter: { type: 'columnPrefixes', prefixes: ['y'] } },
  ]);
  expect(row?.cells.map((cell) => `${cell.qualifier.toString()}=${cell.value.toString()}`)).toEqual(['x12:=12', 'x2999:=2999', 'x7:=7']);
  expect(none).toBeUndefined();
});

test('scan: range, prefix, reversed, limit, columns and filters across regions', async () => {
  const table = await freshTable('scan', { splitKeys: ['row-000030', 'row-000060'] });
  await client.putMany(
    table,
    Array.from({ length: 90 }, (_, i) => ({ row: key(i), cells: [{ family: 'f', qualifier: 'n', value: String(i % 3) }, { family: 'f', qualifier: 'x', value: 'x' }] })),
  );
  const all = Array.from({ length: 90 }, (_, i) => key(i));

  expect(await collect(client.scan(table))).toEqual(all);
  expect(await collect(client.scan(table, { batchRows: 7 }))).toEqual(all);
  expect(await collect(client.scan(table, { startRow: key(25), stopRow: key(65) }))).toEqual(all.slice(25, 65));
  expect(await collect(client.scan(table, { reversed: true }))).toEqual([...all].reverse());
  expect(await collect(client.scan(table, { reversed: true, startRow: key(64), stopRow: key(25), batchRows: 4 }))).toEqual(all.slice(26, 65).reverse());
  expect(await collect(client.scan(table, { prefix: 'row-00003' }))).toEqual(all.slice(30, 40));
  expect(await collect(client.scan(table, { prefix: 'row-00005', reversed: true }))).toEqual(all.slice(50, 60).reverse());
  expect(await collect(client.scan(table, { limit: 45, batchRows: 10 }))).toEqual(all.slice(0, 45));
  expect(await collect(client.scan(table, { reversed: true, limit: 3 }))).toEqual([key(89), key(88), key(87)]);

  const narrow: HBaseRow[] = [];
  for await (const row of client.scan(table, { columns: [{ family: 'f', qualifier: 'n' }], limit: 2 })) narrow.push(row);
  expect(narrow.map((row) => Object.keys(row.toRecord()))).toEqual([['f:n'], ['f:n']]);

  const zeros = await collect(client.scan(table, { filter: { type: 'singleColumnValue', family: 'f', qualifier: 'n', op: 'EQUAL', value: '0', filterIfMissing: true } }));
  expect(zeros).toEqual(all.filter((_, i) => i % 3 === 0));
  const keysOnly: HBaseRow[] = [];
  for await (const row of client.scan(table, { filter: { type: 'keyOnly' }, limit: 1 })) keysOnly.push(row);
  expect(keysOnly[0]?.cells.every((cell) => cell.value.length === 0)).toBe(true);
  const rowFilter = await collect(client.scan(table, { filter: { type: 'list', operator: 'all', filters: [{ type: 'row', op: 'GREATER_OR_EQUAL', value: key(85) }, { type: 'firstKeyOnly' }] } }));
  expect(rowFilter).toEqual(all.slice(85));

  // Leaving a scan early closes its server-side scanner; the next scan is unaffected.
  for await (const row of client.scan(table, { batchRows: 5 })) if (row.row.toString() === key(2)) break;
  expect((await collect(client.scan(table, { startRow: key(88) }))).length).toBe(2);
});

test('a 100k-row scan over many batches and regions returns every row exactly once', async () => {
  const table = await freshTable('big', { splitKeys: ['row-025000', 'row-050000', 'row-075000'] });
  const total = 100_000;
  for (let start = 0; start < total; start += 500) {
    await client.putMany(table, Array.from({ length: 500 }, (_, i) => ({ row: key(start + i), cells: [{ family: 'f', qualifier: 'v', value: `value-${start + i}` }] })));
  }
  const seen = new Set<string>();
  let previous = '';
  let duplicates = 0;
  let outOfOrder = 0;
  for await (const row of client.scan(table, { batchRows: 997 })) {
    const text = row.row.toString();
    if (seen.has(text)) duplicates++;
    if (text <= previous) outOfOrder++;
    if (row.value('f', 'v')?.toString() !== `value-${Number(text.slice(4))}`) throw new Error(`wrong value in ${text}`);
    seen.add(text);
    previous = text;
  }
  expect({ rows: seen.size, duplicates, outOfOrder }).toEqual({ rows: total, duplicates: 0, outOfOrder: 0 });
});

test('increment several counters in one call; check-and-mutate; delete', async () => {
  const table = await freshTable('ops', { families: ['f', 'c'] });
  expect(await client.increment(table, { row: 'k', columns: [{ family: 'c', qualifier: 'clicks', amount: 1 }, { family: 'c', qualifier: 'views', amount: 10n }] })).toEqual([1n, 10n]);
  expect(await client.increment(table, { row: 'k', columns: [{ family: 'c', qualifier: 'clicks', amount: 2 }, { family: 'c', qualifier: 'views', amount: -3 }] })).toEqual([3n, 7n]);

  // Put-if-absent: the first wins, the second sees the cell and does nothing.
  const putIfAbsent = (value: string) => client.checkAndMutate(table, { row: 'id-1', family: 'f', qualifier: 'seen', put: [{ family: 'f', qualifier: 'seen', value }] });
  expect(await putIfAbsent('first')).toBe(true);
  expect(await putIfAbsent('second')).toBe(false);
  expect((await client.get(table, { row: 'id-1' }))?.value('f', 'seen')?.toString()).toBe('first');
  expect(await client.checkAndMutate(table, { row: 'id-1', family: 'f', qualifier: 'seen', value: 'other', put: [{ family: 'f', qualifier: 'x', value: 'y' }] })).toBe(false);
  expect(await client.checkAndMutate(table, { row: 'id-1', family: 'f', qualifier: 'seen', value: 'first', put: [{ family: 'f', qualifier: 'x', value: 'y' }] })).toBe(true);
  expect(await client.checkAndMutate(table, { row: 'id-1', family: 'f', qualifier: 'x', value: 'y', delete: [{ family: 'f', qualifier: 'seen' }] })).toBe(true);
  expect(Object.keys((await client.get(table, { row: 'id-1' }))!.toRecord())).toEqual(['f:x']);

  await client.put(table, { row: 'd', cells: [{ family: 'f', qualifier: 'a', value: '1' }, { family: 'f', qualifier: 'b', value: '2' }, { family: 'c', qualifier: 'n', value: '3' }] });
  await client.delete(table, { row: 'd', columns: [{ family: 'f', qualifier: 'a' }] });
  expect(Object.keys((await client.get(table, { row: 'd' }))!.toRecord()).sort()).toEqual(['c:n', 'f:b']);
  await client.delete(table, { row: 'd', columns: [{ family: 'c' }] });
  expect(Object.keys((await client.get(table, { row: 'd' }))!.toRecord())).toEqual(['f:b']);
  await client.delete(table, { row: 'd' });
  expect(await client.get(table, { row: 'd' })).toBeUndefined();
});

test('checkAndMutateMany: many conditional puts across regions in one call, each result exact', async () => {
  const table = await freshTable('cam_many', { splitKeys: [key(100), key(200)] });
  // Rows 0, 3, 6, ... already claimed; the batch tries put-if-absent on 0..299, plus value-equal
  // conditions on a few rows whose current value matches (or not).
  const taken = (i: number) => i % 3 === 0;
  await client.putMany(table, Array.from({ length: 300 }, (_, i) => i).filter(taken).map((i) => ({ row: key(i), cells: [{ family: 'f', qualifier: 'c', value: `old-${i}` }] })));
  const requests = Array.from({ length: 300 }, (_, i) => ({ row: key(i), family: 'f', qualifier: 'c', put: [{ family: 'f', qualifier: 'c', value: `new-${i}` }, { family: 'f', qualifier: 'x', value: `x-${i}` }] }));
  const results = await client.checkAndMutateMany(table, requests);
  expect(results).toEqual(requests.map((_, i) => !taken(i)));
  const rows = await client.getMany(table, requests.map((r) => ({ row: r.row })));
  rows.forEach((row, i) => {
    expect(row?.value('f', 'c')?.toString()).toBe(taken(i) ? `old-${i}` : `new-${i}`);
    expect(row?.value('f', 'x')?.toString()).toBe(taken(i) ? undefined : `x-${i}`);
  });
  // Compare-and-set on the value: only the rows whose current value matches are changed.
  const cas = await client.checkAndMutateMany(table, [
    { row: key(3), family: 'f', qualifier: 'c', value: 'old-3', put: [{ family: 'f', qualifier: 'c', value: 'cas-3' }] },
    { row: key(151), family: 'f', qualifier: 'c', value: 'wrong', put: [{ family: 'f', qualifier: 'c', value: 'cas-151' }] },
    { row: key(250), family: 'f', qualifier: 'c', value: 'new-250', delete: [{ family: 'f', qualifier: 'x' }] },
  ]);
  expect(cas).toEqual([true, false, true]);
  expect((await client.get(table, { row: key(3) }))?.value('f', 'c')?.toString()).toBe('cas-3');
  expect((await client.get(table, { row: key(151) }))?.value('f', 'c')?.toString()).toBe('new-151');
  expect((await client.get(table, { row: key(250) }))?.value('f', 'x')).toBeUndefined();
  expect(await client.checkAndMutateMany(table, [])).toEqual([]);
  await expect(client.checkAndMutateMany(table, [{ row: 'r', family: 'f', qualifier: 'q' }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(client.checkAndMutateMany(table, [{ row: 'r', family: 'nope', qualifier: 'q', put: [{ family: 'nope', qualifier: 'q', value: 'v' }] }])).rejects.toMatchObject({ code: 'NO_SUCH_FAMILY', retriable: false });
});

test('tables whose names share a prefix (events, events_daily) never mix', async () => {
  const base = uniqueName('events').replace(/-/g, '_');
  const events = await freshTable('events', { name: base, splitKeys: ['m'] });
  const daily = await freshTable('events', { name: `${base}_daily`, splitKeys: ['g', 't'] });
  await client.putMany(events, ['a', 'n', 'z'].map((row) => ({ row, cells: [{ family: 'f', qualifier: 't', value: 'events' }] })));
  await client.putMany(daily, ['b', 'h', 'u', 'zz'].map((row) => ({ row, cells: [{ family: 'f', qualifier: 't', value: 'daily' }] })));

  // A fresh client: every region is located through hbase:meta, none from the cache.
  const cold = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
  try {
    expect(await collect(cold.scan(events))).toEqual(['a', 'n', 'z']);
    expect(await collect(cold.scan(daily, { reversed: true }))).toEqual(['zz', 'u', 'h', 'b']);
    expect(await cold.get(events, { row: 'zz' })).toBeUndefined();
    expect((await cold.get(daily, { row: 'zz' }))?.value('f', 't')?.toString()).toBe('daily');
    expect((await cold.get(events, { row: 'z' }))?.value('f', 't')?.toString()).toBe('events');
    const regions = (await cold.admin.listRegions(events)).map((region) => region.name.split(',')[0]);
    expect(regions).toEqual([events, events]);
  } finally {
    cold.close();
  }
});

test('errors name the table and row and carry a stable code', async () => {
  const missing = uniqueName('missing').replace(/-/g, '_');
  const error = await client.get(missing, { row: 'r' }).catch((e: unknown) => e);
  expect(isHBaseError(error, 'TABLE_NOT_FOUND')).toBe(true);
  expect((error as Error).message).toContain(missing);

  const table = await freshTable('errors');
  const noFamily = await client.put(table, { row: 'r1', cells: [{ family: 'nope', qualifier: 'q', value: 'v' }] }).catch((e: unknown) => e);
  expect(isHBaseError(noFamily, 'NO_SUCH_FAMILY')).toBe(true);
  expect(noFamily).toMatchObject({ retriable: false, context: expect.objectContaining({ table, row: "'r1'" }) });
  await expect(client.checkAndMutate(table, { row: 'r', family: 'f', qualifier: 'q' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
});

test('close() ends the client: later calls fail with CLOSED', async () => {
  const table = await freshTable('close');
  const short = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
  await short.put(table, { row: 'r', cells: [{ family: 'f', qualifier: 'q', value: 'v' }] });
  short.close();
  await expect(short.get(table, { row: 'r' })).rejects.toMatchObject({ code: 'CLOSED', retriable: false });
});

test('versions and time ranges: several versions kept, read newest-first, filtered by time', async () => {
  const name = uniqueName('versions').replace(/-/g, '_');
  tables.push(name);
  await client.admin.createTable({ name, families: [{ name: 'f', maxVersions: 3 }] });
  for (const ts of [1000, 2000, 3000, 4000]) await client.put(name, { row: 'r', cells: [{ family: 'f', qualifier: 'q', value: `v${ts}`, timestamp: ts }] });
  expect((await client.get(name, { row: 'r' }))?.cells.map((cell) => cell.value.toString())).toEqual(['v4000']);
  expect((await client.get(name, { row: 'r', maxVersions: 5 }))?.cells.map((cell) => cell.timestamp)).toEqual([4000, 3000, 2000]);
  expect((await client.get(name, { row: 'r', maxVersions: 5, timeRange: { from: 2000, to: 4000 } }))?.cells.map((cell) => cell.timestamp)).toEqual([3000, 2000]);
  const scanned: number[] = [];
  for await (const row of client.scan(name, { maxVersions: 2, timeRange: { to: 4000 } })) scanned.push(...row.cells.map((cell) => cell.timestamp));
  expect(scanned).toEqual([3000, 2000]);
});
