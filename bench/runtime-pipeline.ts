import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES } from '../api/runtime-config.js';
import { freePort } from '../e2e/stack/ports.js';
import { cpuSeconds } from '../e2e/stack/proc.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { whenEveryQueryExact, committedMessages, createPipeline, dropPipeline, getJson, kafkaMessages, openProducer, produce, startWorker, stopWorker, type WorkerProcess } from '../runtime/e2e/harness.js';

/**
 * `npm run bench -- runtime-pipeline [impressions]`: only the end-to-end phase of the runtime
 * bench, for quick comparisons of one change (decision 0046). Produces a generated set, runs
 * `ADPIPE_BENCH_WORKERS` workers (default 1) of one group until every offset is committed, and
 * prints msg/s, the CPU per message of the workers, HBase and Kafka, and whether the stats equal
 * the generator's. Worker settings pass through the environment (ADPIPE_PARTITION_CONCURRENCY,
 * ADPIPE_WORKER_NODE_ARGS, ...).
 */
const impressions = Number(process.argv[3] ?? 100_000);
const workerCount = Number(process.env.ADPIPE_BENCH_WORKERS ?? 1);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };

const set = generate({ seed: 7, impressions });
const all = kafkaMessages(set.messages);
const total = SOURCE_NAMES.reduce((sum, source) => sum + all[source].length, 0);
const pipeline = await createPipeline(endpoints, `bench-rp-${Date.now().toString(36)}`, { partitions: 6, saltBuckets: 8, batchSize: 2000 });
const workers: WorkerProcess[] = [];
const kafka = new Kafka({ clientId: 'adpipe-bench-pipeline', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
try {
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, all);
  await producer.disconnect();
  await admin.connect();
  for (let i = 0; i < workerCount; i++) workers.push(startWorker(pipeline, await freePort()));
  const cpu = () => ({
    workers: workers.reduce((sum, worker) => sum + (cpuSeconds(worker.child.pid) ?? 0), 0),
    hbase: cpuSeconds(state.pids.hbase) ?? 0,
    kafka: cpuSeconds(state.pids.kafka) ?? 0,
  });
  const before = cpu();
  const start = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the finish line is timed to within this
    const exited = workers.find((worker) => worker.child.exitCode !== null);
    if (exited) throw new Error(`worker exited: ${exited.output()}`);
    // Done when the sources are committed and the view holds every result (tasks exchange records after).
    if ((await committedMessages(admin, pipeline)) < total) continue;
    const now = await getJson<unknown>(workers[0]!.port, '/v1/pipeline/stats').catch(() => undefined);
    if (JSON.stringify(now) === JSON.stringify(set.expected.stats)) break;
  }
  const ms = (await whenEveryQueryExact(workers[0]!.port, set.expected, 120_000)) - start;
  const after = cpu();
  const perMessage = (key: keyof typeof before) => Math.round(((after[key] - before[key]) / total) * 1e7) / 10;
  const stats = await getJson<unknown>(workers[0]!.port, '/v1/pipeline/stats');
  const figures = {
    bench: 'runtime-pipeline',
    messages: total,
    workers: workerCount,
    msg_per_s: Math.round((total / ms) * 1000),
    worker_cpu_us_per_msg: perMessage('workers'),
    hbase_cpu_us_per_msg: perMessage('hbase'),
    kafka_cpu_us_per_msg: perMessage('kafka'),
    stats_exact: JSON.stringify(stats) === JSON.stringify(set.expected.stats),
  };
  say(`${figures.msg_per_s.toLocaleString('en-US')} msg/s over ${total.toLocaleString('en-US')} messages with ${workerCount} worker(s); CPU per message: workers ${figures.worker_cpu_us_per_msg} µs, HBase ${figures.hbase_cpu_us_per_msg} µs, Kafka ${figures.kafka_cpu_us_per_msg} µs; stats exact: ${figures.stats_exact}`);
  say(JSON.stringify(figures));
} finally {
  for (const worker of workers) await stopWorker(worker);
  await admin.disconnect();
  await dropPipeline(endpoints, pipeline);
}
