import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { REPO_ROOT } from '../stack/paths.js';
import { isAlive } from '../stack/proc.js';
import { eventually, kubeConfig, stack, uniqueName } from '../support/stack-clients.js';
import { forwardToPod } from '../../cli/port-forward.js';
import { pkiPaths } from '../stack/pki.js';
import { NodeAgent } from './agent.js';
import { mountTable, processSpec, rewritePath } from './materialize.js';
import { deploymentOf, podUrl, readyPods } from './test-support.js';

// The node agent makes Pods real on the local stack: with kube-controller-manager, a Deployment's
// Pods are bound, run as processes with their ConfigMap files and env, probed, restarted, replaced
// and stopped, and readyReplicas is what the processes say.

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const namespace = uniqueName('agent');
const nodeName = uniqueName('node');
let agent: NodeAgent;

// A tiny "container": serves its config file's content and /healthz on the port the agent gave it;
// exits with code 3 when its config says so (to exercise restarts).
const server = `
const fs = require('fs'); const http = require('http');
const config = fs.readFileSync(process.argv[1], 'utf8');
if (config.includes('crash')) process.exit(3);
http.createServer((req, res) => { res.end(req.url === '/healthz' ? 'ok' : config + '|' + process.env.POD_NAME); })
  .listen(Number(process.env.ADPIPE_HTTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`;

function deployment(name: string, replicas: number, configMap: string): k8s.V1Deployment {
  return deploymentOf(name, replicas, {
    terminationGracePeriodSeconds: 5,
    volumes: [{ name: 'config', configMap: { name: configMap } }],
    containers: [
      {
        name: 'main',
        image: 'adpipe:test',
        command: ['node'],
        args: ['-e', server.replace(/\n/g, ' '), '/etc/demo/config.txt'],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        ports: [{ name: 'http', containerPort: 8080 }],
        volumeMounts: [{ name: 'config', mountPath: '/etc/demo' }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
      },
    ],
  });
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await eventually('the default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined));
  agent = new NodeAgent({ kubeconfig: stack().kube.kubeconfig, nodeName, namespaces: [namespace], dir: fs.mkdtempSync(path.join(os.tmpdir(), 'agent-')), workdir: REPO_ROOT, kubeletTls: kubeletTls(), log: (line) => process.env['AGENT_LOG'] && process.stderr.write(`[agent] ${line}\n`) });
  await agent.start();
});

afterAll(async () => {
  await agent?.stop();
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await core.deleteNode({ name: nodeName }).catch(() => undefined);
});

test('a Deployment becomes ready processes that read their ConfigMap and env; a deleted Pod is replaced; scale to 0 stops them', async () => {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'web-config' }, data: { 'config.txt': 'hello-from-configmap' } } });
  await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2, 'web-config') });
  const node = await core.readNode({ name: nodeName });
  expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

  await eventually('readyReplicas 2', async () => ((await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.readyReplicas === 2 ? true : undefined), 90_000);
  const pods = await readyPods(core, namespace, 'web');
  expect(pods).toHaveLength(2);
  for (const pod of pods) {
    expect(pod.spec?.nodeName).toBe(nodeName);
    expect(await (await fetch(podUrl(pod))).text()).toBe(`hello-from-configmap|${pod.metadata!.name}`);
  }

  const victim = pods[0]!;
  const victimPid = Number(victim.status!.containerStatuses![0]!.containerID!.replace('process://', ''));
  expect(isAlive(victimPid)).toBe(true);
  await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace });
  await eventually('the victim process to exit', async () => (isAlive(victimPid) ? undefined : true), 30_000);
  await eventually('a replacement Pod ready', async () => {
    const ready = await readyPods(core, namespace, 'web');
    return ready.length === 2 && !ready.some((p) => p.metadata!.uid === victim.metadata!.uid) ? true : undefined;
  }, 90_000);

  const pids = (await readyPods(core, namespace, 'web')).map((p) => Number(p.status!.containerStatuses![0]!.containerID!.replace('process://', '')));
  await apps.patchNamespacedDeploymentScale({ name: 'web', namespace, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
  await eventually('every process stopped', async () => (pids.every((pid) => !isAlive(pid)) ? true : undefined), 60_000);
  await eventually('no Pods left', async () => ((await core.listNamespacedPod({ namespace, labelSelector: 'app=web' })).items.length === 0 ? true : undefined), 60_000);
});

