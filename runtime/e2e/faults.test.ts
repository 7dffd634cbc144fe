import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import { startHBase, type HBasePorts } from '../../e2e/stack/components/hbase.js';
import { newClusterId, startKafka, type KafkaPorts } from '../../e2e/stack/components/kafka.js';
import { cacheRoot, REPO_ROOT } from '../../e2e/stack/paths.js';
import { freePort } from '../../e2e/stack/ports.js';
import { stopProcess } from '../../e2e/stack/proc.js';
import { eventually, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { HBaseClient } from '../../hbase/index.js';
import { HBaseStore } from '../storage/hbase-store.js';
import { readSnapshot } from '../tasks/view.js';
import { generate, type Expected } from '../../generator/index.js';
import {
  createPipeline,
  dropPipeline,
  ensureBuilt,
  getJson,
  kafkaMessages,
  openProducer,
  produce,
  startWorker,
  stopWorker,
  type Endpoints,
  type OutMessage,
  type TestPipeline,
  type WorkerProcess,
  untilExact,
} from './harness.js';

// Faults in the middle of the stream; after each, every answer must still equal the ground truth.
// Destructive server restarts use private Kafka / HBase instances, never the shared stack's.

const shared: Endpoints = { bootstrap: stack().kafka.bootstrap, zookeeperQuorum: stack().hbase.zookeeperQuorum };
const set = generate({ seed: 23, impressions: 1000 });
const expected = set.expected;
const messages = kafkaMessages(set.messages);
const totalAccepted = SOURCE_NAMES.reduce((sum, s) => sum + expected.stats.accepted[s], 0);

const workers: WorkerProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(() => ensureBuilt(), 300_000);
afterEach(async () => {
  for (const worker of workers.splice(0)) await stopWorker(worker, 'SIGKILL');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 120_000);

async function pipelineOn(endpoints: Endpoints, prefix: string): Promise<TestPipeline> {
  // Snapshots every 2 s: the restores after each fault start from a snapshot and replay its tail.
  const pipeline = await createPipeline(endpoints, uniqueName(prefix), { snapshotIntervalMs: 2000 });
  cleanups.push(() => dropPipeline(endpoints, pipeline));
  return pipeline;
}

async function launch(pipeline: TestPipeline, env: Record<string, string> = {}): Promise<WorkerProcess> {
  // A short session: the group notices a killed worker in seconds instead of 30 s.
  const worker = startWorker(pipeline, await freePort(), { ADPIPE_KAFKA_SESSION_TIMEOUT_MS: '8000', ...env });
  workers.push(worker);
  return worker;
}

async function acceptedSoFar(worker: WorkerProcess): Promise<number> {
  const stats = await getJson<Expected['stats']>(worker.port, '/v1/pipeline/stats');
  return SOURCE_NAMES.reduce((sum, s) => sum + stats.accepted[s], 0);
}

/** Waits until the worker has counted at least `fraction` of the accepted records. */
async function progress(worker: WorkerProcess, fraction: number): Promise<void> {
  await eventually(`${Math.round(fraction * 100)}% of the records counted`, async () => ((await acceptedSoFar(worker)) >= totalAccepted * fraction ? true : undefined), 120_000, 100);
}

async function expectExact(worker: WorkerProcess): Promise<void> {
  await untilExact(worker.port, expected, 180_000, () => {
    if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
  }).catch((error: unknown) => {
    // What the worker said (warnings and up) is the lead when it is alive but stuck.
    throw new Error(`${String(error)}\n--- the worker's log (tail) ---\n${worker.output().slice(-6000)}`);
  });
}

/** Batch steps the worker had to retry (it met the outage instead of skipping past it). */
async function retriesOf(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  return [...text.matchAll(/^adpipe_batch_retries_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** View writes to HBase that took longer than 2.5 s (the client waiting for a region server to return). */
async function slowViewWritesOf(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return value(/^adpipe_hbase_write_duration_seconds_count\{source="task"\} (\d+)/m) - value(/^adpipe_hbase_write_duration_seconds_bucket\{le="2.5",source="task"\} (\d+)/m);
}

async function produceAll(endpoints: Endpoints, pipeline: TestPipeline, all: Record<SourceName, OutMessage[]> = messages, fraction: [number, number] = [0, 1]): Promise<void> {
  // Idempotent: under load a send to a just-restarted broker can time out after it was written,
  // and its retry would put the same records in twice. The pipeline then counts them as
  // duplicates, rightly, but the ground truth counts each once (seen: 169 and 345 extra bid
  // request duplicates, everything else exact).
  const producer = await openProducer(endpoints.bootstrap, { idempotent: true });
  try {
    await produce(producer, pipeline, all, fraction);
  } finally {
    await producer.disconnect();
  }
}

test('kill -9 of the worker mid-stream, twice, then a restart: exact', async () => {
  const pipeline = await pipelineOn(shared, 'rt-kill');
  await produceAll(shared, pipeline);
  let worker = await launch(pipeline);
  await progress(worker, 0.2);
  worker.child.kill('SIGKILL');
  await worker.exited;
  worker = await launch(pipeline);
  await progress(worker, 0.6);
  worker.child.kill('SIGKILL');
  await worker.exited;
  worker = await launch(pipeline);
  await expectExact(worker);

  // Idle now: every task has snapshotted its final state, and an unchanged state is not written
  // again (snapshots every 2 s; decision 0078).
  const hbase = new HBaseClient({ zookeeperQuorum: shared.zookeeperQuorum });
  try {
    const store = new HBaseStore(hbase, pipeline.config.hbase.table);
    const tasks = Array.from({ length: pipeline.config.tasks.count }, (_, task) => task);
    const heads = async () => Promise.all(tasks.map(async (task) => (await readSnapshot(store, pipeline.config.storage.families.aggregates, task))?.head));
    // How far each task has applied its internal partition, as it committed it with its last
    // transaction (not the partition's end: an abort marker of a fenced owner may come after).
    const admin = new Kafka({ clientId: 'rt-snapshots', brokers: [shared.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId: pipeline.config.kafka.groupId, topics: [pipeline.config.tasks.topic] });
    const ends = new Map(committed!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    await admin.disconnect();
    const final = await eventually('every task snapshotted its final state while idle', async () => {
      const now = await heads();
      return now.every((head, task) => head && BigInt(head.position) === ends.get(task)) ? now : undefined;
    }, 30_000, 500);
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect((await heads()).map((head) => head?.generation)).toEqual(final.map((head) => head?.generation));
  } finally {
    hbase.close();
  }
}, 300_000);


/**
 * Every dead letter a reader sees (read_committed unless asked), by origin and bytes, with how often:
 * read in a process of its own, with the workers' read_committed filter (decision 0073).
 */
async function deadLetters(endpoints: Endpoints, pipeline: TestPipeline, expectedCount: number, readUncommitted = false): Promise<Map<string, number>> {
  const args = [path.join(REPO_ROOT, 'dist', 'e2e', 'support', 'dead-letters.js'), '--bootstrap', endpoints.bootstrap, '--topic', pipeline.config.deadLetterTopic, '--expect', String(expectedCount)];
  const { stdout } = await execFileAsync(process.execPath, readUncommitted ? [...args, '--uncommitted'] : args, { cwd: REPO_ROOT, timeout: 120_000 });
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, number>));
}

const execFileAsync = promisify(execFile);
const totalInvalid = SOURCE_NAMES.reduce((sum, s) => sum + expected.stats.invalid[s], 0);

test('kill -9 at every step of a commit (before and after the send, the offsets, the commit, the view): exact, dead letters once', async () => {
  const pipeline = await pipelineOn(shared, 'rt-steps');
  const steps = ['before-send', 'after-send', 'after-offsets', 'after-commit', 'after-view'];
  for (const [i, step] of steps.entries()) {
    // Fresh input for each worker, so that it reaches its commit step with work in hand.
    await produceAll(shared, pipeline, messages, [i / (steps.length + 1), (i + 1) / (steps.length + 1)]);
    const worker = startWorker(pipeline, await freePort(), { ADPIPE_KAFKA_SESSION_TIMEOUT_MS: '8000', ADPIPE_TASK_CRASH_AT: `${step}:3` });
    workers.push(worker);
    const code = await Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('alive'), 60_000))]);
    expect([step, code]).toEqual([step, null]); // killed by its own SIGKILL (no exit code)
  }
  await produceAll(shared, pipeline, messages, [steps.length / (steps.length + 1), 1]);
  const worker = await launch(pipeline);
  await expectExact(worker);
  const letters = await deadLetters(shared, pipeline, totalInvalid);
  const raw = await deadLetters(shared, pipeline, totalInvalid, true);
  const count = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  // Read committed: each invalid record once. Read uncommitted: the same records, and the copies the
  // killed workers had sent in transactions that were then aborted.
  expect({ committed: count(letters), distinct: letters.size, distinctUncommitted: raw.size }).toEqual({ committed: totalInvalid, distinct: totalInvalid, distinctUncommitted: totalInvalid });
  expect(count(raw)).toBeGreaterThanOrEqual(totalInvalid);
}, 400_000);

test('three workers joining one by one, then two leaving, mid-stream: exact', async () => {
  const pipeline = await pipelineOn(shared, 'rt-three');
  await produceAll(shared, pipeline, messages, [0, 0.3]);
  const first = await launch(pipeline);
  await progress(first, 0.05);
  const second = await launch(pipeline);
  await produceAll(shared, pipeline, messages, [0.3, 0.6]);
  const third = await launch(pipeline);
  await produceAll(shared, pipeline, messages, [0.6, 1]);
  await progress(third, 0.3);
  await stopWorker(first, 'SIGTERM');
  second.child.kill('SIGKILL');
  await expectExact(third);
}, 400_000);

test('two workers in one group, one joining and one leaving mid-stream: exact', async () => {
  const pipeline = await pipelineOn(shared, 'rt-rebalance');
  await produceAll(shared, pipeline, messages, [0, 0.5]);
  const first = await launch(pipeline);
  await progress(first, 0.1);
  const second = await launch(pipeline);
  await produceAll(shared, pipeline, messages, [0.5, 1]);
  await progress(second, 0.6);
  await stopWorker(first, 'SIGTERM');
  expect(await first.exited).toBe(0);
  await expectExact(second);
}, 300_000);

test('engine threads: a worker of three engines beside one of one, mid-stream, then SIGTERM of the three: exact, with summed metrics', async () => {
  const pipeline = await pipelineOn(shared, 'rt-threads');
  await produceAll(shared, pipeline, messages, [0, 0.5]);
  const threaded = await launch(pipeline, { ADPIPE_ENGINE_THREADS: '3' });
  await progress(threaded, 0.1);
  // Four members now (three threads and this one): the six tasks move between them.
  const single = await launch(pipeline);
  await produceAll(shared, pipeline, messages, [0.5, 1]);
  await progress(single, 0.6);
  // The probes ask every thread; the metrics are the threads' sums (each thread counts its own tasks).
  // Ready once every thread's tasks have restored: the fourth member's join may still be moving one.
  await eventually('every engine of the three-engine worker to be ready', async () => ((await fetch(`http://127.0.0.1:${threaded.port}/readyz`)).status === 200 ? true : undefined), 120_000);
  const text = await (await fetch(`http://127.0.0.1:${threaded.port}/metrics`)).text();
  expect(text.match(/^adpipe_process_resident_memory_bytes /gm)).toHaveLength(1);
  expect(Number(/^adpipe_task_live_ids (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
  await stopWorker(threaded, 'SIGTERM');
  expect(await threaded.exited).toBe(0);
  await expectExact(single);
}, 300_000);

test('consumer offsets reset to the beginning and everything replayed: still exact', async () => {
  const pipeline = await pipelineOn(shared, 'rt-replay');
  await produceAll(shared, pipeline);
  const worker = await launch(pipeline);
  await expectExact(worker);
  await stopWorker(worker, 'SIGTERM');
  const kafka = new Kafka({ clientId: 'adpipe-reset', brokers: [shared.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const source of SOURCE_NAMES) await admin.resetOffsets({ groupId: pipeline.config.kafka.groupId, topic: pipeline.config.sources[source].topic, earliest: true });
    const replay = await launch(pipeline);
    // Replayed to the end = the group's committed offsets are back at every high watermark.
    await eventually(
      'the replay to reach the end of every topic',
      async () => {
        for (const source of SOURCE_NAMES) {
          const topic = pipeline.config.sources[source].topic;
          const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: pipeline.config.kafka.groupId, topics: [topic] })]);
          for (const end of ends) {
            const at = committed[0]!.partitions.find((p) => p.partition === end.partition)?.offset;
            if (at !== end.high) return undefined;
          }
        }
        return true;
      },
      180_000,
      1000,
    );
    await expectExact(replay);
  } finally {
    await admin.disconnect();
  }
}, 300_000);

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the Kafka broker restarted mid-stream: exact', async () => {
  const dir = tempDir('rt-kafka-');
  const ports: KafkaPorts = { broker: await freePort(), controller: await freePort() };
  const lib = path.join(cacheRoot(), 'kafka-4.1.1', 'lib');
  const clusterId = newClusterId();
  const log = path.join(dir, 'kafka.log');
  let pid = await startKafka(lib, dir, ports, clusterId, log);
  cleanups.push(() => stopProcess(pid));
  const endpoints: Endpoints = { bootstrap: `127.0.0.1:${ports.broker}`, zookeeperQuorum: shared.zookeeperQuorum };
  const pipeline = await pipelineOn(endpoints, 'rt-broker');
  await produceAll(endpoints, pipeline, messages, [0, 0.5]);
  const worker = await launch(pipeline);
  await progress(worker, 0.15);
  await stopProcess(pid);
  pid = await startKafka(lib, dir, ports, clusterId, log);
  await produceAll(endpoints, pipeline, messages, [0.5, 1]);
  await expectExact(worker);
}, 400_000);

