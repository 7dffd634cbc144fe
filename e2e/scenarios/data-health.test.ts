import { jest } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { startHBase, type HBasePorts } from '../stack/components/hbase.js';
import { cacheRoot } from '../stack/paths.js';
import { freePort } from '../stack/ports.js';
import { stopProcess } from '../stack/proc.js';
import { VERSIONS } from '../stack/versions.js';
import { alertmanagerAlerts, promQuery, WebhookReceiver, type Notification } from '../support/alerts.js';
import { PipelineRun, waitFor } from '../support/pipeline-run.js';
import { stack, uniqueName } from '../support/stack-clients.js';

// Data health end to end on the real stack: a worker Pod scraped by the stack's Prometheus, the
// operator judging DataHealthy from it, the chart's alert rules firing in that Prometheus, and
// Alertmanager delivering each alert to a webhook this test runs — then resolving it. One pipeline
// on a PRIVATE HBase (the shared one is never stopped), short thresholds set in spec.monitoring,
// faults one after another: a flood of invalid records, traffic stopping, HBase stopping, the
// operator killed. Detection delays (fault → condition, fault → alert delivered) are printed.

jest.setTimeout(900_000);

const state = stack();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-health-'));
const hbaseLib = path.join(cacheRoot(), `hbase-${VERSIONS.hbase}`, 'lib');
const NAME = 'health';
const DEFAULT_THRESHOLDS = process.env['ADPIPE_HEALTH_THRESHOLDS'] === 'default';
const TICK_MS = 250;
const run = new PipelineRun(state, uniqueName('health'));
let hbasePorts: HBasePorts;
let hbasePid: number | undefined;
let operator: ChildProcess | undefined;
let webhook: WebhookReceiver;
let producer: Producer;
let traffic: NodeJS.Timeout | undefined;
/** Records per tick: valid impressions, and invalid ones (a flood when > 0). */
const rate = { valid: 5, invalid: 0 };
let sent = 0;
const delays: string[] = [];
/** Alerts delivered firing whose resolution is checked at the end (their 2m rule windows take a while to clear). */
const toResolve: { alertname: string; labels: Record<string, string>; sinceMs: number }[] = [];
/** Alerts the healthy phases must never see for this pipeline. */
const healthyProblems: string[] = [];

const startPrivateHBase = async () => (hbasePid = await startHBase(hbaseLib, path.join(dir, 'hbase'), hbasePorts, path.join(dir, 'hbase.log'), undefined, 300_000));
const impressionsTopic = `${run.namespace}.impressions`;

function pipelineSpec(): AdPipeline {
  const pipeline = run.example(NAME);
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) pipeline.spec.sources![source]!.topic = `${run.namespace}.${source}`;
  pipeline.spec.hbase.zookeeperQuorum = `127.0.0.1:${hbasePorts.zookeeper}`;
  pipeline.spec.workers!.replicas = 1;
  pipeline.spec.deletionPolicy = 'Delete';
  // Short windows so each fault shows within seconds; the defaults are minutes (docs/monitoring.md).
  // ADPIPE_HEALTH_THRESHOLDS=default measures the detection delays with the schema's defaults
  // instead (only baselineWindow stays short, or the drop would need an hour of history).
  pipeline.spec.monitoring = DEFAULT_THRESHOLDS ? { baselineWindow: '60s' } : { maxStaleness: '20s', window: '20s', baselineWindow: '60s', maxInvalidPercent: 5, maxLag: 100_000, anomalySensitivity: 'Medium' };
  return pipeline;
}

function startTraffic(): void {
  traffic = setInterval(() => {
    const now = Date.now();
    const messages = [];
    for (let i = 0; i < rate.valid; i++) {
      sent++;
      messages.push({ value: JSON.stringify({ impression_id: `imp-${sent}`, request_id: `req-${sent}`, campaign_id: 'cmp-health', ts: now, price_micros: 1000 }) });
    }
    for (let i = 0; i < rate.invalid; i++) messages.push({ value: `{"impression_id": broken ${now}-${i}` });
    if (messages.length) void producer.send({ topic: impressionsTopic, messages }).catch(() => undefined);
  }, TICK_MS);
}

async function dataHealthy(): Promise<{ status: string; reason: string; message: string } | undefined> {
  return (await run.get(NAME))?.status?.conditions?.find((c) => c.type === 'DataHealthy');
}

