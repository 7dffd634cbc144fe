import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { WORKER_PROCESS_ENV, type RuntimeConfig, type SourceName } from '../../api/runtime-config.js';
import { REPO_ROOT } from '../../e2e/stack/paths.js';
import { HBaseClient } from '../../hbase/index.js';
import { SOURCE_NAMES } from '../../api/runtime-config.js';
import type { GeneratedMessages } from '../../generator/index.js';
import { encodeBidRequest } from '../decode/avro.js';
import { hbaseClient } from '../hbase-client.js';
import type { BidRequest } from '../model.js';
import { DEFAULT_FAMILIES, saltSplitKeys } from '../storage/layout.js';

/**
 * Test support for runtime tests against real Kafka and HBase: a pipeline's topics and table under
 * fresh names, its runtime config, the generator's messages produced the way `adpipe produce`
 * does (keyed by record id), and workers as child processes of `node dist/runtime/main.js`.
 */

const REPO = REPO_ROOT;

export interface Endpoints {
  bootstrap: string;
  zookeeperQuorum: string;
}

export interface TestPipeline {
  name: string;
  config: RuntimeConfig;
  configFile: string;
  dir: string;
}

/** Builds dist/ when the compiled worker is older than any runtime or hbase source. */
export function ensureBuilt(): void {
  const main = path.join(REPO, 'dist', 'runtime', 'main.js');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((latest, entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return Math.max(latest, newest(full));
      return entry.name.endsWith('.ts') ? Math.max(latest, fs.statSync(full).mtimeMs) : latest;
    }, 0);
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  if (built >= Math.max(newest(path.join(REPO, 'runtime')), newest(path.join(REPO, 'hbase')), newest(path.join(REPO, 'kafka')))) return;
  // tsc emits even when another module under construction has type errors; only ours must run.
  spawnSync(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(REPO, 'tsconfig.build.json')], { stdio: 'ignore' });
  if (!fs.existsSync(main)) throw new Error('dist/runtime/main.js is missing after the build; run npm run build');
}

export async function createPipeline(
  endpoints: Endpoints,
  name: string,
  options: {
    partitions?: number;
    saltBuckets?: number;
    batchSize?: number;
    tasks?: number;
    snapshotIntervalMs?: number;
    avro?: RuntimeConfig['sources']['bidRequests']['avro'];
    /** The worker (and the table's creation) talk to HBase over TLS with these files. */
    hbaseTls?: NonNullable<RuntimeConfig['hbase']['tls']>;
    /** HFile encryption of every family (the stack's HBase holds a master key). */
    encryption?: 'AES';
  } = {},
): Promise<TestPipeline> {
  const partitions = options.partitions ?? 3;
  const saltBuckets = options.saltBuckets ?? 4;
  const topics = Object.fromEntries(SOURCE_NAMES.map((source) => [source, `${name}-${source}`])) as Record<SourceName, string>;
  const deadLetterTopic = `${name}-dlq`;
  const tasksTopic = `${name}-tasks`;
  const taskCount = options.tasks ?? partitions;
  const kafka = new Kafka({ clientId: 'adpipe-runtime-test', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      ...SOURCE_NAMES.map((source) => ({ topic: topics[source], numPartitions: partitions, replicationFactor: 1 })),
      { topic: deadLetterTopic, numPartitions: 1, replicationFactor: 1 },
      { topic: tasksTopic, numPartitions: taskCount, replicationFactor: 1 },
    ],
  });
  await admin.disconnect();
  const table = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const hbaseConfig: RuntimeConfig['hbase'] = { zookeeperQuorum: endpoints.zookeeperQuorum, znodeParent: '/hbase', table, ...(options.hbaseTls ? { tls: options.hbaseTls } : {}) };
  const hbase = hbaseClient(hbaseConfig);
  try {
    const families = Object.values(DEFAULT_FAMILIES).map((family) => ({ name: family, maxVersions: 1, ...(options.encryption ? { encryption: options.encryption } : {}) }));
    await hbase.admin.createTable({ name: table, families, splitKeys: saltSplitKeys(saltBuckets) });
  } finally {
    hbase.close();
  }
  const config: RuntimeConfig = {
    pipeline: { namespace: 'test', name },
    kafka: { brokers: [endpoints.bootstrap], clientId: `adpipe-${name}`, groupId: `adpipe.test.${name}` },
    hbase: hbaseConfig,
    sources: {
      bidRequests: { topic: topics.bidRequests, avro: options.avro ?? {} },
      impressions: { topic: topics.impressions, fieldMapping: {} },
      clicks: { topic: topics.clicks, csv: { header: false, delimiter: ',' }, fieldMapping: {} },
      conversions: { topic: topics.conversions, csv: { header: false, delimiter: ',' }, fieldMapping: {} },
    },
    deadLetterTopic,
    correlation: { attributionWindowMs: 86_400_000, conversionWindowMs: 7 * 86_400_000, latenessMs: 86_400_000 },
    storage: { saltBuckets, aggregatesTtlSeconds: 31_536_000, families: { ...DEFAULT_FAMILIES } },
    batchSize: options.batchSize ?? 500,
    tasks: { count: taskCount, topic: tasksTopic, commitIntervalMs: 200, snapshotIntervalMs: options.snapshotIntervalMs ?? 60_000, evictionGraceMs: 3_600_000 }, // the product's defaults
    http: { port: 0 },
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const configFile = path.join(dir, 'pipeline.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return { name, config, configFile, dir };
}

export async function dropPipeline(endpoints: Endpoints, pipeline: TestPipeline): Promise<void> {
  const kafka = new Kafka({ clientId: 'adpipe-runtime-test', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect().catch(() => undefined);
  await admin.deleteTopics({ topics: [...SOURCE_NAMES.map((s) => pipeline.config.sources[s].topic), pipeline.config.deadLetterTopic, pipeline.config.tasks.topic] }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  const hbase = new HBaseClient({ zookeeperQuorum: endpoints.zookeeperQuorum, operationTimeoutMs: 20_000 });
  await hbase.admin.deleteTable(pipeline.config.hbase.table, { ifExists: true }).catch(() => undefined);
  hbase.close();
  fs.rmSync(pipeline.dir, { recursive: true, force: true });
}

/** The key `adpipe produce` uses: the (first) record id, so every copy of an id lands on one partition. */
function keyOf(source: SourceName, value: string): string | null {
  if (source === 'impressions') {
    try {
      const parsed = JSON.parse(value) as unknown;
      const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { impression_id?: unknown } | undefined;
      return typeof first?.impression_id === 'string' ? first.impression_id : null;
    } catch {
      return null;
    }
  }
  const firstField = /^"?([^",\r\n]*)/.exec(value);
  return firstField?.[1] || null;
}

export interface OutMessage {
  key: string | null;
  value: Buffer;
}

/** The generator's messages as Kafka messages, per source, in production order. */
export function kafkaMessages(messages: GeneratedMessages): Record<SourceName, OutMessage[]> {
  return {
    bidRequests: messages.bidRequests.map((m) =>
      '$base64' in m ? { key: null, value: Buffer.from((m as { $base64: string }).$base64, 'base64') } : { key: (m as BidRequest).request_id, value: encodeBidRequest(m as BidRequest) },
    ),
    impressions: messages.impressions.map((text) => ({ key: keyOf('impressions', text), value: Buffer.from(text, 'utf8') })),
    clicks: messages.clicks.map((text) => ({ key: keyOf('clicks', text), value: Buffer.from(text, 'utf8') })),
    conversions: messages.conversions.map((text) => ({ key: keyOf('conversions', text), value: Buffer.from(text, 'utf8') })),
  };
}

/**
 * `idempotent`: a send retried after a timeout whose first attempt was in fact written (a broker
 * restarting under load) is written once, so the input stays what the ground truth counts.
 */
export async function openProducer(bootstrap: string, options: { idempotent?: boolean } = {}): Promise<Producer> {
  const kafka = new Kafka({ clientId: 'adpipe-runtime-test-producer', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 3000 } });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, ...(options.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}) });
  await producer.connect();
  return producer;
}