test("the API server's pods/portforward reaches a Pod's port through the agent's kubelet endpoint (WebSocket, v4.channel.k8s.io)", async () => {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'fwd-config' }, data: { 'config.txt': 'hello-through-portforward' } } });
  await apps.createNamespacedDeployment({ namespace, body: deployment('fwd', 1, 'fwd-config') });
  const [pod] = await eventually('a ready Pod', async () => ((await readyPods(core, namespace, 'fwd')).length === 1 ? readyPods(core, namespace, 'fwd') : undefined), 90_000);
  const node = await core.readNode({ name: nodeName });
  expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBeGreaterThan(0);
  const forward = await forwardToPod(kc, namespace, pod!.metadata!.name!, 8080);
  let answer = '';
  forward.socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  forward.socket.write('GET / HTTP/1.1\r\nhost: pod\r\nconnection: close\r\n\r\n');
  await eventually('the answer through the tunnel', async () => (answer.includes(`hello-through-portforward|${pod!.metadata!.name}`) ? true : undefined), 30_000);
  forward.close();
  expect(answer.startsWith('HTTP/1.1 200')).toBe(true);
  // A port nothing serves: the error channel says so and the connection ends with that error (as a kubelet).
  const nowhere = await forwardToPod(kc, namespace, pod!.metadata!.name!, 9999);
  const failure = await new Promise<Error>((resolve) => nowhere.socket.on('error', resolve));
  expect(failure.message).toMatch(/port-forward to .*:9999: error forwarding port 9999 to pod .*: no container of the pod serves that port/);
  nowhere.close();
  await apps.deleteNamespacedDeployment({ name: 'fwd', namespace });
});

test('a crashing container is restarted with back-off and reported as CrashLoopBackOff, never Ready', async () => {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'crash-config' }, data: { 'config.txt': 'crash' } } });
  await apps.createNamespacedDeployment({ namespace, body: deployment('crash', 1, 'crash-config') });
  const pod = await eventually('a restarted container', async () => {
    const [p] = (await core.listNamespacedPod({ namespace, labelSelector: 'app=crash' })).items;
    return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
  }, 60_000);
  const status = pod!.status!.containerStatuses![0]!;
  expect(status.ready).toBe(false);
  expect(status.lastState?.terminated?.exitCode).toBe(3);
  await apps.deleteNamespacedDeployment({ name: 'crash', namespace });
});

test('materialize: mounts map to local directories, args and env see local paths, non-adpipe images are refused', () => {
  const container: k8s.V1Container = {
    name: 'c',
    image: 'registry.example/adpipe:0.1.0',
    command: ['node', 'dist/runtime/main.js'],
    args: ['--config', '/etc/adpipe/pipeline.json', '--tls=/etc/adpipe/tls/ca.crt'],
    volumeMounts: [
      { name: 'config', mountPath: '/etc/adpipe' },
      { name: 'tls', mountPath: '/etc/adpipe/tls' },
    ],
  };
  const mounts = mountTable(container, (name) => `/pods/p1/volumes/${name}`);
  expect(rewritePath('/etc/adpipe/tls/ca.crt', mounts)).toBe('/pods/p1/volumes/tls/ca.crt');
  expect(rewritePath('/etc/adpipeX', mounts)).toBe('/etc/adpipeX');
  const spec = processSpec({ metadata: { name: 'p1' } }, container, { configMaps: new Map(), secrets: new Map() }, mounts, { http: 41000 }, '/usr/bin/node');
  expect(spec).toEqual({
    command: '/usr/bin/node',
    args: ['dist/runtime/main.js', '--config', '/pods/p1/volumes/config/pipeline.json', '--tls=/pods/p1/volumes/tls/ca.crt'],
    env: { ADPIPE_HTTP_PORT: '41000' },
  });
  expect(() => processSpec({}, { name: 'x', image: 'nginx:1.27' }, { configMaps: new Map(), secrets: new Map() }, [], {}, 'node')).toThrow(/cannot run on the local node agent/);
});

function kubeletTls(): { cert: string; key: string } {
  const pki = pkiPaths(path.join(stack().dir, 'pki'));
  return { cert: fs.readFileSync(pki.servingCert, 'utf8'), key: fs.readFileSync(pki.servingKey, 'utf8') };
}
