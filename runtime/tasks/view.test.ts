import { HBaseClient } from '../../hbase/index.js';
import { stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { HBaseStore } from '../storage/hbase-store.js';
import type { EventContribution } from '../stages/aggregate.js';
import { hourKey } from '../storage/layout.js';
import { HourSums } from './sums.js';
import { readSnapshot, scanCampaignContributions, SNAPSHOT_CHUNK_BYTES, writeSnapshot } from './view.js';

// Snapshots against the stack's real HBase: chunked, in two slots, the newest whole one read back.

const hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
const table = uniqueName('snap').replace(/[^A-Za-z0-9_.-]/g, '_');
const store = new HBaseStore(hbase, table);

beforeAll(async () => {
  await hbase.admin.createTable({ name: table, families: [{ name: 'a', maxVersions: 1 }] });
}, 60_000);
afterAll(async () => {
  await hbase.admin.deleteTable(table, { ifExists: true });
  hbase.close();
}, 60_000);

const bytesOf = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff));
/** The pieces `TaskState.encodeChunks` would give for these bytes. */
function* pieces(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += SNAPSHOT_CHUNK_BYTES) yield bytes.subarray(at, at + SNAPSHOT_CHUNK_BYTES);
}

test('the newest whole snapshot is read back, byte for byte, across chunks and slots', async () => {
  expect(await readSnapshot(store, 'a', 3)).toBeUndefined();
  const big = bytesOf(2 * SNAPSHOT_CHUNK_BYTES + 123, 1);
  await writeSnapshot(store, 'a', 3, pieces(big), { generation: 1, position: '100', version: Date.now() });
  const small = bytesOf(10, 2);
  await writeSnapshot(store, 'a', 3, pieces(small), { generation: 2, position: '200', version: Date.now() + 1 });
  const read = await readSnapshot(store, 'a', 3);
  expect(read?.head).toMatchObject({ generation: 2, position: '200', chunks: 1, bytes: 10 });
  expect(read?.state.equals(small)).toBe(true);
  // The next one goes to slot 1 again, where the three-chunk snapshot was: fewer chunks now.
  const third = bytesOf(SNAPSHOT_CHUNK_BYTES + 5, 3);
  await writeSnapshot(store, 'a', 3, pieces(third), { generation: 3, position: '300', version: Date.now() + 2 });
  const again = await readSnapshot(store, 'a', 3);
  expect(again?.head).toMatchObject({ generation: 3, position: '300', chunks: 2 });
  expect(again?.state.equals(third)).toBe(true);
  // Another task's snapshots are its own.
  expect(await readSnapshot(store, 'a', 4)).toBeUndefined();
}, 120_000);

test("a task's sums count once per hour: the newer of its column before decision 0148 (p) and after it (q)", async () => {
  const sums = (count: number) => {
    const hour = new HourSums();
    hour.add('i', 'US', 'mobile', count, count * 10);
    return hour;
  };
  const t = Date.now();
  const cell = (qualifier: string, value: Buffer, timestamp: number) => ({ family: 'a', qualifier, value, timestamp });
  await store.putMany([
    // Hour 10: task 0 only before the upgrade, task 1 only after it, task 2 rewritten after it, task 3 last written by an old worker.
    { row: hourKey('cmp-mixed', 10, 4), cells: [cell('p0', sums(1).encode(), t), cell('q1', sums(2).encodeForView(), t), cell('p2', sums(100).encode(), t), cell('q2', sums(4).encodeForView(), t + 1), cell('p3', sums(8).encode(), t + 2), cell('q3', sums(200).encodeForView(), t + 1)] },
    { row: hourKey('cmp-mixed', 11, 4), cells: [cell('q0', sums(16).encodeForView(), t)] },
    // Hour 11 too: two-digit tasks, whose columns sort among the others byte by byte (p1 < p10 < q1 < q10).
    { row: hourKey('cmp-mixed', 11, 4), cells: [cell('p1', sums(32).encode(), t + 1), cell('q1', sums(300).encodeForView(), t), cell('p10', sums(400).encode(), t), cell('q10', sums(64).encodeForView(), t + 1)] },
    { row: hourKey('cmp-mixed', 12, 4), cells: [cell('q0', sums(1000).encodeForView(), t)] },
    // Another campaign's row of the same hour: never counted.
    { row: hourKey('cmp-mixed-2', 10, 4), cells: [cell('q0', sums(5000).encodeForView(), t)] },
  ]);
  const seen: EventContribution[] = [];
  await scanCampaignContributions(store, { saltBuckets: 4, family: 'a' }, 'cmp-mixed', 10, 12, (c) => void seen.push({ ...c }));
  expect(seen.map(({ hourIndex, count }) => [hourIndex, count]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!)).toEqual([[10, 1], [10, 2], [10, 4], [10, 8], [11, 16], [11, 32], [11, 64]]);
});
