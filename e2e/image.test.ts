import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import { writeGeneratedDirectory, type Expected } from '../generator/index.js';
import { WORKER_COMMAND } from '../operator/render/workers.js';
import { produceDirectory } from '../producer/index.js';
import type { AdpipeImage } from './image/build.js';
import { inspectImage, podman } from './image/podman.js';
import { BASE_RECIPE } from './image/recipe.js';
import { REPO_ROOT } from './stack/paths.js';
import { freePort } from './stack/ports.js';
import { IMAGE_BUILD_TIMEOUT_MS, runToCompletion, startContainer, testImage, type StartedContainer } from './support/image.js';
import { getJson, PipelineRun, settledComparison, statsCaughtUp, waitFor, type Stats } from './support/pipeline-run.js';
import { stack, uniqueName } from './support/stack-clients.js';

// The image itself, built by podman from the unchanged Dockerfile on the base it names, and run for
// real: both entrypoints start as non-root users on a read-only root with no capabilities — the
// operator reconciles a pipeline against the stack's API server, Kafka and HBase; a worker runs the
// configuration the operator rendered and answers exactly — `adpipe --help` works, and the image
// holds the compiled product and its production dependencies, nothing else.

const run = new PipelineRun(stack(), uniqueName('image'));
const NAME = 'img';
const containers: StartedContainer[] = [];
const logs = path.join(stack().dir, 'logs');
// As the chart and the worker Deployment run them (Pod Security `restricted`).
const HARDENED = ['--read-only', '--read-only-tmpfs=false', '--cap-drop', 'all', '--security-opt', 'no-new-privileges'];
let image: AdpipeImage;
let dir: string;

beforeAll(async () => {
  image = await testImage();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'image-test-'));
  await run.installCrd();
  await run.ensureNamespace();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  const [operators, workers] = [containers.filter((c) => c.name.startsWith('adpipe-operator')), containers.filter((c) => !c.name.startsWith('adpipe-operator'))];
  for (const worker of workers) await worker.stop();
  // The operator releases the pipeline (deletionPolicy Delete: topics and table go) before it stops.
  if (operators.some((c) => !c.exited())) await run.deleteAndWait(NAME).catch(() => undefined);
  for (const operator of operators) await operator.stop();
  await run.core.deleteNamespace({ name: run.namespace }).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
}, 240_000);

/** The uid and gid the container's first process really runs with, read from the host's /proc. */
async function processIds(name: string): Promise<{ uid: number; gid: number; readOnlyRoot: boolean }> {
  const [inspected] = JSON.parse(await podman(['container', 'inspect', name])) as { State: { Pid: number }; HostConfig: { ReadonlyRootfs: boolean } }[];
  const status = fs.readFileSync(`/proc/${inspected!.State.Pid}/status`, 'utf8');
  const [, uid] = /^Uid:\s+(\d+)/m.exec(status)!;
  const [, gid] = /^Gid:\s+(\d+)/m.exec(status)!;
  return { uid: Number(uid), gid: Number(gid), readOnlyRoot: inspected!.HostConfig.ReadonlyRootfs };
}

test('the image is the Dockerfile built on the base it names: node entrypoint, the operator by default, uid 1000', async () => {
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
  expect([...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1])).toEqual([BASE_RECIPE.reference, BASE_RECIPE.reference]);
  expect(await inspectImage(BASE_RECIPE.storedAs)).toBeDefined();
  const [config] = JSON.parse(await podman(['image', 'inspect', image.tag])) as { Config: { User: string; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Env: string[] } }[];
  expect(config!.Config).toMatchObject({ User: '1000:1000', Entrypoint: ['node'], Cmd: ['dist/operator/main.js'], WorkingDir: '/app' });
  expect(config!.Config.Env).toContain('NODE_ENV=production');
  const chartDeployment = fs.readFileSync(path.join(REPO_ROOT, 'helm', 'adpipe-operator', 'templates', 'deployment.yaml'), 'utf8');
  expect(chartDeployment).toMatch(/command: \[node\]\s+args:\s+- dist\/operator\/main\.js/);
  // The base is about 201 MB, the product and its dependencies about 83 MB; a dev tree would add 200 MB.
  expect(image.sizeBytes).toBeLessThan(320e6);
});

test('the image holds the compiled product and exactly its production dependencies: no dev packages, no tests, no sources', async () => {
  const lister = `
const fs = require('fs'), path = require('path');
const out = { app: fs.readdirSync('/app').sort(), dist: [], packages: [] };
const files = (dir, rel) => { for (const e of fs.readdirSync(dir, { withFileTypes: true })) e.isDirectory() ? files(path.join(dir, e.name), rel + '/' + e.name) : out.dist.push(rel + '/' + e.name); };
files('/app/dist', 'dist');
const packages = (dir, rel) => { if (!fs.existsSync(dir)) return; for (const n of fs.readdirSync(dir)) {
  if (n.startsWith('.')) continue;
  for (const m of n.startsWith('@') ? fs.readdirSync(path.join(dir, n)).map((s) => n + '/' + s) : [n]) {
    const r = rel + '/' + m;
    if (fs.existsSync(path.join('/app', r, 'package.json'))) { out.packages.push(r); packages(path.join('/app', r, 'node_modules'), r + '/node_modules'); }
  } } };
packages('/app/node_modules', 'node_modules');
console.log(JSON.stringify(out));`;
  const listed = await runToCompletion([...HARDENED, image.tag, '-e', lister]);
  expect(listed.stderr).toBe('');
  const contents = JSON.parse(listed.stdout) as { app: string[]; dist: string[]; packages: string[] };
  expect(contents.app).toEqual(['crds', 'dist', 'node_modules', 'package.json']);
  expect(contents.dist.filter((file) => /\.test\.js|test-support|\/testing\/|^dist\/(e2e|bench)\/|\.ts$/.test(file))).toEqual([]);
  expect(contents.dist).toEqual(expect.arrayContaining(['dist/operator/main.js', 'dist/runtime/main.js', 'dist/cli/adpipe.js']));

  const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
  const production = Object.entries(lock.packages)
    .filter(([key, entry]) => key !== '' && !entry.dev && !entry.optional)
    .map(([key]) => key);
  expect(contents.packages.sort()).toEqual(production.sort());
});

