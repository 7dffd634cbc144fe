import { HBaseClient } from '../hbase/index.js';
import { requireStackState } from '../e2e/stack/state.js';

/**
 * `npm run bench -- hbase-shapes [cells]`: what HBase charges per row versus per cell (decision
 * 0046). The same number of ~80-byte cells written three ways into one pre-split table: one row
 * per cell; 125-cell rows; 125-cell rows each written by reading a version cell and a
 * compare-and-set on it (the runtime's claim round). Prints cells/s and the client's CPU per cell.
 */
const total = Number(process.argv[3] ?? 200_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const state = requireStackState();
const hbase = new HBaseClient({ zookeeperQuorum: state.hbase.zookeeperQuorum });
const table = `bench_shapes_${Date.now().toString(36)}`;
const value = Buffer.alloc(80, 0x78);
const spread = (i: number): string => (Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0');

async function lanes<T>(work: readonly T[], inFlight: number, task: (item: T, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
    while (next < work.length) await task(work[next++]!, lane);
  }));
}

async function measure(name: string, run: () => Promise<void>): Promise<{ cells_per_s: number; client_cpu_us_per_cell: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await run();
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const figures = { cells_per_s: Math.round((total / ms) * 1000), client_cpu_us_per_cell: Math.round(((used.user + used.system) / total) * 100) / 100 };
  say(`${name}: ${figures.cells_per_s.toLocaleString('en-US')} cells/s, client CPU ${figures.client_cpu_us_per_cell} µs/cell`);
  return figures;
}

const cellsOfRow = (first: number, n: number) => Array.from({ length: n }, (_, j) => ({ family: 'd', qualifier: `q${first + j}`, value }));

await hbase.admin.createTable({ name: table, families: [{ name: 'd', maxVersions: 1 }], splitKeys: ['2', '4', '6', '8', 'a', 'c', 'e'] });
try {
  const rowPerCell = await measure('one row per cell (puts of 500 rows)', async () => {
    const puts = [];
    for (let start = 0; start < total; start += 500) puts.push(Array.from({ length: Math.min(500, total - start) }, (_, j) => ({ row: `a${spread(start + j)}`, cells: cellsOfRow(start + j, 1) })));
    await lanes(puts, 4, (batch) => hbase.putMany(table, batch));
  });
  const wide = await measure('125-cell rows (64 rows per put)', async () => {
    const puts = [];
    for (let start = 0; start < total; start += 8000) puts.push(Array.from({ length: 64 }, (_, r) => ({ row: `b${spread(r)}`, cells: cellsOfRow(start + r * 125, Math.max(0, Math.min(125, total - start - r * 125))) })).filter((p) => p.cells.length));
    await lanes(puts, 4, (batch) => hbase.putMany(table, batch));
  });
  const claimed = await measure('125-cell rows by version read + compare-and-set (16 rows per round, one multi-get + one conditional Multi)', async () => {
    const rounds = [];
    for (let start = 0; start < total; start += 2000) rounds.push(start);
    // Each lane its own 16 rows: this measures the cost of the shape, not collisions between writers.
    await lanes(rounds, 4, async (start, lane) => {
      let pending = Array.from({ length: 16 }, (_, r) => ({ row: `c${spread(r)}${lane}`, cells: cellsOfRow(start + r * 125, Math.max(0, Math.min(125, total - start - r * 125))) })).filter((p) => p.cells.length);
      while (pending.length) {
        const versions = (await hbase.getMany(table, pending.map(({ row }) => ({ row, columns: [{ family: 'd', qualifier: 'v' }] })))).map((row) => row?.value('d', 'v'));
        const applied = await hbase.checkAndMutateMany(
          table,
          pending.map(({ row, cells }, i) => {
            const version = versions[i];
            return { row, family: 'd', qualifier: 'v', ...(version ? { value: version } : {}), put: [{ family: 'd', qualifier: 'v', value: Buffer.from(String(Number(version?.toString() ?? '0') + 1)) }, ...cells] };
          }),
        );
        pending = pending.filter((_, i) => !applied[i]);
      }
    });
  });
  say(JSON.stringify({ bench: 'hbase-shapes', cells: total, row_per_cell: rowPerCell, wide_rows: wide, wide_rows_compare_and_set: claimed, ratio_wide_to_row_per_cell: Math.round((wide.cells_per_s / rowPerCell.cells_per_s) * 100) / 100 }));
} finally {
  await hbase.admin.deleteTable(table, { ifExists: true });
  hbase.close();
}
