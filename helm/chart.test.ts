import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { NodeAgent } from '../e2e/agent/agent.js';
import { obtainHelm } from '../e2e/stack/obtain.js';
import { REPO_ROOT } from '../e2e/stack/paths.js';
import { eventually, kubeConfig, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { renderRuntimeConfig } from '../operator/render/runtime-config.js';
import { renderWorkers } from '../operator/render/workers.js';
import { applyPipeline, examplePipeline, getPipeline, installCrd, waitForCondition } from '../operator/test-support.js';

// The Helm chart, checked the way a platform team would meet it: `helm lint`, `helm template`, the
// rendered manifests accepted by the real API server (server-side dry run, Pod Security
// "restricted"), and the operator started from the chart — its exact Deployment command, as a Pod
// run by the node agent with the chart's ServiceAccount token — reconciling the example, which
// proves the RBAC is enough; `auth can-i` proves it is no broader.

const run = promisify(execFile);
const chart = path.join(REPO_ROOT, 'helm', 'adpipe-operator');
let helm: string;

async function template(release: string, namespace: string, ...sets: string[]): Promise<k8s.KubernetesObject[]> {
  const { stdout } = await run(helm, ['template', release, chart, '--namespace', namespace, '--kube-version', '1.36.3', ...sets.flatMap((s) => ['--set', s])]);
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as k8s.KubernetesObject).filter(Boolean);
}

async function applyManifests(objects: k8s.KubernetesObject[], ...flags: string[]): Promise<string> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chart-')), 'rendered.yaml');
  fs.writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return kubectl('apply', '--server-side', '--field-manager=helm-test', ...flags, '-f', file);
}

beforeAll(async () => {
  helm = path.join((await obtainHelm(() => undefined)).dir, 'helm');
  await installCrd();
}, 900_000);

