import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES } from '../api/runtime-config.js';
import { freePort } from '../e2e/stack/ports.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { HBaseClient } from '../hbase/index.js';
import { committedMessages, createPipeline, dropPipeline, getJson, kafkaMessages, openProducer, performancePath, produce, startWorker, stopWorker, type WorkerProcess } from '../runtime/e2e/harness.js';
import { hourRange } from '../runtime/stages/aggregate.js';
import { rollUpHourRow } from '../runtime/sinks/rollup.js';
import { HBaseStore } from '../runtime/storage/hbase-store.js';
import { hourKey } from '../runtime/storage/layout.js';

/**
 * `npm run bench -- query [impressions]`: how long `GET /v1/campaigns/{id}/performance` takes when
 * one campaign-hour holds many events (every counted event is a cell of its campaign-hour row, so
 * a query reads one cell per event: decision 0046). Ingests a generated set of one campaign over
 * one hour through a worker, then times each of the generator's queries for that campaign over HTTP
 * (best of 3), beside a bare scan of the same rows with the HBase module; then rolls the rows up
 * (decision 0048) and times the same queries again. Checks every answer against the generator's
 * ground truth.
 */
const impressions = Number(process.argv[3] ?? 200_000);
/** The bench's worker is done writing: a short margin is enough here (the product's is 10 min). */
const ROLLUP_MARGIN_MS = 2000;
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
  while ((await committedMessages(admin, pipeline)) < total) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const queries = set.expected.queries.filter((q) => q.query.campaign_id !== 'cmp-edge');
  const campaign = queries[0]!.query.campaign_id;
  const first = queries[0]!.query;
  const { firstHour, endHour } = hourRange(Date.parse(first.from), Date.parse(first.to));
  const family = pipeline.config.storage.families.aggregates;
  const scan = await bestOf(3, async () => {
    let cells = 0;
    for await (const row of hbase.scan(pipeline.config.hbase.table, { startRow: hourKey(campaign, firstHour, 8), stopRow: hourKey(campaign, endHour, 8), columns: [{ family }] })) cells += row.cells.length;
    return cells;
  });
  say(`${total.toLocaleString('en-US')} messages ingested; campaign ${campaign}: ${scan.result.toLocaleString('en-US')} counted-event cells; bare scan of its rows ${scan.ms.toFixed(0)} ms`);
  const figures: Record<string, number> = {};
  let exact = true;
  for (const { query, response } of queries) {
    const timed = await bestOf(3, () => getJson<unknown>(worker!.port, performancePath(query)));
    exact &&= JSON.stringify(timed.result) === JSON.stringify(response);
    const name = `${query.granularity}${query.by ? `_by_${query.by}` : ''}`;
    if (`${name}_ms` in figures) continue;
    figures[`${name}_ms`] = Math.round(timed.ms);
    say(`  ${name.padEnd(22)} ${timed.ms.toFixed(0).padStart(6)} ms`);
  }
  // The same queries once the hour row is rolled up (decision 0048): its summary, no cell per event.
  await new Promise((resolve) => setTimeout(resolve, ROLLUP_MARGIN_MS + 500));
  const store = new HBaseStore(hbase, pipeline.config.hbase.table);
  for (let hour = firstHour; hour < endHour; hour++) {
    const { outcome } = await rollUpHourRow(store, hourKey(campaign, hour, 8), family, ROLLUP_MARGIN_MS);
    if (outcome === 'rolled') say(`  rolled up hour ${new Date(hour * 3_600_000).toISOString()}`);
  }
  for (const { query, response } of queries) {
    const timed = await bestOf(3, () => getJson<unknown>(worker!.port, performancePath(query)));
    exact &&= JSON.stringify(timed.result) === JSON.stringify(response);
    const name = `rolled_up_${query.granularity}${query.by ? `_by_${query.by}` : ''}`;
    if (`${name}_ms` in figures) continue;
    figures[`${name}_ms`] = Math.round(timed.ms);
    say(`  ${name.padEnd(32)} ${timed.ms.toFixed(1).padStart(6)} ms`);
  }
  say(`every answer equals the generator's: ${exact}`);
  say(JSON.stringify({ bench: 'query', messages: total, cells: scan.result, scan_ms: Math.round(scan.ms), ...figures, exact }));
} finally {
  await stopWorker(worker);
  hbase.close();
  await admin.disconnect();
  await dropPipeline(endpoints, pipeline);
}
