import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES } from '../api/runtime-config.js';
import { freePort } from '../e2e/stack/ports.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { HBaseClient } from '../hbase/index.js';
import { untilExact, createPipeline, dropPipeline, getJson, kafkaMessages, openProducer, performancePath, produce, startWorker, stopWorker, type WorkerProcess } from '../runtime/e2e/harness.js';
import { hourRange } from '../runtime/stages/aggregate.js';
import { hourKey } from '../runtime/storage/layout.js';

/**
 * `npm run bench -- query [impressions]`: how long `GET /v1/campaigns/{id}/performance` takes when
 * one campaign-hour holds many events. A campaign-hour row holds one cell of partial sums per task
 * (decision 0051), so the cost does not grow with the events. Times the hourly query while the
 * worker is still writing the hour (live dashboards ask for the current hour), then each of the
 * generator's queries for that campaign once everything is in (best of 3), beside a bare scan of
 * the same rows with the HBase module. Checks every final answer against the generator's ground truth.
 */
const impressions = Number(process.argv[3] ?? 200_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };
const set = generate({ seed: 7, impressions, campaigns: 1, hours: 1, edgeCases: false });
const all = kafkaMessages(set.messages);
const total = SOURCE_NAMES.reduce((sum, source) => sum + all[source].length, 0);
const pipeline = await createPipeline(endpoints, `bench-q-${Date.now().toString(36)}`, { partitions: 6, saltBuckets: 8, batchSize: 2000 });
const kafka = new Kafka({ clientId: 'adpipe-bench-query', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const hbase = new HBaseClient({ zookeeperQuorum: endpoints.zookeeperQuorum });
let worker: WorkerProcess | undefined;

async function bestOf<T>(runs: number, work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  let best = { ms: Number.POSITIVE_INFINITY, result: undefined as T };
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = await work();
    const ms = performance.now() - start;
    if (ms < best.ms) best = { ms, result };
  }
  return best;
}

try {
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, all);
  await producer.disconnect();
  await admin.connect();
  worker = startWorker(pipeline, await freePort());
  const queries = set.expected.queries.filter((q) => q.query.campaign_id !== 'cmp-edge');
  const campaign = queries[0]!.query.campaign_id;
  const hourly = queries.find((q) => q.query.granularity === 'hour' && !q.query.by)!.query;
  // While the hour is being written: one timed query every 200 ms until the stats are complete.
  const whileWriting: number[] = [];
  for (;;) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
    const stats = await getJson<unknown>(worker.port, '/v1/pipeline/stats').catch(() => undefined);
    if (JSON.stringify(stats) === JSON.stringify(set.expected.stats)) break;
    const start = performance.now();
    const answer = await getJson<{ totals: { impressions: number } }>(worker.port, performancePath(hourly)).catch(() => undefined);
    if (answer && answer.totals.impressions > 0) whileWriting.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Complete stats are not the end: counts may still be moving between tasks (decision 0051).
  await untilExact(worker.port, set.expected, 120_000);
  const first = queries[0]!.query;
  const { firstHour, endHour } = hourRange(Date.parse(first.from), Date.parse(first.to));
  const family = pipeline.config.storage.families.aggregates;
  const scan = await bestOf(3, async () => {
    let cells = 0;
    for await (const row of hbase.scan(pipeline.config.hbase.table, { startRow: hourKey(campaign, firstHour, 8), stopRow: hourKey(campaign, endHour, 8), columns: [{ family }] })) cells += row.cells.length;
    return cells;
  });
  say(`${total.toLocaleString('en-US')} messages ingested; campaign ${campaign}: ${scan.result.toLocaleString('en-US')} cells of partial sums; bare scan of its rows ${scan.ms.toFixed(0)} ms`);
  const sorted = [...whileWriting].sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!) : null);
  say(`hourly query while the hour is written: ${sorted.length} queries, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms`);
  const figures: Record<string, number | null> = { while_writing_queries: sorted.length, while_writing_p50_ms: pct(0.5), while_writing_p99_ms: pct(0.99), while_writing_max_ms: pct(1) };
  let exact = true;
  for (const { query, response } of queries) {
    const timed = await bestOf(3, () => getJson<unknown>(worker!.port, performancePath(query)));
    exact &&= JSON.stringify(timed.result) === JSON.stringify(response);
    const name = `${query.granularity}${query.by ? `_by_${query.by}` : ''}`;
    if (`${name}_ms` in figures) continue;
    figures[`${name}_ms`] = Math.round(timed.ms);
    say(`  ${name.padEnd(22)} ${timed.ms.toFixed(0).padStart(6)} ms`);
  }
  say(`answers equal expected.json: ${exact}`);
  say(JSON.stringify({ impressions, messages: total, cells: scan.result, bare_scan_ms: Math.round(scan.ms), ...figures, exact }));
} finally {
  if (worker) await stopWorker(worker);
  await admin.disconnect().catch(() => undefined);
  hbase.close();
  await dropPipeline(endpoints, pipeline);
}