test('helm lint --strict is clean, with defaults and with every option on', async () => {
  for (const sets of [[], ['watchNamespace=ads', 'metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'metrics.podMonitor.enabled=true', 'metrics.dashboard.enabled=true', 'metrics.prometheusUrl=http://prometheus.monitoring:9090', 'leaderElection.enabled=false', 'kafka.adminConfigSecret=kafka-operator', 'kafka.aclAdminConfigSecret=kafka-acl-admin']]) {
    const { stdout } = await run(helm, ['lint', '--strict', chart, ...sets.flatMap((s) => ['--set', s])]);
    expect(stdout).toContain('0 chart(s) failed');
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  }
});

test('values.schema.json refuses a bad value with a message', async () => {
  await expect(run(helm, ['template', 'x', chart, '--kube-version', '1.36.3', '--set', 'replicaCount=0'])).rejects.toThrow(/replicaCount.*minimum|must be >= 1/);
  await expect(run(helm, ['template', 'x', chart, '--kube-version', '1.36.3', '--set', 'logLevel=loud'])).rejects.toThrow(/logLevel/);
});

test('rendered manifests: cluster-wide by default, namespaced only with watchNamespace; accepted by the API server (server-side dry run)', async () => {
  const namespace = uniqueName('adpipe-system');
  await kubectl('create', 'namespace', namespace);
  const clusterWide = await template('adpipe', namespace);
  expect(clusterWide.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
  const scoped = await template('adpipe', namespace, 'watchNamespace=ads', 'metrics.prometheusRule.enabled=true');
  // Namespaced mode: the only cluster-scoped objects are the query reviewers' binding and the right to keep its subjects (decision 0121).
  expect(scoped.filter((o) => o.kind?.startsWith('Cluster')).map((o) => o.metadata?.name).sort()).toEqual(['adpipe-adpipe-operator-query-reviewers', 'adpipe-adpipe-operator-query-reviewers-manager', 'adpipe-adpipe-operator-query-reviewers-manager']);
  expect(scoped.filter((o) => o.kind === 'Role').map((o) => o.metadata?.namespace).sort()).toEqual(['ads', namespace].sort());
  expect(scoped.find((o) => o.kind === 'PrometheusRule')).toBeDefined();
  // Monitoring: the rule file as it is (runbook links rebased), a PodMonitor for the workers, the dashboard ConfigMap, the operator told where Prometheus is.
  const monitored = await template('adpipe', namespace, 'metrics.prometheusRule.enabled=true', 'metrics.podMonitor.enabled=true', 'metrics.dashboard.enabled=true', 'metrics.runbookBaseUrl=https://wiki.example/adpipe', 'metrics.prometheusUrl=http://prometheus.monitoring:9090');
  const rule = monitored.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: { rules: { annotations: Record<string, string> }[] }[] } };
  for (const r of rule.spec.groups.flatMap((g) => g.rules)) expect(r.annotations['runbook_url']).toMatch(/^https:\/\/wiki\.example\/adpipe#adpipe/);
  expect(monitored.find((o) => o.kind === 'PodMonitor')).toBeDefined();
  const dashboard = monitored.find((o) => o.kind === 'ConfigMap' && o.metadata?.name?.endsWith('-dashboard')) as k8s.V1ConfigMap;
  expect(dashboard.metadata?.labels?.['grafana_dashboard']).toBe('1');
  expect((JSON.parse(dashboard.data!['adpipe-data-health.json']!) as { panels: unknown[] }).panels.length).toBeGreaterThanOrEqual(8);
  const args = (monitored.find((o) => o.kind === 'Deployment') as k8s.V1Deployment).spec!.template.spec!.containers[0]!.args!;
  expect(args.join(' ')).toContain('--prometheus-url http://prometheus.monitoring:9090 --health-interval-ms 30000');

  // The operator's own Kafka identities (decision 0115, 0111): each a Secret's client.properties, mounted read-only and named in the arguments.
  const identities = (await template('adpipe', namespace, 'kafka.adminConfigSecret=kafka-operator', 'kafka.aclAdminConfigSecret=kafka-acl-admin')).find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
  const container = identities.spec!.template.spec!.containers[0]!;
  expect(container.args!.join(' ')).toContain('--kafka-admin-config /etc/adpipe/kafka-admin/client.properties --kafka-acl-admin-config /etc/adpipe/kafka-acl-admin/client.properties');
  expect(container.volumeMounts).toEqual([{ name: 'kafka-admin', mountPath: '/etc/adpipe/kafka-admin', readOnly: true }, { name: 'kafka-acl-admin', mountPath: '/etc/adpipe/kafka-acl-admin', readOnly: true }]);
  expect(identities.spec!.template.spec!.volumes).toEqual([{ name: 'kafka-admin', secret: { secretName: 'kafka-operator', defaultMode: 0o440 } }, { name: 'kafka-acl-admin', secret: { secretName: 'kafka-acl-admin', defaultMode: 0o440 } }]);
  expect(await applyManifests([identities], '--dry-run=server')).toContain('serverside-applied (server dry run)');
  expect((clusterWide.find((o) => o.kind === 'Deployment') as k8s.V1Deployment).spec!.template.spec!.volumes).toBeUndefined();

  // The optional NetworkPolicy: ingress to the operator Pods only on the metrics port, from the listed peers; accepted by the API server.
  const fenced = await template('adpipe', namespace, 'networkPolicy.enabled=true', 'networkPolicy.from[0].namespaceSelector.matchLabels.team=monitoring');
  const policy = fenced.find((o) => o.kind === 'NetworkPolicy') as k8s.V1NetworkPolicy;
  expect(policy.spec).toEqual({
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'adpipe-operator', 'app.kubernetes.io/instance': 'adpipe' } },
    policyTypes: ['Ingress'],
    ingress: [{ ports: [{ protocol: 'TCP', port: 8081 }], from: [{ namespaceSelector: { matchLabels: { team: 'monitoring' } } }] }],
  });
  expect(await applyManifests([policy], '--dry-run=server')).toContain('serverside-applied (server dry run)');
  expect((await template('adpipe', namespace)).some((o) => o.kind === 'NetworkPolicy')).toBe(false);

  const out = await applyManifests(clusterWide, '--dry-run=server');
  expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(clusterWide.length);
  await kubectl('delete', 'namespace', namespace, '--wait=false');
});

