import { HBaseClient, type HBaseRow } from './index.js';
import { startPrivateHBase, type PrivateHBase } from './testing/private-hbase.js';
import { eventually } from '../e2e/support/stack-clients.js';

// Destructive tests on a PRIVATE HBase (two region servers in one JVM), never the shared one:
// regions split and move and the whole HBase restarts while a writer keeps writing. Each check
// reads everything back: every row present, each cell exactly once.

const TEST_TIMEOUT_MS = 300_000;

let hbase: PrivateHBase;
let client: HBaseClient;
/** Codes (and server exception classes) of the errors the client retried, per test. */
let retried: string[] = [];
beforeEach(() => {
  retried = [];
});

beforeAll(async () => {
  hbase = await startPrivateHBase({ regionServers: 2 });
  // Deadline longer than a restart: the writer must ride through it, not give up.
  client = new HBaseClient({ zookeeperQuorum: hbase.quorum, operationTimeoutMs: 240_000, rpcTimeoutMs: 10_000, retryMaxDelayMs: 2_000,
    onRetry: (error) => retried.push(`${error.code} ${error.context.remoteClass ?? ''}`.trim()),
  });
}, 240_000);

afterAll(async () => {
  client?.close();
  await hbase?.stop();
});

/** Rows spread over ten key prefixes so every batch touches every region. */
const rowKey = (i: number) => `${i % 10}-${String(i).padStart(8, '0')}`;

interface Writer {
  written(): number;
  /** Durations of the batches, for "a batch had to wait out the outage". */
  batchMs: number[];
  stop(): Promise<number>;
}

/** Writes batches of 100 rows until stopped; each cell has an explicit timestamp (exact retries). */
function startWriter(table: string): Writer {
  let next = 0;
  let stopping = false;
  const batchMs: number[] = [];
  const loop = (async () => {
    while (!stopping) {
      const started = Date.now();
      const puts = Array.from({ length: 100 }, (_, k) => {
        const i = next + k;
        return { row: rowKey(i), cells: [{ family: 'f', qualifier: 'v', value: String(i), timestamp: 1_000_000 + i }] };
      });
      await client.putMany(table, puts);
      next += puts.length;
      batchMs.push(Date.now() - started);
    }
    return next;
  })();
  return {
    written: () => next,
    batchMs,
    stop: async () => {
      stopping = true;
      return loop;
    },
  };
}

async function waitForProgress(writer: Writer, rows: number): Promise<void> {
  const target = writer.written() + rows;
  await eventually(`writer to pass ${target} rows`, async () => (writer.written() >= target ? true : undefined), 240_000, 50);
}

/** Every row 0..count-1 exactly once, one cell version, right value. */
async function verify(table: string, count: number): Promise<void> {
  const seen = new Set<string>();
  const problems: string[] = [];
  for await (const row of client.scan(table, { maxVersions: 10, batchRows: 2000 })) {
    const key = row.row.toString();
    const i = Number(key.slice(2));
    if (seen.has(key)) problems.push(`duplicate row ${key}`);
    seen.add(key);
    if (row.cells.length !== 1) problems.push(`${key} has ${row.cells.length} cells`);
    if (row.value('f', 'v')?.toString() !== String(i)) problems.push(`${key} has a wrong value`);
    if (problems.length > 5) break;
  }
  for (let i = 0; i < count && problems.length <= 5; i++) if (!seen.has(rowKey(i))) problems.push(`lost row ${rowKey(i)}`);
  expect(problems).toEqual([]);
  expect(seen.size).toBe(count);
}

test('a region split forced mid-write: no cell lost or duplicated', async () => {
  const table = 'split_mid_write';
  await client.admin.createTable({ name: table, families: [{ name: 'f' }] });
  const writer = startWriter(table);
  await waitForProgress(writer, 3_000);
  await client.admin.splitRegion(table, '5');
  await waitForProgress(writer, 3_000); // writes go on, now into the daughters
  const written = await writer.stop();
  expect((await client.admin.listRegions(table)).map((region) => region.startKey.toString())).toEqual(['', '5']);
  // The writer did meet the split (the parent region stopped serving) and relocated.
  expect(retried.some((entry) => entry.startsWith('REGION_UNAVAILABLE'))).toBe(true);
  await verify(table, written);
}, TEST_TIMEOUT_MS);

test('a region moved to the other region server mid-write: no cell lost or duplicated', async () => {
  const table = 'move_mid_write';
  await client.admin.createTable({ name: table, families: [{ name: 'f' }], splitKeys: ['5'] });
  const before = (await client.admin.listRegions(table)).map((region) => region.server);
  const writer = startWriter(table);
  await waitForProgress(writer, 3_000);
  await client.admin.moveRegion(table, '5');
  const moved = await eventually('region 5 to be on another server', async () => {
    const servers = (await client.admin.listRegions(table)).map((region) => region.server);
    return servers[1] !== before[1] && servers[1] !== undefined ? servers : undefined;
  });
  expect(await hbase.regionServers()).toContain(moved[1]);
  await waitForProgress(writer, 3_000);
  await verify(table, await writer.stop());
  expect(retried.some((entry) => entry.startsWith('REGION_UNAVAILABLE'))).toBe(true);
}, TEST_TIMEOUT_MS);