/** Waits until DataHealthy has this status (and one of these reasons); returns when it was seen. */
async function waitForDataHealthy(status: string, reasons: string[] | undefined, timeoutMs = 240_000): Promise<number> {
  await waitFor(`DataHealthy=${status}${reasons ? ` (${reasons.join('|')})` : ''}`, async () => {
    const c = await dataHealthy();
    return c && c.status === status && (!reasons || reasons.includes(c.reason)) ? c : undefined;
  }, timeoutMs, 500);
  return Date.now();
}

/** Waits for a notification of an alert delivered to the webhook after `sinceMs`; returns it. */
async function waitForDelivery(alertname: string, status: Notification['status'], labels: Record<string, string>, sinceMs: number, timeoutMs = 240_000): Promise<Notification> {
  return waitFor(`${alertname} ${status} delivered to the webhook`, async () => webhook.find(alertname, status, labels, sinceMs), timeoutMs, 500);
}

function expectRunbook(n: Notification, alertname: string): void {
  expect(n.annotations['runbook_url']).toBe(`https://github.com/adpipe/adpipe/blob/main/docs/runbook.md#${alertname.toLowerCase()}`);
}

function note(what: string, faultMs: number, conditionMs: number | undefined, alertMs: number): void {
  const s = (ms: number) => `${((ms - faultMs) / 1000).toFixed(0)} s`;
  const line = `${what}: condition after ${conditionMs ? s(conditionMs) : '-'}, alert delivered after ${s(alertMs)}`;
  delays.push(line);
  process.stderr.write(`[data-health] ${line}\n`);
}