test('the operator Pod passes Pod Security "restricted" (and a Pod without the securityContext does not)', async () => {
  const namespace = uniqueName('restricted');
  await kubectl('create', 'namespace', namespace);
  await kubectl('label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted');
  const deployment = (await template('adpipe', namespace)).find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'operator', namespace }, spec: { ...deployment.spec!.template.spec!, serviceAccountName: 'default' } };
  await expect(applyManifests([pod], '--dry-run=server')).resolves.toContain('serverside-applied (server dry run)');
  const loose = { ...pod, spec: { ...pod.spec, securityContext: {}, containers: pod.spec.containers.map((c) => ({ ...c, securityContext: {} })) } };
  await expect(applyManifests([loose], '--dry-run=server')).rejects.toThrow(/violates PodSecurity "restricted/);
  await kubectl('delete', 'namespace', namespace, '--wait=false');
});

test('the worker Pod the operator renders passes Pod Security "restricted", with Kafka TLS and SASL Secrets mounted', async () => {
  const namespace = uniqueName('restricted-workers');
  await kubectl('create', 'namespace', namespace);
  await kubectl('label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted');
  const example = examplePipeline(namespace, 'secure');
  const pipeline: AdPipeline = { ...example, metadata: { ...example.metadata, uid: 'u-1', generation: 1 }, spec: { ...example.spec, kafka: { ...example.spec.kafka, tls: { enabled: true, caSecretRef: { name: 'kafka-ca', key: 'ca.crt' } }, sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user' } } } } };
  const { deployment } = renderWorkers(pipeline, renderRuntimeConfig(pipeline));
  const spec = deployment.spec!.template.spec!;
  // The Secret files are 0440: readable by the worker's user only through the group they get.
  expect(spec.volumes!.filter((v) => v.secret).map((v) => v.secret!.defaultMode)).toEqual([0o440, 0o440]);
  expect(spec.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001 });
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'worker', namespace }, spec: { ...spec, serviceAccountName: 'default' } };
  await expect(applyManifests([pod], '--dry-run=server')).resolves.toContain('serverside-applied (server dry run)');
  await kubectl('delete', 'namespace', namespace, '--wait=false');
});

