import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { HBaseClient } from '../../hbase/index.js';
import { writeGeneratedDirectory, type Expected } from '../../generator/index.js';
import { produceDirectory } from '../../producer/index.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { IMAGE_BUILD_TIMEOUT_MS, testImage } from '../support/image.js';
import { REPO_ROOT } from '../stack/paths.js';
import { HealthWatch } from '../support/alerts.js';
import { stack, uniqueName } from '../support/stack-clients.js';
import { E2E_TARGET, getJson, PipelineRun, settledComparison, statsCaughtUp, waitFor, type Stats } from '../support/pipeline-run.js';

// End to end on the full local stack, as a platform team meets adpipe: the operator and a node agent
// run as processes, the workers are real Pods of the operator's Deployment, run by the agent as
// podman containers of the image built from this clone's Dockerfile (on kind: the kubelets run the
// image run.sh loaded). One pipeline
// goes through its life: applied → Ready; traffic produced while the workers scale 1 → 3 and one
// worker Pod is deleted → every query equals the generator's ground truth; retention changed → topic
// and table follow; kubectl shows what a person needs; a broken manifest is refused; deletion with
// Retain keeps topics and table, with Delete removes them.

const run = new PipelineRun(stack(), uniqueName('e2e'));
const kafka = new Kafka({ clientId: 'adpipe-e2e', brokers: [stack().kafka.bootstrap], logLevel: logLevel.WARN });
const admin = kafka.admin();
const hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum });
const NAME = 'ads';
/** The image the workers run: this clone's build locally; on kind, the chart's default. */
let workerImage: string | undefined;

function pipeline(name: string, change: (p: AdPipeline) => void = () => undefined): AdPipeline {
  const p = run.example(name);
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) p.spec.sources![source]!.topic = `${run.namespace}.${name}.${source}`;
  p.spec.workers = { ...p.spec.workers, replicas: 1, ...(workerImage ? { image: workerImage } : {}) };
  change(p);
  return p;
}

const topicsOf = (p: AdPipeline) => [...Object.values(p.spec.sources!).map((s) => s!.topic!), `adpipe.${p.metadata.namespace}.${p.metadata.name}-dlq`, `adpipe.${p.metadata.namespace}.${p.metadata.name}.tasks`];

beforeAll(async () => {
  if (E2E_TARGET === 'local') workerImage = (await testImage()).tag;
  await run.installCrd();
  await run.ensureNamespace();
  run.startNodeAgent('podman');
  await run.startOperator();
  await admin.connect();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await run.kubectl(['delete', 'adp', '--all', '-n', run.namespace, '--wait=true', '--timeout=120s']);
  await run.stopProcesses();
  await admin.disconnect();
  hbase.close();
  await run.core.deleteNamespace({ name: run.namespace }).catch(() => undefined);
}, 240_000);

test('applied → Ready; traffic with a scale-out 1 → 3 and a deleted worker Pod mid-stream → exactly the ground truth', async () => {
  const spec = pipeline(NAME);
  run.apply(spec);
  const ready = await run.waitForCondition(NAME, 'Ready', 'True', 180_000);
  expect(ready.status?.topics?.sort()).toEqual(topicsOf(spec).sort());
  // Normal traffic, scale-out and a Pod deleted: DataHealthy never False, no alert for the pipeline.
  const health = E2E_TARGET === 'local' ? new HealthWatch(stack(), run.namespace, () => run.dataHealthy(NAME)).start() : undefined;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-set-'));
  writeGeneratedDirectory(dir, { seed: 11, impressions: 4000 });
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  const sources = spec.spec.sources!;
  // A steady stream (~10 s), so the scale-out and the Pod deletion land while records flow.
  const producing = produceDirectory(dir, {
    kafka,
    topics: { bidRequests: sources.bidRequests!.topic!, impressions: sources.impressions!.topic!, clicks: sources.clicks!.topic!, conversions: sources.conversions!.topic! },
    send: { rate: 500 },
  });

  await new Promise((resolve) => setTimeout(resolve, 2500));
  // Scaling is a spec change: the operator owns the Deployment's replicas.
  run.kubectl(['patch', 'adp', NAME, '-n', run.namespace, '--type=merge', '-p', '{"spec":{"workers":{"replicas":3}}}']);
  await waitFor('3 ready workers', async () => ((await run.workerUrls(NAME)).length === 3 ? true : undefined), 120_000);
  const pods = JSON.parse(run.kubectl(['get', 'pods', '-n', run.namespace, '-l', `adpipe.io/pipeline=${NAME}`, '-o', 'json'])) as { items: { metadata: { name: string }; status: { containerStatuses?: { containerID?: string }[] } }[] };
  if (E2E_TARGET === 'local') for (const pod of pods.items) expect(pod.status.containerStatuses?.[0]?.containerID).toMatch(/^podman:\/\//);
  run.kubectl(['delete', 'pod', pods.items[0]!.metadata.name, '-n', run.namespace, '--wait=false']);
  await producing;

  // The deleted Pod is replaced: three ready workers again.
  const [url] = await waitFor('3 ready workers after the deletion', async () => {
    const urls = await run.workerUrls(NAME);
    return urls.length === 3 ? urls : undefined;
  }, 120_000);
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 300_000, 1000);
  const comparison = await settledComparison(url!, expected, 120_000);
  expect(comparison.mismatches).toEqual([]);
  expect(await getJson<Stats>(`${url}/v1/pipeline/stats`)).toEqual(expected.stats);
  const campaigns = await getJson(`${url}/v1/campaigns`);

  // The CLI from a laptop: through the API server's service proxy, with the kubeconfig's identity.
  const cli = (...args: string[]) => {
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli', 'adpipe.js'), 'query', ...args, '--pipeline', `${run.namespace}/${NAME}`, '--kubeconfig', run.kubeconfig, '-o', 'json'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as unknown;
  };
  expect(cli('stats')).toEqual(expected.stats);
  expect(cli('campaigns')).toEqual(campaigns);
  if (health) {
    await waitFor('DataHealthy=True', async () => ((await run.dataHealthy(NAME))?.status === 'True' ? true : undefined), 60_000, 1000);
    expect(await health.stop()).toEqual([]);
  }
}, 600_000);

