import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Kafka, logLevel } from 'kafkajs';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { writeGeneratedDirectory, type Expected } from '../generator/index.js';
import { produceDirectory } from '../producer/index.js';
import { serviceAccountToken, tokenKubeconfig } from '../e2e/support/kube-identities.js';
import { PipelineRun, waitFor } from '../e2e/support/pipeline-run.js';
import { kubeConfig, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { cli } from './test-support.js';

/**
 * `adpipe query` from a laptop against a pipeline whose query API authenticates callers (issue 16,
 * issue 18; decisions 0120–0122): the CLI port-forwards through the real API server
 * (pods/portforward, reaching the node agent's kubelet endpoint) to a worker Pod the operator
 * runs, and sends the person's bearer token; the worker reviews it with the API server.
 */

const run = new PipelineRun(stack(), uniqueName('cli-auth'));
const NAME = 'secured';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-auth-'));
const rbac = () => kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
let expected: Expected;
let readerKubeconfig: string;
let strangerKubeconfig: string;

/** The query Role of docs/security.md: query this pipeline, find its worker Pods and port-forward to them. */
async function grantRole(role: string, rules: k8s.V1PolicyRule[], serviceAccount: string): Promise<void> {
  await rbac().createNamespacedRole({ namespace: run.namespace, body: { metadata: { name: role }, rules } });
  await rbac().createNamespacedRoleBinding({
    namespace: run.namespace,
    body: { metadata: { name: `${role}-${serviceAccount}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: run.namespace }] },
  });
}
const REACH_WORKERS: k8s.V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  { apiGroups: [''], resources: ['pods/portforward'], verbs: ['get', 'create'] },
];

const query = (kubeconfig: string, ...args: string[]) => cli('query', ...args, '--pipeline', `${run.namespace}/${NAME}`, '--kubeconfig', kubeconfig, '-o', 'json');

beforeAll(async () => {
  await run.installCrd();
  await run.ensureNamespace();
  run.startNodeAgent();
  await run.startOperator();

  // TLS is off here: the agent's process Pods see Secret volumes only at paths rewritten in args and
  // env, not inside the rendered config file; cli/query-tls.test.ts runs TLS with podman containers.
  const pipeline: AdPipeline = run.example(NAME);
  pipeline.spec.query = { auth: 'kubernetes' };
  pipeline.spec.workers = { ...pipeline.spec.workers, replicas: 1 };
  pipeline.spec.deadLetter = { ...pipeline.spec.deadLetter, topic: `${run.namespace}.${NAME}-dlq` };
  pipeline.spec.deletionPolicy = 'Delete';
  run.apply(pipeline);
  const ready = await run.waitForCondition(NAME, 'Ready', 'True', 240_000);

  writeGeneratedDirectory(path.join(dir, 'set'), { seed: 16, impressions: 400 });
  expected = JSON.parse(fs.readFileSync(path.join(dir, 'set', 'expected.json'), 'utf8')) as Expected;
  const names = ready.status!.topicNames!;
  await produceDirectory(path.join(dir, 'set'), {
    kafka: new Kafka({ clientId: 'cli-auth', brokers: [stack().kafka.bootstrap], logLevel: logLevel.WARN }),
    topics: { bidRequests: names.bidRequests!, impressions: names.impressions!, clicks: names.clicks!, conversions: names.conversions! },
  });

  await grantRole('query-secured', [{ apiGroups: ['adpipe.io'], resources: ['adpipelines/query'], resourceNames: [NAME], verbs: ['get'] }, ...REACH_WORKERS], 'reader');
  await grantRole('reach-workers', REACH_WORKERS, 'stranger');
  readerKubeconfig = tokenKubeconfig(dir, 'reader', await serviceAccountToken(run.namespace, 'reader'), run.namespace);
  strangerKubeconfig = tokenKubeconfig(dir, 'stranger', await serviceAccountToken(run.namespace, 'stranger'), run.namespace);
}, 420_000);

afterAll(async () => {
  await run.tearDown();
  fs.rmSync(dir, { recursive: true, force: true });
}, 240_000);

test('with the query Role, the CLI gets exactly the ground truth through the port-forward, as the person', async () => {
  await waitFor('every record processed', async () => {
    const result = await query(readerKubeconfig, 'stats');
    return result.code === 0 && JSON.stringify(JSON.parse(result.stdout)) === JSON.stringify(expected.stats) ? true : undefined;
  }, 240_000, 2000);
  const stats = await query(readerKubeconfig, 'stats');
  expect(stats).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(stats.stdout)).toEqual(expected.stats);
  const first = expected.queries[0]!;
  const args = ['--campaign', first.query.campaign_id, '--from', first.query.from, '--to', first.query.to, '--granularity', first.query.granularity, ...(first.query.by ? ['--by', first.query.by] : [])];
  const performance = await query(readerKubeconfig, 'performance', ...args);
  expect(performance.stderr).toBe('');
  expect(JSON.parse(performance.stdout)).toEqual(first.response);
  // The namespace comes from the kubeconfig context (the reader's is the run's namespace).
  const campaigns = await cli('query', 'campaigns', '--pipeline', NAME, '--kubeconfig', readerKubeconfig, '-o', 'json');
  expect(campaigns.code).toBe(0);
  expect((JSON.parse(campaigns.stdout) as { campaigns: string[] }).campaigns).toContain(first.query.campaign_id);
}, 300_000);

test('without the Role: a clear 403 from the worker naming who and what is missing', async () => {
  const result = await query(strangerKubeconfig, 'stats');
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`system:serviceaccount:${run.namespace}:stranger may not get adpipelines/query (adpipe.io) of AdPipeline ${run.namespace}/${NAME}`);
});

test('a kubeconfig with a client certificate only: the CLI says the query API needs a token', async () => {
  const result = await query(run.kubeconfig, 'stats');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('authenticates callers with a bearer token, and your kubeconfig\'s user has none');
  // --token supplies one: the reader's token works with the admin's kubeconfig.
  const token = await serviceAccountToken(run.namespace, 'reader');
  const withToken = await query(run.kubeconfig, 'stats', '--token', token);
  expect(JSON.parse(withToken.stdout)).toEqual(expected.stats);
});
