import os from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES, type SourceName } from '../api/runtime-config.js';
import { freePort } from '../e2e/stack/ports.js';
import { cpuSeconds, rssBytes } from '../e2e/stack/proc.js';
import { consumeAll } from './consume.js';
import { decodeFigures as measureDecode } from './decode.js';
import { jitSeconds } from './jit.js';
import { runPeerBench } from './peer.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { untilExact, whenEveryQueryExact, committedMessages, createPipeline, dropPipeline, ensureBuilt, getJson, kafkaMessages, openProducer, produce, startWorker, stopWorker, type WorkerProcess } from '../runtime/e2e/harness.js';

/**
 * `npm run bench -- runtime [impressions]`: the runtime worker's figures, all in one run on the
 * local stack (issue 8):
 *  1. decode+validate rate per format beside the bare parser on the same input;
 *  2. one worker process over >= 1M mixed events already in Kafka: end-to-end events/s into HBase,
 *     beside a kafkajs consumer doing no work over the same topics (ratio = pipeline / raw);
 *  3. produce → queryable latency (p50/p99) at a steady offered rate;
 *  4. the worker's peak RSS.
 * Ends with one JSON line.
 */
const impressions = Number(process.argv[3] ?? 500_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const perSecond = (n: number, ms: number): number => Math.round((n / ms) * 1000);
const fmt = (n: number): string => n.toLocaleString('en-US');
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };

// ---- 1. decode + validate vs bare parsers ------------------------------------------------------
say(`generating ${fmt(impressions)} impressions (seed 7)`);
const set = generate({ seed: 7, impressions });
const all = kafkaMessages(set.messages);
const totalMessages = SOURCE_NAMES.reduce((sum, s) => sum + all[s].length, 0);
say(`messages: ${SOURCE_NAMES.map((s) => `${s} ${fmt(all[s].length)}`).join(', ')} (total ${fmt(totalMessages)})`);

const decodeFigures = await measureDecode(all, say);

