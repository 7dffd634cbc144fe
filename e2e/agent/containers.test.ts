import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { podman } from '../image/podman.js';
import { IMAGE_BUILD_TIMEOUT_MS, testImage } from '../support/image.js';
import { eventually, kubeConfig, stack, uniqueName } from '../support/stack-clients.js';
import { NodeAgent } from './agent.js';
import { AGENT_NODE_LABEL } from './podman-args.js';
import { deploymentOf, podUrl, readyPods } from './test-support.js';

// The node agent's container mode: each Pod's container runs from its image with podman, with its
// volumes mounted, its env, its securityContext enforced by the kernel (user, groups, read-only
// root, no capabilities) and its service account where a kubelet puts it. The container reports
// what it sees from inside; the test compares that with what the Pod asked for.

const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const namespace = uniqueName('agent-podman');
const nodeName = uniqueName('node');
let agent: NodeAgent;
let image: string;

// Serves, on the port the agent gave it, a report of what the container sees; nothing but node.
const reporter = `
const fs = require('fs'); const http = require('http'); const https = require('https');
const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
const whoami = () => new Promise((resolve) => {
  const request = https.request({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', ca: fs.readFileSync(sa + '/ca.crt'),
    headers: { authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8'), 'content-type': 'application/json' } }, (response) => {
    let body = ''; response.on('data', (chunk) => (body += chunk));
    response.on('end', () => { try { resolve(JSON.parse(body).status.userInfo.username); } catch { resolve('HTTP ' + response.statusCode); } });
  });
  request.on('error', (error) => resolve(error.message));
  request.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));
});
http.createServer(async (req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  res.end(JSON.stringify({
    config: fs.readFileSync('/etc/demo/config.txt', 'utf8'), secret: attempt(() => fs.readFileSync('/etc/secret/key')),
    pod: process.env.POD_NAME, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
    capEff: /CapEff:\\s+(\\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1],
    writeRoot: attempt(() => fs.writeFileSync('/app/probe', 'x')), writeScratch: attempt(() => fs.writeFileSync('/scratch/probe', 'x')),
    user: await whoami() }));
}).listen(Number(process.env.ADPIPE_HTTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`;

interface Report {
  config: string;
  secret: string;
  pod: string;
  uid: number;
  gid: number;
  groups: number[];
  capEff: string;
  writeRoot: string;
  writeScratch: string;
  user: string;
}

function deployment(name: string, replicas: number): k8s.V1Deployment {
  return deploymentOf(name, replicas, {
    terminationGracePeriodSeconds: 5,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [
      { name: 'config', configMap: { name: 'web-config' } },
      // 0440: readable by the container only through fsGroup, as on a real node.
      { name: 'secret', secret: { secretName: 'web-secret', defaultMode: 0o440 } },
      { name: 'scratch', emptyDir: {} },
    ],
    containers: [
      {
        name: 'main',
        image,
        command: ['node'],
        args: ['-e', reporter],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [
          { name: 'config', mountPath: '/etc/demo' },
          { name: 'secret', mountPath: '/etc/secret' },
          { name: 'scratch', mountPath: '/scratch' },
        ],
      },
    ],
  });
}

/** Names of the containers this test's agent has in podman. */
async function agentContainers(): Promise<string[]> {
  return (await podman(['ps', '--all', '--format', '{{.Names}}', '--filter', `label=${AGENT_NODE_LABEL}=${nodeName}`])).split('\n').filter(Boolean);
}

beforeAll(async () => {
  image = (await testImage()).tag;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await eventually('the default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace }).catch(() => undefined));
  agent = new NodeAgent({ kubeconfig: stack().kube.kubeconfig, nodeName, namespaces: [namespace], dir: fs.mkdtempSync(path.join(os.tmpdir(), 'agent-podman-')), workdir: '/nonexistent', runtime: 'podman', log: (line) => process.env['AGENT_LOG'] && process.stderr.write(`[agent] ${line}\n`) });
  await agent.start();
}, IMAGE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await agent?.stop();
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  await core.deleteNode({ name: nodeName }).catch(() => undefined);
});

