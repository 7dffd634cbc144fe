import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type AdPipeline } from '../api/v1alpha1/index.js';
import { startHBase } from '../e2e/stack/components/hbase.js';
import { newClusterId, startKafka } from '../e2e/stack/components/kafka.js';
import { cacheRoot, REPO_ROOT } from '../e2e/stack/paths.js';
import { freePort } from '../e2e/stack/ports.js';
import { stopProcess } from '../e2e/stack/proc.js';
import { requireStackState } from '../e2e/stack/state.js';
import { installCrd } from '../e2e/support/stack-clients.js';

/**
 * `npm run bench -- operator`: 200 AdPipelines applied at once to one operator process (the compiled
 * dist/operator/main.js, with leader election as deployed). Reports seconds until all are Ready, API
 * requests and Kafka/HBase admin requests per pipeline, the operator's peak RSS, and writes per
 * minute in a steady state with no changes (target 0). Kafka and HBase are PRIVATE instances, so a
 * thousand topics and two hundred tables never load the shared stack. Pipelines run 0 workers (the
 * local stack has no kubelets; a Deployment with replicas > 0 can never be Ready here), 1 partition
 * per topic and 1 region per table to keep the servers' footprint small on a laptop.
 */

const COUNT = Number(process.env['ADPIPE_BENCH_PIPELINES'] ?? 200);
const STEADY_MS = Number(process.env['ADPIPE_BENCH_STEADY_MS'] ?? 60_000);
const state = requireStackState();
const kc = new k8s.KubeConfig();
kc.loadFromFile(state.kube.kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-bench-op-'));
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const kafkaPorts = { broker: await freePort(), controller: await freePort() };
const hbasePorts = { zookeeper: await freePort(), master: await freePort(), regionServer: await freePort() };
say(`starting a private Kafka and HBase in ${dir}`);
const started = await Promise.allSettled([
  startKafka(path.join(cacheRoot(), 'kafka-4.1.1', 'lib'), path.join(dir, 'kafka'), kafkaPorts, newClusterId(), path.join(dir, 'kafka.log')),
  startHBase(path.join(cacheRoot(), 'hbase-2.6.4-hadoop3', 'lib'), path.join(dir, 'hbase'), hbasePorts, path.join(dir, 'hbase.log')),
]);
const failed = started.find((r) => r.status === 'rejected');
if (failed) {
  // One server did not come up: the other must not outlive the bench.
  await Promise.all(started.map((r) => (r.status === 'fulfilled' ? stopProcess(r.value) : undefined)));
  throw (failed as PromiseRejectedResult).reason;
}
const [kafkaPid, hbasePid] = started.map((r) => (r as PromiseFulfilledResult<number>).value);

// The operator never installs its CRD; the bench does, as the demo does.
await installCrd();
const namespace = `bench-op-${process.pid}`;
await core.createNamespace({ body: { metadata: { name: namespace } } });
const operatorLog = path.join(dir, 'operator.log');
const port = await freePort();
const child = spawn(
  process.execPath,
  [path.join(REPO_ROOT, 'dist', 'operator', 'main.js'), '--kubeconfig', state.kube.kubeconfig, '--namespace', namespace, '--lease-namespace', namespace, '--identity', 'bench', '--http-port', String(port), '--drift-check-ms', '20000', ...(process.env['ADPIPE_BENCH_WORKERS'] ? ['--workers', process.env['ADPIPE_BENCH_WORKERS']] : [])],
  { cwd: REPO_ROOT, stdio: ['ignore', fs.openSync(operatorLog, 'a'), 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
);
let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await Promise.all([stopProcess(kafkaPid), stopProcess(hbasePid)]);
  fs.rmSync(dir, { recursive: true, force: true });
}
// An interrupted bench must not leave its private servers running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().then(() => process.exit(130)));
for (const deadline = Date.now() + 120_000; ; ) {
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(async (r) => ({ ok: r.ok, body: await r.text() }), () => ({ ok: false, body: 'no answer' }));
  if (ready.ok) break;
  if (child.exitCode !== null) throw new Error(`the operator exited; see ${operatorLog}`);
  if (Date.now() > deadline) {
    await cleanUp();
    throw new Error(`the operator was not ready after 120 s: ${ready.body.trim()}`);
  }
  await sleep(200);
}

async function metrics(): Promise<{ kube: Record<string, number>; kafka: number; hbase: number; reconciles: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const kube: Record<string, number> = {};
  let kafka = 0;
  let hbase = 0;
  let reconciles = 0;
  for (const line of text.split('\n')) {
    const verb = /^adpipe_operator_kube_requests_total\{verb="(\w+)"\} (\d+)/.exec(line);
    if (verb) kube[verb[1]!] = Number(verb[2]);
    if (line.startsWith('adpipe_operator_kafka_admin_requests ')) kafka = Number(line.split(' ')[1]);
    if (line.startsWith('adpipe_operator_hbase_admin_requests ')) hbase = Number(line.split(' ')[1]);
    if (line.startsWith('adpipe_operator_reconcile_total{')) reconciles += Number(line.split(' ').pop());
  }
  return { kube, kafka, hbase, reconciles };
}
const total = (kube: Record<string, number>) => Object.values(kube).reduce((a, b) => a + b, 0);
const writes = (kube: Record<string, number>) => (kube['POST'] ?? 0) + (kube['PUT'] ?? 0) + (kube['PATCH'] ?? 0) + (kube['DELETE'] ?? 0);
const peakRss = () => Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

const example = parse(fs.readFileSync(path.join(REPO_ROOT, 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
function pipeline(i: number): AdPipeline {
  const name = `p${String(i).padStart(3, '0')}`;
  const spec = structuredClone(example.spec);
  spec.kafka.bootstrapServers = [`127.0.0.1:${kafkaPorts.broker}`];
  spec.hbase.zookeeperQuorum = `127.0.0.1:${hbasePorts.zookeeper}`;
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) Object.assign(spec.sources![source]!, { topic: `${name}.${source}`, partitions: 1 });
  spec.storage!.preSplitRegions = 1;
  spec.workers!.replicas = 0;
  spec.deletionPolicy = 'Delete';
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec };
}

async function listPipelines(): Promise<AdPipeline[]> {
  const list = (await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })) as { items: AdPipeline[] };
  return list.items;
}
const isReady = (p: AdPipeline) => p.status?.observedGeneration === p.metadata.generation && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

let result: Record<string, unknown> = {};
try {
  await sleep(2000); // let the operator take its Lease and sync its caches
  const before = await metrics();
  say(`applying ${COUNT} AdPipelines at once`);
  const t0 = Date.now();
  const queue = Array.from({ length: COUNT }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body: pipeline(i) });
    }),
  );
  let ready = 0;
  for (;;) {
    ready = (await listPipelines()).filter(isReady).length;
    if (ready === COUNT) break;
    if (Date.now() - t0 > 900_000) throw new Error(`only ${ready}/${COUNT} Ready after 15 minutes`);
    await sleep(500);
  }
  const readySeconds = (Date.now() - t0) / 1000;
  const atReady = await metrics();
  say(`all ${COUNT} Ready after ${readySeconds.toFixed(1)} s`);

  // Steady state: nothing changes; the operator's periodic drift checks (every 20 s here) run.
  await sleep(5000);
  const versions = async () => {
    const out = new Map<string, string>();
    for (const p of await listPipelines()) out.set(`adp/${p.metadata.name}`, p.metadata.resourceVersion ?? '');
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const d of (await apps.listNamespacedDeployment({ namespace, labelSelector: 'app.kubernetes.io/managed-by=adpipe-operator' })).items) out.set(`deploy/${d.metadata!.name}`, d.metadata!.resourceVersion ?? '');
    for (const c of (await core.listNamespacedConfigMap({ namespace, labelSelector: 'app.kubernetes.io/managed-by=adpipe-operator' })).items) out.set(`cm/${c.metadata!.name}`, c.metadata!.resourceVersion ?? '');
    for (const s of (await core.listNamespacedService({ namespace, labelSelector: 'app.kubernetes.io/managed-by=adpipe-operator' })).items) out.set(`svc/${s.metadata!.name}`, s.metadata!.resourceVersion ?? '');
    for (const s of (await core.listNamespacedServiceAccount({ namespace, labelSelector: 'app.kubernetes.io/managed-by=adpipe-operator' })).items) out.set(`sa/${s.metadata!.name}`, s.metadata!.resourceVersion ?? '');
    return out;
  };
  const steadyBefore = await versions();
  const m0 = await metrics();
  say(`steady state for ${STEADY_MS / 1000} s`);
  await sleep(STEADY_MS);
  const m1 = await metrics();
  const steadyAfter = await versions();
  const changedObjects = [...steadyBefore].filter(([key, rv]) => steadyAfter.get(key) !== rv).length;
  const minutes = STEADY_MS / 60_000;
  // The Lease renewal (a PUT every 10 s) is the one write leader election needs; reported apart.
  const leaseRenewals = (m1.kube['PUT'] ?? 0) - (m0.kube['PUT'] ?? 0);
  const steadyWrites = writes(m1.kube) - writes(m0.kube) - leaseRenewals;

  result = {
    bench: 'operator',
    pipelines: COUNT,
    ready_seconds: Number(readySeconds.toFixed(1)),
    api_requests_per_pipeline: Number(((total(atReady.kube) - total(before.kube)) / COUNT).toFixed(2)),
    api_writes_per_pipeline: Number(((writes(atReady.kube) - writes(before.kube)) / COUNT).toFixed(2)),
    kafka_admin_requests_per_pipeline: Number(((atReady.kafka - before.kafka) / COUNT).toFixed(3)),
    hbase_admin_requests_per_pipeline: Number(((atReady.hbase - before.hbase) / COUNT).toFixed(2)),
    reconciles_per_pipeline: Number(((atReady.reconciles - before.reconciles) / COUNT).toFixed(2)),
    operator_peak_rss_mib: Math.round(peakRss() / 1024 / 1024),
    steady_writes_per_minute: Number((steadyWrites / minutes).toFixed(2)),
    steady_objects_changed: changedObjects,
    steady_lease_renewals_per_minute: Number((leaseRenewals / minutes).toFixed(1)),
    steady_api_requests_per_minute: Number(((total(m1.kube) - total(m0.kube) - leaseRenewals) / minutes).toFixed(1)),
    steady_kafka_admin_requests_per_minute: Number(((m1.kafka - m0.kafka) / minutes).toFixed(1)),
    steady_hbase_admin_requests_per_minute: Number(((m1.hbase - m0.hbase) / minutes).toFixed(1)),
  };
  for (const [key, value] of Object.entries(result)) if (key !== 'bench') say(`  ${key.padEnd(40)} ${String(value)}`);

  say('deleting the pipelines (deletionPolicy Delete)');
  await Promise.all((await listPipelines()).map((p) => custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: p.metadata.name })));
  const deadline = Date.now() + 300_000;
  while ((await listPipelines()).length && Date.now() < deadline) await sleep(1000);
} finally {
  await cleanUp();
}
process.stdout.write(JSON.stringify(result) + '\n');