test('adpipe --help runs in the image, non-root on a read-only root', async () => {
  const help = await runToCompletion([...HARDENED, image.tag, 'dist/cli/adpipe.js', '--help']);
  expect(help.code).toBe(0);
  for (const command of ['generate', 'produce', 'query']) expect(help.stdout).toContain(command);
});

test('the operator runs from the image as uid 1000 on a read-only root and reconciles a pipeline against the stack’s API server, Kafka and HBase', async () => {
  const kube = path.join(dir, 'kube');
  fs.mkdirSync(kube);
  // The admin kubeconfig is the host's 0600 file; uid 1000 in the container reads a copy.
  fs.copyFileSync(stack().kube.kubeconfig, path.join(kube, 'kubeconfig'));
  fs.chmodSync(path.join(kube, 'kubeconfig'), 0o644);
  const port = await freePort();
  const name = `adpipe-operator-${run.namespace}`;
  containers.push(
    startContainer(
      name,
      [...HARDENED, '--volume', `${kube}:/etc/kube:ro`, image.tag, 'dist/operator/main.js', '--kubeconfig', '/etc/kube/kubeconfig', '--namespace', run.namespace, '--lease-namespace', run.namespace, '--http-port', String(port)],
      path.join(logs, `${name}.log`),
    ),
  );
  await waitFor('the operator container ready', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 60_000);
  expect(await processIds(name)).toEqual({ uid: 1000, gid: 1000, readOnlyRoot: true });

  const pipeline = run.example(NAME);
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) pipeline.spec.sources![source]!.topic = `${run.namespace}.${NAME}.${source}`;
  pipeline.spec.workers = { ...pipeline.spec.workers, replicas: 1, image: image.tag };
  pipeline.spec.deletionPolicy = 'Delete';
  run.apply(pipeline);
  await run.waitForCondition(NAME, 'TopicsReady', 'True', 120_000);
  await run.waitForCondition(NAME, 'StorageReady', 'True', 120_000);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(run.kubeconfig);
  const held = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: 'adpipe-operator', namespace: run.namespace });
  expect(held.spec?.holderIdentity).toBeTruthy();
  const deployment = await run.apps.readNamespacedDeployment({ name: `adpipe-${NAME}`, namespace: run.namespace });
  expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(image.tag);
}, 300_000);

test('a worker runs from the image with the configuration the operator rendered, as uid 10001 on a read-only root, and answers exactly', async () => {
  const configMap = await run.core.readNamespacedConfigMap({ name: `adpipe-${NAME}`, namespace: run.namespace });
  const configDir = path.join(dir, 'worker');
  fs.mkdirSync(configDir);
  fs.writeFileSync(path.join(configDir, 'pipeline.json'), configMap.data!['pipeline.json']!, { mode: 0o644 });
  const port = await freePort();
  const name = `adpipe-worker-${run.namespace}`;
  // The Deployment's command, user and mount, with the host network standing in for the Pod's.
  const [command, ...args] = WORKER_COMMAND;
  containers.push(
    startContainer(
      name,
      [...HARDENED, '--user', '10001', '--volume', `${configDir}/pipeline.json:/etc/adpipe/pipeline.json:ro`, '--env', `ADPIPE_HTTP_PORT=${port}`, '--entrypoint', JSON.stringify([command]), image.tag, ...args],
      path.join(logs, `${name}.log`),
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the worker container ready', async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined), 120_000);
  expect(await processIds(name)).toEqual({ uid: 10001, gid: 0, readOnlyRoot: true });

  const setDir = path.join(dir, 'set');
  writeGeneratedDirectory(setDir, { seed: 19, impressions: 400 });
  const expected = JSON.parse(fs.readFileSync(path.join(setDir, 'expected.json'), 'utf8')) as Expected;
  const kafka = new Kafka({ clientId: 'adpipe-image-test', brokers: [stack().kafka.bootstrap], logLevel: logLevel.WARN });
  const sources = (await run.get(NAME))!.spec.sources!;
  await produceDirectory(setDir, { kafka, topics: { bidRequests: sources.bidRequests!.topic!, impressions: sources.impressions!.topic!, clicks: sources.clicks!.topic!, conversions: sources.conversions!.topic! } });
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 180_000, 1000);
  expect((await settledComparison(url, expected, 120_000)).mismatches).toEqual([]);
}, 420_000);

test('without podman, building the image fails with a message that names what to install', async () => {
  const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [path.join(REPO_ROOT, 'dist', 'e2e', 'image', 'main.js')], { env: { PATH: dir, HOME: os.homedir(), ADPIPE_NO_APT: '1' } }, (error, _stdout, stderr) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stderr }),
    ),
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('podman, runc are not installed (needed to build and run the adpipe image)');
  expect(result.stderr).toContain('apt-get install --no-install-recommends podman runc mmdebstrap');
});