/** Produces a slice of every source, interleaved source by source, in chunks. */
export async function produce(producer: Producer, pipeline: TestPipeline, all: Record<SourceName, OutMessage[]>, fraction: [number, number] = [0, 1]): Promise<void> {
  for (const source of SOURCE_NAMES) {
    const list = all[source];
    const slice = list.slice(Math.floor(list.length * fraction[0]), Math.floor(list.length * fraction[1]));
    for (let i = 0; i < slice.length; i += 500) {
      await producer.send({ topic: pipeline.config.sources[source].topic, acks: -1, messages: slice.slice(i, i + 500) });
    }
  }
}

/** Messages of the pipeline's source topics its consumer group has committed so far (what a bench waits for). */
export async function committedMessages(admin: Admin, pipeline: TestPipeline): Promise<number> {
  // One OffsetFetch for every source: the runtime benches ask every 100 ms while they measure
  // Kafka's CPU, and Kafka 4.1 spends about 1 ms of it per call (decision 0148).
  const topics = SOURCE_NAMES.map((source) => pipeline.config.sources[source].topic);
  const answer = await whileRetriable(() => admin.fetchOffsets({ groupId: pipeline.config.kafka.groupId, topics }));
  let sum = 0;
  for (const { partitions } of answer) for (const partition of partitions) sum += Math.max(0, Number(partition.offset));
  return sum;
}

/**
 * Retries what Kafka refused for a moment (a coordinator still loading on a broker that just
 * started answers NOT_COORDINATOR), for up to 30 s; anything else fails at once.
 */
async function whileRetriable<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** attempt)));
    }
  }
}

