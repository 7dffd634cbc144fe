import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { SOURCE_NAMES, type SourceName } from '../../../api/runtime-config.js';
import { obtainOnce, treeHash } from '../../../e2e/stack/obtain.js';
import { REPO_ROOT } from '../../../e2e/stack/paths.js';
import { cpuSeconds, requireTool, runLogged } from '../../../e2e/stack/proc.js';
import { VERSIONS } from '../../../e2e/stack/versions.js';
import { answerQuery, type CampaignHours, type Counters, type Expected, type PipelineStats } from '../../../generator/index.js';
import { HBaseClient } from '../../../hbase/index.js';
import type { Endpoints, TestPipeline } from '../../../runtime/e2e/harness.js';

/**
 * The Kafka Streams peer (issue 14, docs/decisions/0049): its Maven build, cached per user like the
 * stack's servers; one run over a pipeline's topics to the finish line (every input offset
 * committed, every repartition topic consumed: HBase is flushed before each commit); and the
 * reader that compares every HBase row and stat with the generator's expected.json.
 */

export const PEER_PROJECT = path.join(REPO_ROOT, 'bench', 'peers', 'kafka-streams');

/** The peer's sources (pom, Java, resources) and the versions it runs against: the cache key. */
function sourceHash(): string {
  return treeHash(PEER_PROJECT, ['pom.xml', 'src'], JSON.stringify({ kafka: VERSIONS.kafka, hbase: VERSIONS.hbase, java: process.env.JAVA_HOME ?? '' }));
}

export interface PeerBuild {
  dir: string;
  classpath: string;
  /** Seconds spent building in this call; 0 when it came from the cache. */
  seconds: number;
}

/** `mvn -q package` of a copy of the project, once per source hash, into ~/.cache/adpipe. */
export async function ensurePeerBuilt(log: (line: string) => void = () => undefined): Promise<PeerBuild> {
  const entry = `kafka-streams-peer-${VERSIONS.kafka}-${sourceHash()}`;
  const { dir, seconds } = await obtainOnce(entry, log, async (scratch, logFile) => {
    requireTool('mvn', 'build the Kafka Streams peer', 'Java 17 and Maven (e.g. apt-get install openjdk-17-jdk-headless maven)');
    const project = path.join(scratch, 'project');
    fs.mkdirSync(project);
    fs.copyFileSync(path.join(PEER_PROJECT, 'pom.xml'), path.join(project, 'pom.xml'));
    fs.cpSync(path.join(PEER_PROJECT, 'src'), path.join(project, 'src'), { recursive: true });
    await runLogged('mvn', ['-B', '-q', 'package'], { cwd: project, logFile });
    fs.renameSync(path.join(project, 'target', 'adpipe-peer.jar'), path.join(scratch, 'adpipe-peer.jar'));
    fs.renameSync(path.join(project, 'target', 'lib'), path.join(scratch, 'lib'));
    fs.rmSync(project, { recursive: true, force: true });
  });
  return { dir, seconds, classpath: `${path.join(dir, 'adpipe-peer.jar')}${path.delimiter}${path.join(dir, 'lib', '*')}` };
}

export interface PeerProcess {
  appId: string;
  table: string;
  child: ChildProcess;
  stateDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

export function startPeer(build: PeerBuild, pipeline: TestPipeline, options: { appId: string; threads: number; partitions: number; commitMs?: number }): PeerProcess {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), `${options.appId}-`));
  const table = options.appId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const args = [
    ...(process.env.ADPIPE_PEER_JVM_ARGS ?? '-Xms512m -Xmx1536m').split(' ').filter(Boolean),
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    build.classpath,
    'io.adpipe.peer.Peer',
    ...['--config', pipeline.configFile, '--app-id', options.appId, '--table', table],
    ...['--threads', String(options.threads), '--partitions', String(options.partitions), '--state-dir', stateDir],
    ...['--commit-ms', String(options.commitMs ?? 1000)],
  ];
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { appId: options.appId, table, child, stateDir, output: () => output, exited };
}

export async function stopPeer(peer: PeerProcess | undefined): Promise<void> {
  if (!peer) return;
  if (peer.child.exitCode === null && peer.child.signalCode === null) {
    peer.child.kill('SIGTERM');
    const timeout = setTimeout(() => peer.child.kill('SIGKILL'), 60_000);
    await peer.exited;
    clearTimeout(timeout);
  }
  fs.rmSync(peer.stateDir, { recursive: true, force: true });
}