describe('the operator installed by the chart, running as its ServiceAccount', () => {
  const release = uniqueName('adpipe-system');
  const watched = uniqueName('ads');
  const sa = `system:serviceaccount:${release}:adpipe-adpipe-operator`;
  let agent: NodeAgent;
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig().makeApiClient(k8s.AppsV1Api);

  beforeAll(async () => {
    await kubectl('create', 'namespace', release);
    await kubectl('create', 'namespace', watched);
    await eventually('service accounts', async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: release }).catch(() => undefined)) && true);
    // The chart exactly as rendered; its image is this repository's build, run by the node agent.
    await applyManifests(await template('adpipe', release, `watchNamespace=${watched}`, 'image.tag=0.1.0'));
    agent = new NodeAgent({ kubeconfig: stack().kube.kubeconfig, nodeName: uniqueName('node'), namespaces: [release], dir: fs.mkdtempSync(path.join(os.tmpdir(), 'chart-agent-')), workdir: REPO_ROOT });
    await agent.start();
  }, 120_000);

  afterAll(async () => {
    await kubectl('delete', 'adp', '--all', '-n', watched, '--wait=true', '--timeout=90s').catch(() => undefined);
    await agent?.stop();
    await kubectl('delete', 'namespace', release, watched, '--wait=false').catch(() => undefined);
    await kubectl('delete', 'clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/instance=adpipe', '--ignore-not-found').catch(() => undefined);
  });

  test('both replicas become ready, one holds the Lease, and the leader reconciles the example to Ready', async () => {
    await eventually('the operator Deployment 2/2 ready', async () => ((await apps.readNamespacedDeployment({ name: 'adpipe-adpipe-operator', namespace: release })).status?.readyReplicas === 2 ? true : undefined), 120_000);
    const lease = JSON.parse(await kubectl('get', 'lease', 'adpipe-adpipe-operator', '-n', release, '-o', 'json')) as { spec: { holderIdentity?: string } };
    expect(lease.spec.holderIdentity).toMatch(/^adpipe-adpipe-operator-/);

    const pipeline = examplePipeline(watched, 'rbac');
    pipeline.spec.workers = { ...pipeline.spec.workers, replicas: 0 };
    pipeline.spec.deletionPolicy = 'Delete';
    await applyPipeline(pipeline);
    const ready = await waitForCondition(watched, 'rbac', 'Ready', 'True', undefined, 120_000);
    expect(ready.status?.topics?.length).toBe(6);
    // query.auth kubernetes (the default): the workers' ServiceAccount may review callers, through the chart's one binding.
    const reviewers = async () => (JSON.parse(await kubectl('get', 'clusterrolebinding', 'adpipe-adpipe-operator-query-reviewers', '-o', 'json')) as k8s.V1ClusterRoleBinding).subjects ?? [];
    expect(await reviewers()).toEqual([{ kind: 'ServiceAccount', name: 'adpipe-rbac', namespace: watched }]);
    expect((await kubectl('auth', 'can-i', 'create', 'subjectaccessreviews', '--as', `system:serviceaccount:${watched}:adpipe-rbac`)).trim()).toBe('yes');
    for (const kind of ['configmap', 'deployment', 'service', 'serviceaccount']) expect(await kubectl('get', kind, '-n', watched, '-l', 'adpipe.io/pipeline=rbac', '-o', 'name')).not.toBe('');

    await kubectl('delete', 'adp', 'rbac', '-n', watched, '--wait=true', '--timeout=90s');
    expect(await getPipeline(watched, 'rbac')).toBeUndefined();
    await eventually('the deleted pipeline\'s workers out of the reviewers', async () => ((await reviewers()).length === 0 ? true : undefined), 30_000);
  });

  test('the ServiceAccount can do what the operator needs and nothing broader', async () => {
    const can = async (...args: string[]) => (await kubectl('auth', 'can-i', '--as', sa, ...args).catch((e: { stdout?: string }) => e.stdout ?? '')).trim();
    expect(await can('patch', 'adpipelines/status', '-n', watched)).toBe('yes');
    expect(await can('create', 'deployments', '-n', watched)).toBe('yes');
    expect(await can('get', 'secrets', '-n', watched)).toBe('yes');
    expect(await can('update', 'leases', '-n', release)).toBe('yes');
    expect(await can('list', 'secrets', '-n', watched)).toBe('no');
    expect(await can('create', 'secrets', '-n', watched)).toBe('no');
    expect(await can('get', 'configmaps', '-n', 'default')).toBe('no');
    expect(await can('create', 'deployments', '-n', 'default')).toBe('no');
    expect(await can('update', 'leases', '-n', watched)).toBe('no');
    expect(await can('delete', 'nodes')).toBe('no');
    expect(await can('create', 'pods', '-n', watched)).toBe('no');
    // RBAC: the subjects of one binding to system:auth-delegator, nothing else.
    expect(await can('patch', 'clusterrolebinding/adpipe-adpipe-operator-query-reviewers')).toBe('yes');
    expect(await can('patch', 'clusterrolebinding/cluster-admin')).toBe('no');
    expect(await can('create', 'clusterrolebindings')).toBe('no');
    expect(await can('create', 'rolebindings', '-n', watched)).toBe('no');
    expect(await can('bind', 'clusterrole/system:auth-delegator')).toBe('yes');
    expect(await can('bind', 'clusterrole/cluster-admin')).toBe('no');
  });
});