export interface WorkerProcess {
  port: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startWorker(pipeline: TestPipeline, port: number, env: Record<string, string> = {}): WorkerProcess {
  // ADPIPE_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles a bench's worker.
  const nodeArgs = (process.env.ADPIPE_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(REPO, 'dist', 'runtime', 'main.js'), '--config', pipeline.configFile, '--port', String(port)], {
    cwd: REPO,
    env: { ADPIPE_LOG_LEVEL: 'warn', ...WORKER_PROCESS_ENV, ...process.env, NODE_OPTIONS: nodeOptions(process.env.NODE_OPTIONS, env.NODE_OPTIONS), ...withoutNodeOptions(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // ADPIPE_WORKER_LOG_FILE keeps the whole log of a bench's worker (with ADPIPE_LOG_LEVEL=info).
  const logFile = process.env.ADPIPE_WORKER_LOG_FILE;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    if (logFile) fs.appendFileSync(logFile, chunk);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, child, output: () => output, exited };
}

/** The worker's own NODE_OPTIONS (WORKER_PROCESS_ENV) with the launcher's and a test's added, not replaced. */
function nodeOptions(...more: (string | undefined)[]): string {
  return [WORKER_PROCESS_ENV.NODE_OPTIONS, ...more].filter(Boolean).join(' ');
}

function withoutNodeOptions(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'NODE_OPTIONS'));
}

export async function stopWorker(worker: WorkerProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill(signal);
  const timeout = setTimeout(() => worker.child.kill('SIGKILL'), 30_000);
  await worker.exited;
  clearTimeout(timeout);
}


export async function getJson<T>(port: number, pathAndQuery: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, { signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`GET ${pathAndQuery}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export function performancePath(query: { campaign_id: string; from: string; to: string; granularity: string; by?: string }): string {
  const params = new URLSearchParams({ from: query.from, to: query.to, granularity: query.granularity });
  if (query.by) params.set('by', query.by);
  return `/v1/campaigns/${encodeURIComponent(query.campaign_id)}/performance?${params}`;
}

type Expected = { stats: unknown; queries: { query: Parameters<typeof performancePath>[0]; response: unknown }[] };

/**
 * The queries whose answer differs from the ground truth, with the answer (or the error's text).
 * Eight at a time: a pass over a bench's hundred-odd queries then adds little to its timing.
 */
async function wrongAnswers(port: number, queries: Expected['queries'], options: { stopAtFirst: boolean }): Promise<{ entry: Expected['queries'][number]; answer: unknown }[]> {
  const wrong: { entry: Expected['queries'][number]; answer: unknown }[] = [];
  for (let at = 0; at < queries.length && !(options.stopAtFirst && wrong.length > 0); at += 8) {
    const slice = queries.slice(at, at + 8);
    const answers = await Promise.all(slice.map(({ query }) => getJson<unknown>(port, performancePath(query)).catch((error: unknown) => String(error))));
    slice.forEach((entry, i) => JSON.stringify(answers[i]) !== JSON.stringify(entry.response) && wrong.push({ entry, answer: answers[i] }));
  }
  return wrong;
}

/**
 * Waits until the worker's stats and every query of the ground truth are equal to it. Equal stats
 * alone do not mean done: records between tasks that only move counts (a click reaching its
 * impression's task, a bid request's dimensions) leave the stats unchanged, and a killed worker's
 * tasks catch up only once the group has handed them on (decision 0051). Returns how many passes it took.
 */
export async function untilExact(port: number, expected: Expected, timeoutMs: number, alive: () => void = () => undefined): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let first = '';
  for (let passes = 1; ; passes++) {
    alive();
    first = '';
    const stats = await getJson<unknown>(port, '/v1/pipeline/stats').catch((error: unknown) => String(error));
    if (JSON.stringify(stats) !== JSON.stringify(expected.stats)) first = `stats ${JSON.stringify(stats)}`;
    else {
      const [wrong] = await wrongAnswers(port, expected.queries, { stopAtFirst: true });
      if (wrong) first = `${JSON.stringify(wrong.entry.query)} answered ${JSON.stringify(wrong.answer)}, expected ${JSON.stringify(wrong.entry.response)}`;
    }
    if (!first) return passes;
    if (Date.now() > deadline) throw new Error(`not equal to the ground truth after ${timeoutMs} ms: ${first.slice(0, 4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * A bench's finish line once the stats are exact: when every query has answered the ground truth.
 * Each query is confirmed once, as the last moves between dimension values land, rather than in
 * whole passes 500 ms apart: a pass over a bench's 126 queries takes about half a second, which the
 * clock would otherwise charge to the pipeline. Then every query is checked again at once (an answer
 * seen equal on its way to another must not end the clock); if that had to wait, its end is the time.
 * Returns the time (epoch ms) every result was queryable.
 */
export async function whenEveryQueryExact(port: number, expected: Expected, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let unconfirmed = expected.queries;
  let confirmedAt = Date.now();
  while (unconfirmed.length > 0) {
    unconfirmed = (await wrongAnswers(port, unconfirmed, { stopAtFirst: false })).map(({ entry }) => entry);
    confirmedAt = Date.now();
    if (unconfirmed.length === 0) break;
    if (Date.now() > deadline) throw new Error(`${unconfirmed.length} queries not equal to the ground truth after ${timeoutMs} ms, e.g. ${JSON.stringify(unconfirmed[0]!.query)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const passes = await untilExact(port, expected, Math.max(1000, deadline - Date.now()));
  return passes === 1 ? confirmedAt : Date.now();
}