/** Samples the healthy phases: any DataHealthy other than True/Healthy, or any alert of this pipeline, is recorded. */
async function watchHealthy(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const c = await dataHealthy();
    if (c && c.status !== 'True') healthyProblems.push(`DataHealthy ${c.status} ${c.reason}: ${c.message}`);
    for (const a of await alertmanagerAlerts(state, { namespace: run.namespace })) healthyProblems.push(`alert ${a.labels['alertname']}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

beforeAll(async () => {
  hbasePorts = { zookeeper: await freePort(), master: await freePort(), regionServer: await freePort() };
  webhook = await WebhookReceiver.start(state);
  await run.installCrd();
  await run.ensureNamespace();
  await startPrivateHBase();
  run.startNodeAgent();
  operator = await run.startOperator(['--health-interval-ms', '2000']);
  run.apply(pipelineSpec());
  await run.waitForCondition(NAME, 'Ready', 'True', 240_000);
  producer = new Kafka({ clientId: 'adpipe-health-test', brokers: [state.kafka.bootstrap], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  startTraffic();
});

afterAll(async () => {
  clearInterval(traffic);
  await producer?.disconnect().catch(() => undefined);
  if (!operator || operator.exitCode !== null || operator.signalCode !== null) operator = await run.startOperator(['--health-interval-ms', '2000']).catch(() => undefined);
  await run.deleteAndWait(NAME).catch(() => undefined);
  await run.stopProcesses();
  await run.core.deleteNamespace({ name: run.namespace }).catch(() => undefined);
  await stopProcess(hbasePid, 5000);
  await webhook?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const thresholds = DEFAULT_THRESHOLDS ? "the schema's defaults (window 2m, maxStaleness 1m), baselineWindow 60s" : 'window 20s, maxStaleness 20s, baselineWindow 60s';
  if (delays.length) process.stderr.write(`[data-health] detection delays (${thresholds}; rules' for: 30s / 1m; scrape 5 s):\n  ${delays.join('\n  ')}\n`);
});

test('normal traffic: DataHealthy=True and no alert throughout', async () => {
  await waitForDataHealthy('True', ['Healthy']);
  await watchHealthy(20_000);
  expect(healthyProblems).toEqual([]);
});

test('a flood of invalid records: InvalidRecordsSpike, AdPipeInvalidRecords delivered naming the pipeline and its runbook, then resolved', async () => {
  const fault = Date.now();
  rate.invalid = 15;
  const condition = await waitForDataHealthy('False', ['InvalidRecordsSpike']);
  const fired = await waitForDelivery('AdPipeInvalidRecords', 'firing', { namespace: run.namespace, pipeline: NAME, source: 'impressions' }, fault);
  note('invalid flood (InvalidRecordsSpike / AdPipeInvalidRecords)', fault, condition, fired.receivedMs);
  expectRunbook(fired, 'AdPipeInvalidRecords');
  expect(fired.labels['severity']).toBe('warning');
  expect((await alertmanagerAlerts(state, { alertname: 'AdPipeInvalidRecords', pipeline: NAME })).map((a) => a.status.state)).toContain('active');
  rate.invalid = 0;
  await waitForDataHealthy('True', ['Healthy']);
  toResolve.push({ alertname: 'AdPipeInvalidRecords', labels: { namespace: run.namespace, pipeline: NAME }, sinceMs: fired.receivedMs });
});

test('traffic stops: TrafficDrop against the baseline, AdPipeTrafficAnomaly delivered, then resolved when traffic is back', async () => {
  // The baseline needs baselineWindow (60 s) of history before the current window.
  await watchHealthy(10_000);
  const fault = Date.now();
  rate.valid = 0;
  const condition = await waitForDataHealthy('False', ['TrafficDrop']);
  const fired = await waitForDelivery('AdPipeTrafficAnomaly', 'firing', { namespace: run.namespace, pipeline: NAME, reason: 'TrafficDrop' }, fault);
  note('traffic stopped (TrafficDrop / AdPipeTrafficAnomaly)', fault, condition, fired.receivedMs);
  expectRunbook(fired, 'AdPipeTrafficAnomaly');
  rate.valid = 5;
  await waitForDataHealthy('True', ['Healthy']);
  await waitForDelivery('AdPipeTrafficAnomaly', 'resolved', { namespace: run.namespace, pipeline: NAME }, fired.receivedMs);
});

test('HBase stopped: Stale or WorkersStuck and AdPipeDataStale delivered; HBase back: resolved, DataHealthy=True', async () => {
  await waitForDataHealthy('True', ['Healthy']);
  const fault = Date.now();
  await stopProcess(hbasePid, 5000);
  const condition = await waitForDataHealthy('False', ['Stale', 'WorkersStuck']);
  const fired = await waitForDelivery('AdPipeDataStale', 'firing', { namespace: run.namespace, pipeline: NAME }, fault);
  note('HBase stopped (Stale|WorkersStuck / AdPipeDataStale)', fault, condition, fired.receivedMs);
  expectRunbook(fired, 'AdPipeDataStale');
  expect(fired.labels['severity']).toBe('critical');
  await startPrivateHBase();
  await waitForDataHealthy('True', ['Healthy'], 300_000);
  await waitForDelivery('AdPipeDataStale', 'resolved', { namespace: run.namespace, pipeline: NAME }, fired.receivedMs, 300_000);
});

test('the operator killed: AdPipeOperatorAbsent delivered, resolved once it runs again', async () => {
  // Other tests' operators are stopped (one file at a time); this one is the only one scraped.
  const fault = Date.now();
  operator!.kill('SIGKILL');
  // Absent fires whenever no operator is scraped (before this file started, too): only a delivery after the kill counts.
  const fired = await waitForDelivery('AdPipeOperatorAbsent', 'firing', {}, fault, 300_000);
  note('operator killed (AdPipeOperatorAbsent)', fault, undefined, fired.receivedMs);
  expectRunbook(fired, 'AdPipeOperatorAbsent');
  operator = await run.startOperator(['--health-interval-ms', '2000']);
  await waitForDelivery('AdPipeOperatorAbsent', 'resolved', {}, fired.receivedMs);
});

test('every alert delivered firing was delivered resolved', async () => {
  for (const { alertname, labels, sinceMs } of toResolve) await waitForDelivery(alertname, 'resolved', labels, sinceMs);
});

test('after the run, every dashboard panel query returns series from the real Prometheus', async () => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(process.cwd(), 'helm', 'adpipe-operator', 'dashboards', 'adpipe-data-health.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  const empty: string[] = [];
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets) {
      const query = expr.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', run.namespace).replaceAll('$pipeline', NAME);
      const series = await waitFor(`series for "${panel.title}"`, async () => ((await promQuery(state, query)).length ? true : undefined), 30_000, 2000).catch(() => false);
      if (!series) empty.push(`${panel.title}: ${query}`);
    }
  }
  expect(empty).toEqual([]);
});