test('changing retention updates the topics and the table TTL', async () => {
  run.kubectl(['patch', 'adp', NAME, '-n', run.namespace, '--type=merge', '-p', '{"spec":{"retention":{"rawEvents":"48h","aggregates":"720h"}}}']);
  await run.waitForCondition(NAME, 'Ready', 'True', 120_000);
  const topic = `${run.namespace}.${NAME}.impressions`;
  const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
  expect(configs.resources[0]!.configEntries[0]!.configValue).toBe(String(48 * 3600 * 1000));
  const table = (await run.get(NAME))!.status!.table!;
  const described = await hbase.admin.describeTable(table);
  expect(described?.families.find((f) => f.name === 'a')?.ttlSeconds).toBe(720 * 3600);
});

test('kubectl get and describe show readiness, workers, topics, table, conditions and events', () => {
  const get = run.kubectl(['get', 'adp', NAME, '-n', run.namespace, '-o', 'wide']);
  expect(get).toMatch(/NAME\s+READY\s+REASON\s+DATA\s+WORKERS\s+TOPICS\s+TABLE\s+AGE/);
  expect(get).toMatch(new RegExp(`${NAME}\\s+True\\s+Ready\\s+${E2E_TARGET === 'local' ? 'Healthy' : '\\S+'}\\s+3/3\\s+6/6\\s+adpipe_`));
  const describe = run.kubectl(['describe', 'adp', NAME, '-n', run.namespace]);
  for (const type of ['Ready', 'TopicsReady', 'StorageReady', 'WorkersReady', 'Reconciling', 'Stalled']) expect(describe).toContain(type);
  expect(describe).toMatch(/TopicCreated|TableCreated|WorkersCreated/);
});

test('a broken manifest is refused by the API server with a message a person can act on', () => {
  const broken = pipeline('broken', (p) => {
    p.spec.correlation = { attributionWindow: '0h' };
    p.spec.sources!.clicks!.topic = p.spec.sources!.impressions!.topic;
  });
  expect(() => run.apply(broken)).toThrow(/attributionWindow must be positive[\s\S]*each source needs its own topic|each source needs its own topic[\s\S]*attributionWindow must be positive/);
  expect(() => run.kubectl(['patch', 'adp', NAME, '-n', run.namespace, '--type=merge', '-p', '{"spec":{"sources":{"clicks":{"partitions":1}}}}'])).toThrow(/partitions cannot be decreased/);
  // A password over a plain connection is refused before anything reads the Secret.
  const cleartext = pipeline('cleartext', (p) => (p.spec.kafka.sasl = { mechanism: 'plain', secretRef: { name: 'kafka-user' } }));
  expect(() => run.apply(cleartext)).toThrow(/plain sends the password in clear text without TLS: set kafka.tls.enabled: true, or use scram-sha-512/);
});

test('deleting with Retain keeps topics and table; with Delete removes them', async () => {
  const retained = (await run.get(NAME))!;
  await run.deleteAndWait(NAME);
  const topics = await admin.listTopics();
  for (const topic of retained.status!.topics!) expect(topics).toContain(topic);
  expect(await hbase.admin.tableExists(retained.status!.table!)).toBe(true);

  const doomed = pipeline('doomed', (p) => (p.spec.deletionPolicy = 'Delete'));
  run.apply(doomed);
  const ready = await run.waitForCondition('doomed', 'Ready', 'True', 180_000);
  await run.deleteAndWait('doomed');
  const after = await admin.listTopics();
  for (const topic of ready.status!.topics!) expect(after).not.toContain(topic);
  expect(await hbase.admin.tableExists(ready.status!.table!)).toBe(false);

  // Clean up what Retain kept.
  await admin.deleteTopics({ topics: retained.status!.topics! });
  await hbase.admin.deleteTable(retained.status!.table!, { ifExists: true });
}, 400_000);