test('HBase restarted mid-stream: the worker waits and retries, never skips; exact', async () => {
  const dir = tempDir('rt-hbase-');
  const ports: HBasePorts = { zookeeper: await freePort(), master: await freePort(), regionServer: await freePort() };
  const lib = path.join(cacheRoot(), 'hbase-2.6.4-hadoop3', 'lib');
  const log = path.join(dir, 'hbase.log');
  let pid = await startHBase(lib, dir, ports, log);
  cleanups.push(() => stopProcess(pid, 5000));
  const endpoints: Endpoints = { bootstrap: shared.bootstrap, zookeeperQuorum: `127.0.0.1:${ports.zookeeper}` };
  const pipeline = await pipelineOn(endpoints, 'rt-hbase');
  await produceAll(endpoints, pipeline, messages, [0, 0.5]);
  const worker = await launch(pipeline);
  await progress(worker, 0.15);
  await stopProcess(pid, 5000);
  await produceAll(endpoints, pipeline, messages, [0.5, 1]);
  pid = await startHBase(lib, dir, ports, log);
  await expectExact(worker);
  // It met the outage: a view write failed and was retried, or waited it out inside the HBase client.
  expect((await retriesOf(worker)) + (await slowViewWritesOf(worker))).toBeGreaterThan(0);
}, 500_000);
