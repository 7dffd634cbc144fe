import os from 'node:os';
import { SOURCE_NAMES } from '../api/runtime-config.js';
import { requireStackState } from '../e2e/stack/state.js';
import { generate } from '../generator/index.js';
import { createPipeline, dropPipeline, kafkaMessages, openProducer, produce, type TestPipeline } from '../runtime/e2e/harness.js';
import { ensurePeerBuilt, runPeer, type PeerRun } from './peers/kafka-streams/run.js';

/**
 * `npm run bench -- peer [impressions]`: the Kafka Streams peer alone (issue 14, decision 0049) on
 * the runtime bench's set (seed 7, same size default, 6 partitions), with one stream thread and
 * then two: events/s to the finish line, CPU per message of the peer, Kafka and HBase, and whether
 * every HBase row and stat equals expected.json. Ends with one JSON line.
 */
const impressions = Number(process.argv[3] ?? 500_000);
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const fmt = (n: number): string => n.toLocaleString('en-US');
const state = requireStackState();
const endpoints = { bootstrap: state.kafka.bootstrap, zookeeperQuorum: state.hbase.zookeeperQuorum };

/** Both thread counts, one after the other, on topics already produced; the figures the runtime bench reports too. */
export async function runPeerBench(pipeline: TestPipeline, expected: Parameters<typeof runPeer>[0]['expected'], totalMessages: number, partitions: number): Promise<{ runs: PeerRun[]; best: PeerRun; summary: Record<string, number | boolean> }> {
  const runs: PeerRun[] = [];
  for (const threads of [1, 2]) {
    const run = await runPeer({ endpoints, pipeline, expected, totalMessages, threads, partitions, servers: state.pids, log: say });
    runs.push(run);
    say(`peer, ${threads} stream thread${threads > 1 ? 's' : ''}: ${fmt(run.eventsPerSecond)} events/s (${run.seconds.toFixed(1)} s incl. JVM start), exact: ${run.exact}; CPU per message: peer ${run.cpuUsPerMessage.peer} µs, Kafka ${run.cpuUsPerMessage.kafka} µs, HBase ${run.cpuUsPerMessage.hbase} µs (${os.cpus().length} cores)`);
    for (const difference of run.differences.slice(0, 10)) say(`  not exact: ${difference}`);
  }
  const best = runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
  const summary: Record<string, number | boolean> = {
    peer_events_per_s: best.eventsPerSecond,
    peer_exact: runs.every((r) => r.exact),
    peer_threads: best.threads,
  };
  for (const r of runs) {
    summary[`peer_${r.threads}t_events_per_s`] = r.eventsPerSecond;
    summary[`peer_${r.threads}t_exact`] = r.exact;
    summary[`peer_${r.threads}t_cpu_us_per_msg`] = r.cpuUsPerMessage.peer;
    summary[`peer_${r.threads}t_kafka_cpu_us_per_msg`] = r.cpuUsPerMessage.kafka;
    summary[`peer_${r.threads}t_hbase_cpu_us_per_msg`] = r.cpuUsPerMessage.hbase;
  }
  summary.peer_cpu_us_per_msg = best.cpuUsPerMessage.peer;
  summary.peer_kafka_cpu_us_per_msg = best.cpuUsPerMessage.kafka;
  summary.peer_hbase_cpu_us_per_msg = best.cpuUsPerMessage.hbase;
  return { runs, best, summary };
}

if (process.argv[2] === 'peer') {
  const built = await ensurePeerBuilt(say);
  say(`peer build: ${built.dir}${built.seconds ? ` (built in ${built.seconds.toFixed(0)} s)` : ' (cached)'}`);
  say(`generating ${fmt(impressions)} impressions (seed 7)`);
  const set = generate({ seed: 7, impressions });
  const all = kafkaMessages(set.messages);
  const total = SOURCE_NAMES.reduce((sum, s) => sum + all[s].length, 0);
  say(`messages: ${SOURCE_NAMES.map((s) => `${s} ${fmt(all[s].length)}`).join(', ')} (total ${fmt(total)})`);
  const partitions = 6;
  const pipeline = await createPipeline(endpoints, `bench-peer-${Date.now().toString(36)}`, { partitions, saltBuckets: 8, batchSize: 2000 });
  try {
    const producer = await openProducer(endpoints.bootstrap);
    const t = Date.now();
    await produce(producer, pipeline, all);
    await producer.disconnect();
    say(`produced ${fmt(total)} messages in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const { summary } = await runPeerBench(pipeline, set.expected, total, partitions);
    say(JSON.stringify({ bench: 'peer', events: total, ...summary }));
  } finally {
    await dropPipeline(endpoints, pipeline);
  }
}