// ---- 2. end to end vs raw consume ---------------------------------------------------------------
ensureBuilt();
await warmUp();
const pipeline = await createPipeline(endpoints, `bench-rt-${Date.now().toString(36)}`, { partitions: 6, saltBuckets: 8, batchSize: 2000 });
let worker: WorkerProcess | undefined;
try {
  const producer = await openProducer(endpoints.bootstrap);
  let t = Date.now();
  await produce(producer, pipeline, all);
  say(`produced ${fmt(totalMessages)} messages in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const kafka = new Kafka({ clientId: 'adpipe-bench-raw', brokers: [endpoints.bootstrap], logLevel: logLevel.ERROR });
  const topics = SOURCE_NAMES.map((s) => pipeline.config.sources[s].topic);
  // The worker's fetch settings, which are also kafkajs's fastest here (decision 0047).
  const raw = await consumeAll(kafka, { groupId: `${pipeline.name}-raw`, topics, total: totalMessages, servers: { kafka: state.pids.kafka } });
  const rawRate = raw.messagesPerSecond;
  const rawCpuPerMessage = raw.selfCpuUs;
  say(`raw kafkajs consume (no work): ${fmt(rawRate)} msg/s (${raw.seconds.toFixed(1)} s incl. group join); CPU per message: consumer ${rawCpuPerMessage} µs, Kafka ${raw.serverCpuUs.kafka} µs`);

  const admin = kafka.admin();
  await admin.connect();
  worker = startWorker(pipeline, await freePort()); // the product's defaults (ADPIPE_PARTITION_CONCURRENCY etc. pass through)
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(worker!.child.pid) ?? 0)), 200);
  // Where the CPU goes while the pipeline runs: the worker, and the servers beside it on this machine.
  const cpuOf = () => ({ worker: cpuSeconds(worker!.child.pid) ?? 0, hbase: cpuSeconds(state.pids.hbase) ?? 0, kafka: cpuSeconds(state.pids.kafka) ?? 0 });
  const cpuBefore = cpuOf();
  t = Date.now();
  let last = 0;
  for (;;) {
    // Polled often: the finish line is timed to within this interval.
    await new Promise((r) => setTimeout(r, 100));
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
    // The finish line: every source offset committed and every result in HBase, i.e. the stats the
    // query API reads equal the ground truth (tasks exchange records after the sources' offsets move).
    // The stats only once the offsets are in: each poll is CPU the servers and the worker spend
    // inside the measured window (decision 0148).
    const done = await committedMessages(admin, pipeline);
    if (done >= totalMessages) {
      const now = await getJson<unknown>(worker.port, '/v1/pipeline/stats').catch(() => undefined);
      if (JSON.stringify(now) === JSON.stringify(set.expected.stats)) break;
    }
    if (Date.now() - last > 15_000) {
      last = Date.now();
      say(`  pipeline: ${fmt(done)} / ${fmt(totalMessages)} source offsets committed after ${((Date.now() - t) / 1000).toFixed(0)} s`);
    }
  }
  // ... and every query equal (counts moving between tasks leave the stats unchanged).
  const pipelineMs = (await whenEveryQueryExact(worker.port, set.expected, 120_000)) - t;
  const cpuAfter = cpuOf();
  // The throughput phase alone (the latency phases below add about a million probe events more).
  const peakRssThroughput = peakRss;
  const pipelineRate = perSecond(totalMessages, pipelineMs);
  say(`pipeline end to end (decode, validate, dedup, enrich, correlate, store, commit): ${fmt(pipelineRate)} msg/s (${(pipelineMs / 1000).toFixed(1)} s incl. start-up)`);
  const cpuPerMessage = (key: keyof typeof cpuBefore) => Math.round(((cpuAfter[key] - cpuBefore[key]) / totalMessages) * 1e7) / 10;
  const cpu = { worker_cpu_us_per_msg: cpuPerMessage('worker'), hbase_cpu_us_per_msg: cpuPerMessage('hbase'), kafka_cpu_us_per_msg: cpuPerMessage('kafka') };
  const wholeCpu = Math.round((cpu.worker_cpu_us_per_msg + cpu.hbase_cpu_us_per_msg + cpu.kafka_cpu_us_per_msg) * 10) / 10;
  const footprint = await fetch(`http://127.0.0.1:${worker.port}/metrics`).then((r) => r.text()).then((text) => ({
    bytes: Number(/^adpipe_task_state_bytes (\d+)/m.exec(text)?.[1] ?? 0),
    ids: Number(/^adpipe_task_live_ids (\d+)/m.exec(text)?.[1] ?? 0),
  }));
  say(`CPU per message meanwhile: worker ${cpu.worker_cpu_us_per_msg} µs, HBase ${cpu.hbase_cpu_us_per_msg} µs, Kafka ${cpu.kafka_cpu_us_per_msg} µs (${os.cpus().length} cores)`);
  const stats = await getJson<{ accepted: Record<SourceName, number> }>(worker.port, '/v1/pipeline/stats');
  const exact = JSON.stringify(stats) === JSON.stringify(set.expected.stats);
  say(`stats equal expected.json: ${exact}`);
  // Issue 14: the Kafka Streams peer on the same topics and finish line (1 then 2 stream threads), before the latency probes add messages.
  // ADPIPE_BENCH_PEER=0 leaves the peer out (three minutes of the run) when iterating on the runtime alone.
  const peer = process.env.ADPIPE_BENCH_PEER === '0' ? undefined : await runPeerBench(pipeline, set.expected, totalMessages, 6);

  // ---- 3. latency at a steady offered rate: 500 events/s, then half the measured pipeline rate ----
  async function latencyAt(offered: number, seconds: number): Promise<{ p50: number; p99: number; probes: number; sent: number }> {
  const latencies: number[] = [];
  const probes: Promise<void>[] = [];
  const latencyStart = Date.now();
  let sent = 0;
  while (Date.now() - latencyStart < seconds * 1000) {
    const tick = Date.now();
    const probeCampaign = `lat-${offered}-${sent}`;
    const batch = Array.from({ length: Math.max(1, Math.round(offered / 10)) }, (_, i) => ({
      key: `lat-${offered}-${sent}-${i}`,
      value: Buffer.from(JSON.stringify({ impression_id: `lat-${offered}-${sent}-${i}`, request_id: `lat-r-${offered}-${sent}-${i}`, campaign_id: i === 0 ? probeCampaign : 'lat-load', ts: tick, price_micros: 1 })),
    }));
    const from = new Date(Math.floor(tick / 3_600_000) * 3_600_000).toISOString();
    const to = new Date(Math.floor(tick / 3_600_000) * 3_600_000 + 7_200_000).toISOString();
    await producer.send({ topic: pipeline.config.sources.impressions.topic, acks: -1, messages: batch });
    const sentAt = tick;
    const port = worker!.port;
    probes.push(
      (async () => {
        for (;;) {
          const answer = await getJson<{ totals: { impressions: number } }>(port, `/v1/campaigns/${probeCampaign}/performance?from=${from}&to=${to}`).catch(() => undefined);
          if (answer?.totals.impressions === 1) return void latencies.push(Date.now() - sentAt);
          if (Date.now() - sentAt > 60_000) return;
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
    );
    sent++;
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
  }
  await Promise.all(probes);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? -1;
  say(`latency produce → queryable at ${offered} events/s offered: p50 ${pct(50)} ms, p99 ${pct(99)} ms (${latencies.length}/${sent} probes)`);
  return { p50: pct(50), p99: pct(99), probes: latencies.length, sent };
  }
  const offered = Number(process.env.ADPIPE_BENCH_RATE ?? 500);
  const low = await latencyAt(offered, 20);
  const high = await latencyAt(Math.round(pipelineRate / 2), 20);
  await producer.disconnect();
  await admin.disconnect();
  clearInterval(rssTimer);
  say(`whole machine CPU per message: ${wholeCpu} µs; task state ${fmt(footprint.bytes)} bytes for ${fmt(footprint.ids)} live ids (${footprint.ids ? Math.round(footprint.bytes / footprint.ids) : 0} B/id)`);
  say(`worker peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MiB (throughput phase: ${(peakRssThroughput / 1024 / 1024).toFixed(0)} MiB)`);
  const ratio = Math.round((pipelineRate / rawRate) * 1000) / 1000;
  say(JSON.stringify({
    bench: 'runtime',
    events: totalMessages,
    pipeline_events_per_s: pipelineRate,
    raw_consume_events_per_s: rawRate,
    ratio,
    stats_exact: exact,
    raw_consumer_cpu_us_per_msg: rawCpuPerMessage,
    ...cpu,
    whole_cpu_us_per_msg: wholeCpu,
    state_bytes_per_live_id: footprint.ids ? Math.round(footprint.bytes / footprint.ids) : null,
    ...decodeFigures,
    latency_offered_events_per_s: offered,
    latency_p50_ms: low.p50,
    latency_p99_ms: low.p99,
    latency_offered_events_per_s_high: Math.round(pipelineRate / 2),
    latency_p50_ms_high: high.p50,
    latency_p99_ms_high: high.p99,
    peak_rss_mib: Math.round(peakRss / 1024 / 1024),
    peak_rss_mib_throughput: Math.round(peakRssThroughput / 1024 / 1024),
    peer_events_per_s: peer?.best.eventsPerSecond ?? null,
    peer_exact: peer?.summary.peer_exact ?? null,
    vs_peer: peer ? Math.round((pipelineRate / peer.best.eventsPerSecond) * 1000) / 1000 : null,
  }));
} finally {
  await stopWorker(worker);
  await dropPipeline(endpoints, pipeline);
}

/**
 * Throwaway pipelines until Kafka's and HBase's JVMs are warm: a stack started just before the bench
 * spends its first minutes compiling (JIT threads count as the server's CPU), which the bench would
 * otherwise charge to the first pipeline's messages. Rounds of ADPIPE_BENCH_WARMUP impressions
 * (default 100k; 0 skips) run until the servers' JIT compilers spent under 2 s in a round
 * (`jstat -compiler`), at most eight; without jstat, until their CPU per message stops falling by
 * more than a fifth, at most five. Each round's figures are printed, so the cold cost stays visible.
 */
async function warmUp(): Promise<void> {
  const warmImpressions = Number(process.env.ADPIPE_BENCH_WARMUP ?? 100_000);
  if (!(warmImpressions > 0)) return;
  const serversCpu = () => (cpuSeconds(state.pids.hbase) ?? 0) + (cpuSeconds(state.pids.kafka) ?? 0);
  const jit = (): number | undefined => {
    const kafka = jitSeconds(state.pids.kafka);
    const hbase = jitSeconds(state.pids.hbase);
    return kafka === undefined || hbase === undefined ? undefined : kafka + hbase;
  };
  let previous = Infinity;
  let jitBefore = jit();
  const rounds = jitBefore === undefined ? 5 : 8;
  for (let round = 1; round <= rounds; round++) {
    const t = Date.now();
    const warmSet = generate({ seed: 8 + round, impressions: warmImpressions });
    const messages = kafkaMessages(warmSet.messages);
    const count = SOURCE_NAMES.reduce((sum, source) => sum + messages[source].length, 0);
    const warm = await createPipeline(endpoints, `bench-warm-${Date.now().toString(36)}`, { partitions: 6, saltBuckets: 8, batchSize: 2000 });
    let warmWorker: WorkerProcess | undefined;
    let serversUs = 0;
    try {
      const producer = await openProducer(endpoints.bootstrap);
      await produce(producer, warm, messages);
      await producer.disconnect();
      const cpuBefore = serversCpu();
      warmWorker = startWorker(warm, await freePort());
      await untilExact(warmWorker.port, warmSet.expected, 300_000);
      serversUs = Math.round(((serversCpu() - cpuBefore) / count) * 1e7) / 10;
    } finally {
      await stopWorker(warmWorker);
      await dropPipeline(endpoints, warm);
    }
    const jitAfter = jit();
    const compiled = jitBefore === undefined || jitAfter === undefined ? undefined : jitAfter - jitBefore;
    jitBefore = jitAfter;
    say(`warm-up round ${round}: ${fmt(warmImpressions)} impressions through a throwaway pipeline in ${((Date.now() - t) / 1000).toFixed(1)} s, Kafka + HBase ${serversUs} µs/msg${compiled === undefined ? '' : `, their JIT compilers ${compiled.toFixed(1)} s this round`} (not timed)`);
    if (compiled !== undefined ? compiled < 2 : serversUs > previous * 0.8) return;
    previous = serversUs;
  }
}