/** The peer's internal topics (repartition, changelog) and its HBase table. */
export async function dropPeer(endpoints: Endpoints, peer: PeerProcess): Promise<void> {
  const kafka = new Kafka({ clientId: 'adpipe-peer-cleanup', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${peer.appId}-`));
    if (topics.length) await admin.deleteTopics({ topics });
    await admin.deleteGroups([peer.appId]).catch(() => undefined);
  } catch {
    /* best effort */
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const hbase = new HBaseClient({ zookeeperQuorum: endpoints.zookeeperQuorum, operationTimeoutMs: 20_000 });
  await hbase.admin.deleteTable(peer.table, { ifExists: true }).catch(() => undefined);
  hbase.close();
}

/** 4 sources → r1, 3 deduplicated → r2, r3 enriched, r4 attributions, 2 delta topics → r5. */
const REPARTITION_TOPICS = 11;

/**
 * The finish line: the sources' offsets all committed, and every repartition topic consumed up to
 * its end (the last offset of a partition written transactionally is a commit marker, hence -1).
 * Topics are checked in topological order (r1 … r5), so a topic's producers were done before it
 * was read. HBase holds every result by then: the peer flushes it before each commit.
 */
export async function peerFinished(admin: Admin, pipeline: TestPipeline, appId: string, totalMessages: number): Promise<{ done: boolean; committed: number }> {
  let committed = 0;
  for (const source of SOURCE_NAMES) {
    const [offsets] = await admin.fetchOffsets({ groupId: appId, topics: [pipeline.config.sources[source].topic] });
    for (const p of offsets!.partitions) committed += Math.max(0, Number(p.offset));
  }
  if (committed < totalMessages) return { done: false, committed };
  const internal = (await admin.listTopics()).filter((t) => t.startsWith(`${appId}-r`) && t.endsWith('-repartition')).sort();
  if (internal.length < REPARTITION_TOPICS) return { done: false, committed };
  for (const topic of internal) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [offsets] = await admin.fetchOffsets({ groupId: appId, topics: [topic] });
    for (const end of ends) {
      const high = Number(end.high);
      if (high === 0) continue;
      const done = Number(offsets!.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
      if (done < high - 1) return { done: false, committed };
    }
  }
  return { done: true, committed };
}

// ---- the reader ---------------------------------------------------------------------------------

export interface PeerAnswers {
  stats: PipelineStats;
  hours: Map<string, CampaignHours>;
  rows: number;
}

const counters = (value: Buffer): Counters => ({
  impressions: Number(value.readBigInt64BE(0)),
  clicks: Number(value.readBigInt64BE(8)),
  conversions: Number(value.readBigInt64BE(16)),
  spend_micros: Number(value.readBigInt64BE(24)),
  revenue_micros: Number(value.readBigInt64BE(32)),
});

/** Every row of the peer's table: per-task stat rows `s|<stat>|<task>`, aggregate rows `a|<campaign>\0<hour ms>`. */
export async function readPeer(zookeeperQuorum: string, table: string): Promise<PeerAnswers> {
  const sums = new Map<string, number>();
  const hours = new Map<string, CampaignHours>();
  let rows = 0;
  const hbase = new HBaseClient({ zookeeperQuorum, operationTimeoutMs: 30_000 });
  try {
    for await (const row of hbase.scan(table, { batchRows: 1000 })) {
      rows++;
      const key = row.row.toString('utf8');
      if (key.startsWith('s|')) {
        const stat = key.slice(2, key.lastIndexOf('|'));
        sums.set(stat, (sums.get(stat) ?? 0) + Number(row.value('a', 'v')!.readBigInt64BE(0)));
        continue;
      }
      const separator = key.lastIndexOf('\0');
      const campaign = key.slice(2, separator);
      const hour = Number(key.slice(separator + 1));
      let campaignHours = hours.get(campaign);
      if (!campaignHours) hours.set(campaign, (campaignHours = { total: new Map(), country: new Map(), device_type: new Map() }));
      for (const cell of row.cells) {
        const qualifier = cell.qualifier.toString('utf8');
        const value = counters(cell.value);
        if (qualifier === 't') campaignHours.total.set(hour, value);
        else {
          const series = qualifier.startsWith('c:') ? campaignHours.country : campaignHours.device_type;
          const dimension = qualifier.slice(2);
          if (!series.has(dimension)) series.set(dimension, new Map());
          series.get(dimension)!.set(hour, value);
        }
      }
    }
  } finally {
    hbase.close();
  }
  const per = (kind: string) => Object.fromEntries(SOURCE_NAMES.map((s) => [s, sums.get(`${kind}:${s}`) ?? 0])) as Record<SourceName, number>;
  const accepted = per('accepted');
  const stats: PipelineStats = {
    accepted,
    invalid: per('invalid'),
    duplicates: per('duplicates'),
    unattributed_clicks: accepted.clicks - (sums.get('attributed:clicks') ?? 0),
    unattributed_conversions: accepted.conversions - (sums.get('attributed:conversions') ?? 0),
  };
  return { stats, hours, rows };
}

/** Every difference between the peer's answers and expected.json (empty: exact). */
export function comparePeer(answers: PeerAnswers, expected: Expected): string[] {
  const differences: string[] = [];
  if (!isDeepStrictEqual(answers.stats, expected.stats)) differences.push(`stats: ${JSON.stringify(answers.stats)} != expected ${JSON.stringify(expected.stats)}`);
  const campaigns = new Set<string>();
  for (const { query, response } of expected.queries) {
    campaigns.add(query.campaign_id);
    const ours = answerQuery(answers.hours.get(query.campaign_id), query);
    if (!isDeepStrictEqual(ours, response)) differences.push(`${query.campaign_id} ${query.granularity}${query.by ? ` by ${query.by}` : ''}: ${JSON.stringify(ours.totals)} != expected ${JSON.stringify(response.totals)}`);
  }
  for (const [campaign, hours] of answers.hours) {
    const counted = [...hours.total.values()].some((c) => c.impressions || c.clicks || c.conversions || c.spend_micros || c.revenue_micros);
    if (counted && !campaigns.has(campaign)) differences.push(`campaign ${campaign} has counts but none are expected`);
  }
  return differences;
}

export interface PeerRun {
  threads: number;
  eventsPerSecond: number;
  seconds: number;
  exact: boolean;
  differences: string[];
  /** CPU time per input message (µs) of the peer's JVM, and of Kafka and HBase meanwhile. */
  cpuUsPerMessage: { peer: number; kafka: number; hbase: number };
  hbaseRows: number;
}

/**
 * One run of the peer over a pipeline's topics (already produced): a fresh application id and
 * table, timed from the JVM's start (start-up and JIT warm-up included, as for adpipe's worker) to
 * the finish line; then every row and stat is read back and compared with expected.json.
 */
export async function runPeer(options: {
  endpoints: Endpoints;
  pipeline: TestPipeline;
  expected: Expected;
  totalMessages: number;
  threads: number;
  partitions: number;
  servers?: { kafka?: number | undefined; hbase?: number | undefined };
  commitMs?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<PeerRun> {
  const log = options.log ?? (() => undefined);
  const build = await ensurePeerBuilt(log);
  const kafka = new Kafka({ clientId: 'adpipe-peer-bench', brokers: [options.endpoints.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const appId = `${options.pipeline.name}-ks${options.threads}-${Date.now().toString(36)}`;
  let peer: PeerProcess | undefined;
  try {
    const servers = () => ({ kafka: cpuSeconds(options.servers?.kafka) ?? 0, hbase: cpuSeconds(options.servers?.hbase) ?? 0 });
    const before = servers();
    const started = Date.now();
    peer = startPeer(build, options.pipeline, { appId, threads: options.threads, partitions: options.partitions, commitMs: options.commitMs });
    const deadline = started + (options.timeoutMs ?? 30 * 60_000);
    let lastLog = Date.now();
    let peerCpu = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      if (peer.child.exitCode !== null) throw new Error(`the peer exited (${peer.child.exitCode}): ${peer.output()}`);
      peerCpu = cpuSeconds(peer.child.pid) ?? peerCpu;
      const { done, committed } = await peerFinished(admin, options.pipeline, appId, options.totalMessages);
      if (done) break;
      if (Date.now() > deadline) throw new Error(`the peer did not finish in time (${committed}/${options.totalMessages} committed): ${peer.output()}`);
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(`  peer (${options.threads} thread${options.threads > 1 ? 's' : ''}): ${committed.toLocaleString('en-US')} / ${options.totalMessages.toLocaleString('en-US')} input committed after ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    }
    const ms = Date.now() - started;
    peerCpu = cpuSeconds(peer.child.pid) ?? peerCpu;
    const after = servers();
    await stopPeer(peer);
    const answers = await readPeer(options.endpoints.zookeeperQuorum, peer.table);
    const differences = comparePeer(answers, options.expected);
    const perMessage = (seconds: number) => Math.round((seconds / options.totalMessages) * 1e7) / 10;
    return {
      threads: options.threads,
      eventsPerSecond: Math.round((options.totalMessages / ms) * 1000),
      seconds: ms / 1000,
      exact: differences.length === 0,
      differences,
      cpuUsPerMessage: { peer: perMessage(peerCpu), kafka: perMessage(after.kafka - before.kafka), hbase: perMessage(after.hbase - before.hbase) },
      hbaseRows: answers.rows,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    if (peer) {
      await stopPeer(peer);
      await dropPeer(options.endpoints, peer);
    }
  }
}
