import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { hbaseJvmArgs } from '../e2e/stack/components/hbase.js';
import { cacheRoot, REPO_ROOT } from '../e2e/stack/paths.js';
import { requireStackState } from '../e2e/stack/state.js';
import { VERSIONS } from '../e2e/stack/versions.js';
import { HBaseClient, type Put } from '../hbase/index.js';

/**
 * `npm run bench -- hbase`: 200k rows of ~200 bytes (four 50-byte cells) in synchronous batches of
 * 500, written by this repo's TypeScript client and by HBase's own Java client
 * (bench/java/HBaseBench.java, run as a single-file program on the stack's HBase jars), against the
 * same local HBase, each into its own fresh table pre-split into 4 regions. Figures go to stdout;
 * the last line is the JSON summary.
 */

const ROWS = Number(process.env['BENCH_HBASE_ROWS'] ?? 200_000);
const BATCH = 500;
const SPLITS = ['4', '8', 'c'];
const run = promisify(execFile);

/** Same as HBaseBench.rowKey: a hashed prefix spreads rows over the pre-split regions. */
function rowKey(i: number): string {
  const hash = Number((BigInt(i) * 2654435761n) & 0xffffffffn);
  return `${hash.toString(16).padStart(8, '0')}-${i}`;
}

/** Same as HBaseBench.cellValue: 50 bytes. */
function cellValue(i: number, column: number): string {
  return `${i}:${column}:`.padEnd(50, 'x').slice(0, 50);
}

const QUALIFIERS = ['a', 'b', 'c', 'e'];

interface Timing {
  ms: number;
  /** CPU time of the writing process during the writes: what the client itself costs. */
  cpuMs: number;
}

async function writeWithTypeScript(client: HBaseClient, table: string): Promise<Timing> {
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let start = 0; start < ROWS; start += BATCH) {
    const puts: Put[] = [];
    for (let i = start; i < Math.min(ROWS, start + BATCH); i++) {
      puts.push({ row: rowKey(i), cells: QUALIFIERS.map((qualifier, c) => ({ family: 'd', qualifier, value: cellValue(i, c) })) });
    }
    await client.putMany(table, puts);
  }
  const cpu = process.cpuUsage(cpuStarted);
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function writeWithJava(quorum: string, stackDir: string, table: string): Promise<Timing> {
  const libDir = path.join(cacheRoot(), `hbase-${VERSIONS.hbase}`, 'lib');
  const program = path.join(REPO_ROOT, 'bench', 'java', 'HBaseBench.java');
  const { stdout } = await run('java', ['-Xmx512m', ...hbaseJvmArgs(libDir, path.join(stackDir, 'hbase', 'conf')), program, quorum, table, String(ROWS), String(BATCH)], {
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`the Java bench printed no result:\n${stdout}`);
  const result = JSON.parse(line) as { ms: number; cpu_ms: number };
  return { ms: result.ms, cpuMs: result.cpu_ms };
}

async function main(): Promise<void> {
  const state = requireStackState();
  const quorum = state.hbase.zookeeperQuorum;
  const client = new HBaseClient({ zookeeperQuorum: quorum });
  const suffix = Date.now().toString(36);
  const tables = { ts: `bench_ts_${suffix}`, java: `bench_java_${suffix}` };
  try {
    for (const table of Object.values(tables)) {
      await client.admin.createTable({ name: table, families: [{ name: 'd' }], splitKeys: SPLITS });
    }
    process.stdout.write(`hbase bench: ${ROWS} rows x ~200 B, batches of ${BATCH}, HBase ${VERSIONS.hbase} at ${quorum}\n`);
    const ts = await writeWithTypeScript(client, tables.ts);
    const tsRate = Math.round((ROWS / ts.ms) * 1000);
    process.stdout.write(`typescript (hbase/): ${ts.ms.toFixed(0)} ms, ${tsRate} rows/s, client CPU ${ts.cpuMs.toFixed(0)} ms (${((ts.cpuMs / ROWS) * 1000).toFixed(1)} µs/row)\n`);
    const java = await writeWithJava(quorum, state.dir, tables.java);
    const javaRate = Math.round((ROWS / java.ms) * 1000);
    process.stdout.write(`java (hbase-client ${VERSIONS.hbase}): ${java.ms} ms, ${javaRate} rows/s, client CPU ${java.cpuMs} ms (${((java.cpuMs / ROWS) * 1000).toFixed(1)} µs/row)\n`);
    // Both tables hold every row: a bench that loses writes is no bench.
    for (const table of Object.values(tables)) {
      let count = 0;
      for await (const row of client.scan(table, { filter: { type: 'firstKeyOnly' }, batchRows: 5000 })) if (row.cells.length) count++;
      if (count !== ROWS) throw new Error(`${table} has ${count} rows, expected ${ROWS}`);
    }
    process.stdout.write(`verified: both tables hold ${ROWS} rows\n`);
    process.stdout.write(JSON.stringify({ bench: 'hbase', ts_rows_per_s: tsRate, java_rows_per_s: javaRate, ratio: Number((tsRate / javaRate).toFixed(3)) }) + '\n');
  } finally {
    for (const table of Object.values(tables)) await client.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
    client.close();
  }
}

await main();