test('conditional puts (cells in the cell block) while a region moves: each applied once, with all its cells', async () => {
  const table = 'cas_move';
  await client.admin.createTable({ name: table, families: [{ name: 'f' }], splitKeys: ['5'] });
  const before = (await client.admin.listRegions(table)).map((region) => region.server);
  // Every row is put-if-absent with two cells; a Multi carries conditional actions for both
  // regions, so while one region is moving the other's cells must still line up in the block.
  let next = 0;
  let stopping = false;
  const notApplied: number[] = [];
  const loop = (async () => {
    while (!stopping) {
      const ids = Array.from({ length: 100 }, (_, k) => next + k);
      const applied = await client.checkAndMutateMany(
        table,
        ids.map((i) => ({ row: rowKey(i), family: 'f', qualifier: 'c', put: [{ family: 'f', qualifier: 'c', value: `claim-${i}` }, { family: 'f', qualifier: 'v', value: String(i) }] })),
      );
      applied.forEach((ok, k) => ok || notApplied.push(ids[k]!));
      next += ids.length;
    }
    return next;
  })();
  await eventually('3 000 conditional puts', async () => (next >= 3_000 ? true : undefined), 240_000, 50);
  await client.admin.moveRegion(table, '5');
  await eventually('region 5 to be on another server', async () => {
    const servers = (await client.admin.listRegions(table)).map((region) => region.server);
    return servers[1] !== before[1] && servers[1] !== undefined ? true : undefined;
  });
  const target = next + 3_000;
  await eventually(`conditional puts to pass ${target}`, async () => (next >= target ? true : undefined), 240_000, 50);
  stopping = true;
  const written = await loop;
  expect(retried.some((entry) => entry.startsWith('REGION_UNAVAILABLE'))).toBe(true);
  // "Not applied" only for a retry whose first attempt had applied: then the stored claim is ours.
  for (const i of notApplied) expect((await client.get(table, { row: rowKey(i) }))?.value('f', 'c')?.toString()).toBe(`claim-${i}`);
  const problems: string[] = [];
  let rows = 0;
  for await (const row of client.scan(table, { maxVersions: 10, batchRows: 2000 })) {
    rows++;
    const i = Number(row.row.toString().slice(2));
    if (row.cells.length !== 2 || row.value('f', 'c')?.toString() !== `claim-${i}` || row.value('f', 'v')?.toString() !== String(i)) problems.push(row.row.toString());
  }
  expect(problems.slice(0, 5)).toEqual([]);
  expect(rows).toBe(written);
}, TEST_TIMEOUT_MS);

test('a scan running while its region splits returns every row exactly once, in order', async () => {
  const table = 'split_mid_scan';
  await client.admin.createTable({ name: table, families: [{ name: 'f' }] });
  const total = 20_000;
  for (let start = 0; start < total; start += 1000) {
    await client.putMany(table, Array.from({ length: 1000 }, (_, k) => ({ row: rowKey(start + k), cells: [{ family: 'f', qualifier: 'v', value: String(start + k), timestamp: 1 }] })));
  }
  const rows: string[] = [];
  let split = false;
  for await (const row of client.scan(table, { batchRows: 250 }) as AsyncIterable<HBaseRow>) {
    rows.push(row.row.toString());
    if (rows.length === 3_000 && !split) {
      split = true;
      await client.admin.splitRegion(table, '3');
    }
  }
  expect((await client.admin.listRegions(table)).length).toBe(2);
  expect(rows.length).toBe(total);
  expect(new Set(rows).size).toBe(total);
  expect(rows).toEqual([...rows].sort());
  expect(retried.length).toBeGreaterThan(0); // the open scanner died with its region and was reopened
}, TEST_TIMEOUT_MS);

test('HBase stopped and restarted while a writer retries: writes resume and none is lost', async () => {
  const table = 'restart_mid_write';
  await client.admin.createTable({ name: table, families: [{ name: 'f' }], splitKeys: ['3', '6'] });
  const writer = startWriter(table);
  await waitForProgress(writer, 2_000);
  const beforeRestart = writer.written();
  await hbase.restart({ downMs: 2_000 });
  const afterRestart = writer.written();
  await waitForProgress(writer, 3_000); // resumed after the restart
  const written = await writer.stop();
  expect(written).toBeGreaterThan(afterRestart);
  expect(afterRestart - beforeRestart).toBeLessThan(written - beforeRestart);
  // At least one batch had to wait (retrying) through the outage rather than fail.
  expect(Math.max(...writer.batchMs)).toBeGreaterThan(2_000);
  expect(retried.some((entry) => entry.startsWith('CONNECTION'))).toBe(true);
  await verify(table, written);
}, TEST_TIMEOUT_MS);
