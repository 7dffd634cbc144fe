import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { pino } from 'pino';
import { CRD_NAME } from '../api/v1alpha1/index.js';
import { httpGet, startApiserver } from '../e2e/stack/components/kubernetes.js';
import { obtainKubernetes } from '../e2e/stack/obtain.js';
import { REPO_ROOT } from '../e2e/stack/paths.js';
import { freePort } from '../e2e/stack/ports.js';
import { stopProcess } from '../e2e/stack/proc.js';
import { eventually, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { startOperator, type Operator } from './operator.js';

/**
 * An operator started where the AdPipeline CRD is not installed says so plainly (log, readiness,
 * metric) and picks the CRD up once it is applied. The shared cluster has the CRD, so this test
 * starts a second kube-apiserver with its own key space in the stack's etcd: an empty cluster.
 */

const run = promisify(execFile);
const prefix = `/${uniqueName('adpipe-crd-missing')}`;
let apiserverPid: number | undefined;
let operator: Operator | undefined;
let kubeconfig = '';
const lines: string[] = [];

beforeAll(async () => {
  const kube = await obtainKubernetes(() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-apiserver-'));
  const port = await freePort();
  const api = await startApiserver(kube.dir, dir, { etcd: stack().kube.etcdPort, etcdPeer: 0, apiserver: port, controllerManager: 0 }, path.join(dir, 'apiserver.log'), { etcdPrefix: prefix });
  apiserverPid = api.pid;
  kubeconfig = api.kubeconfig;
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await stopProcess(apiserverPid);
  // The private cluster's keys go with it.
  const key = Buffer.from(prefix).toString('base64');
  const end = Buffer.from(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)).toString('base64');
  await fetch(`http://127.0.0.1:${stack().kube.etcdPort}/v3/kv/deleterange`, { method: 'POST', body: JSON.stringify({ key, range_end: end }) }).catch(() => undefined);
});

test('without the CRD the operator names it in its log, readiness and metric, and picks it up once applied', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  operator = await startOperator({ kubeConfig: kc, leaderElection: false, httpPort: 0, log });
  const url = (p: string) => `http://127.0.0.1:${operator!.port}${p}`;

  const notReady = await eventually('readiness to name the missing CRD', async () => {
    const ready = await httpGet(url('/readyz'));
    return ready.status === 503 && ready.body.includes(CRD_NAME) ? ready.body : undefined;
  });
  expect(notReady).toContain('is not installed');
  expect((await httpGet(url('/metrics'))).body).toMatch(/^adpipe_operator_crd_installed 0$/m);
  const missingLines = lines.filter((line) => line.includes(`${CRD_NAME} is not installed`));
  expect(missingLines.length).toBeGreaterThan(0);
  expect(lines.join('')).not.toContain('404 page not found');

  await run(stack().kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', path.join(REPO_ROOT, 'crds', `${CRD_NAME}.yaml`)]);
  await eventually('readiness once the CRD is applied', async () => ((await httpGet(url('/readyz'))).status === 200 ? true : undefined), 60_000);
  expect((await httpGet(url('/metrics'))).body).toMatch(/^adpipe_operator_crd_installed 1$/m);
  expect(lines.some((line) => line.includes(`${CRD_NAME} is installed now`))).toBe(true);
  // One line when it went missing, not one per retry.
  expect(lines.filter((line) => line.includes(`${CRD_NAME} is not installed`)).length).toBe(1);
}, 180_000);