test('a Deployment runs as podman containers of its image, with its volumes, env, securityContext and service account; deletion removes the container', async () => {
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'web-config' }, data: { 'config.txt': 'hello-from-configmap' } } });
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'web-secret' }, stringData: { key: 's3cret' } } });
  await apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });
  await eventually('readyReplicas 2', async () => ((await apps.readNamespacedDeployment({ name: 'web', namespace })).status?.readyReplicas === 2 ? true : undefined), 90_000);
  expect((await core.readNode({ name: nodeName })).status?.nodeInfo?.containerRuntimeVersion).toBe('podman://runc');

  const pods = await readyPods(core, namespace, 'web');
  for (const pod of pods) {
    const containerId = pod.status!.containerStatuses![0]!.containerID!;
    expect(containerId).toMatch(/^podman:\/\/[0-9a-f]{64}$/);
    const [inspected] = JSON.parse(await podman(['container', 'inspect', containerId.slice('podman://'.length)])) as { Image: string; State: { Running: boolean } }[];
    expect(inspected!.State.Running).toBe(true);
    expect(inspected!.Image).toBe((await testImage()).id);
    expect((await (await fetch(podUrl(pod))).json()) as Report).toEqual({
      config: 'hello-from-configmap',
      secret: 'ok',
      pod: pod.metadata!.name,
      uid: 10001,
      gid: 0,
      groups: expect.arrayContaining([2000]) as unknown as number[],
      capEff: '0000000000000000',
      writeRoot: 'EROFS',
      writeScratch: 'ok',
      user: `system:serviceaccount:${namespace}:default`,
    });
  }

  const victim = pods[0]!;
  const victimId = victim.status!.containerStatuses![0]!.containerID!.slice('podman://'.length);
  await core.deleteNamespacedPod({ name: victim.metadata!.name!, namespace });
  await eventually('the victim container to be removed', async () => ((await podman(['ps', '--all', '--quiet', '--no-trunc'])).includes(victimId) ? undefined : true), 30_000);
  await eventually('a replacement Pod ready', async () => {
    const ready = await readyPods(core, namespace, 'web');
    return ready.length === 2 && !ready.some((p) => p.metadata!.uid === victim.metadata!.uid) ? true : undefined;
  }, 90_000);

  await apps.patchNamespacedDeploymentScale({ name: 'web', namespace, body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
  await eventually('every container removed', async () => ((await agentContainers()).length === 0 ? true : undefined), 60_000);
});

test('what a kubelet refuses is reported and never run: root under runAsNonRoot, an image not in local storage', async () => {
  const pod = (name: string, container: Partial<k8s.V1Container>, securityContext: k8s.V1PodSecurityContext = {}): k8s.V1Pod => ({
    metadata: { name },
    spec: { securityContext, containers: [{ name: 'main', image, command: ['node', '-e', 'setInterval(() => {}, 1000)'], ...container }] },
  });
  await core.createNamespacedPod({ namespace, body: pod('as-root', {}, { runAsNonRoot: true, runAsUser: 0 }) });
  await core.createNamespacedPod({ namespace, body: pod('no-image', { image: 'localhost/adpipe:no-such-tag' }) });
  const waiting = async (name: string) => {
    const state = (await core.readNamespacedPod({ name, namespace })).status?.containerStatuses?.[0]?.state?.waiting;
    return state?.reason === 'ContainerCreating' ? undefined : state;
  };
  const asRoot = await eventually('as-root reported', () => waiting('as-root'), 30_000);
  expect(asRoot).toEqual({ reason: 'CreateContainerConfigError', message: `container's runAsUser breaks non-root policy (pod: "as-root", container: main)` });
  const noImage = await eventually('no-image reported', () => waiting('no-image'), 30_000);
  expect(noImage?.reason).toBe('ErrImageNeverPull');
  expect(noImage?.message).toContain('localhost/adpipe:no-such-tag');
  expect(await agentContainers()).toEqual([]);
});
