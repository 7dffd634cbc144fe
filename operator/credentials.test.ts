import * as k8s from '@kubernetes/client-node';
import { eventually, kubeConfig, kubectl } from '../e2e/support/stack-clients.js';
import { KubeClient } from './controller/kube.js';
import type { Operator } from './operator.js';
import { CREDENTIALS_LABEL } from './reconcile/credentials.js';
import { applyPipeline, cleanUp, condition, examplePipeline, freshNamespace, getPipeline, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// The confused deputy closed, against the real API server: a Secret named in a spec is used only
// once its owner labels it for adpipe. Until then its data is never read (only its metadata), no
// worker mounts it, and the pipeline is Stalled with a reason that says how to opt in. Its value
// never reaches status or events, before or after.

const PASSWORD = 'sekrit-4f1d9c';
let namespace: string;
let operator: Operator | undefined;
/** Every request the operator's Kubernetes client sends: method, path and what it accepts. */
const requests: { method: string; path: string; accept: string | undefined }[] = [];
const original = KubeClient.prototype.request;

beforeAll(async () => {
  KubeClient.prototype.request = function (this: KubeClient, method: string, path: string, body?: unknown, contentType?: string, accept?: string) {
    requests.push({ method, path, accept });
    return original.call(this, method, path, body, contentType, accept);
  } as typeof original;
  await installCrd();
  namespace = await freshNamespace('creds');
  await kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace, body: { metadata: { name: 'kafka-user' }, stringData: { username: 'adpipe', password: PASSWORD } } });
  operator = await startTestOperator(namespace);
}, 120_000);

afterAll(async () => {
  KubeClient.prototype.request = original;
  await cleanUp(namespace, async () => operator?.stop());
}, 120_000);

test('an unlabelled Secret is never read and holds the pipeline back; labelled, it is used; rotated, the workers roll; its value is never shown', async () => {
  const pipeline = examplePipeline(namespace, 'creds');
  pipeline.spec.kafka.sasl = { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user' } };
  await applyPipeline(pipeline);
  const stalled = await waitForCondition(namespace, 'creds', 'Stalled', 'True', 'SecretNotAllowed');
  expect(condition(stalled, 'TopicsReady')).toMatchObject({ status: 'False', reason: 'SecretNotAllowed' });
  expect(condition(stalled, 'WorkersReady')?.message).toContain(`kubectl label secret kafka-user -n ${namespace} ${CREDENTIALS_LABEL}=kafka`);
  const secretPath = `/api/v1/namespaces/${namespace}/secrets/kafka-user`;
  const secretReads = () => requests.filter((r) => r.path.startsWith(secretPath));
  expect(secretReads().length).toBeGreaterThan(0);
  expect(secretReads().every((r) => r.accept?.includes('as=PartialObjectMetadata'))).toBe(true);
  // No worker Deployment mounts it.
  await expect(kubectl('get', 'deployment', '-n', namespace, '-o', 'name')).resolves.toBe('');

  await kubectl('label', 'secret', 'kafka-user', '-n', namespace, `${CREDENTIALS_LABEL}=kafka`);
  // Opted in: the operator reads it and connects with it (to the PLAINTEXT listener, which refuses
  // SASL; e2e/scenarios/kafka-security.test.ts uses the SASL_SSL one); the workers are rendered with
  // the Secret mounted.
  await eventually('the Secret read and the workers rendered', async () => {
    const p = await getPipeline(namespace, 'creds');
    const full = secretReads().some((r) => !r.accept?.includes('PartialObjectMetadata'));
    const deployments = await kubectl('get', 'deployment', '-n', namespace, '-o', 'name');
    return full && deployments && condition(p, 'TopicsReady')?.reason !== 'SecretNotAllowed' ? true : undefined;
  }, 60_000);
  // Rotation: a new password changes the Secret's version, which rolls the workers that mount it.
  const versionOf = async () => (JSON.parse(await kubectl('get', 'deployment', '-n', namespace, '-o', 'json')) as { items: k8s.V1Deployment[] }).items[0]?.spec?.template.metadata?.annotations?.['adpipe.io/credentials-version'];
  const before = await versionOf();
  expect(before).toMatch(/^[0-9a-f]+$/);
  await kubectl('patch', 'secret', 'kafka-user', '-n', namespace, '--type=merge', '-p', JSON.stringify({ stringData: { password: `${PASSWORD}-2` } }));
  await eventually('the workers rolled for the rotated Secret', async () => ((await versionOf()) !== before ? true : undefined), 60_000);
  const after = await getPipeline(namespace, 'creds');
  expect(condition(after, 'Stalled')?.reason).not.toBe('SecretNotAllowed');
  // Redaction: the value is in no status, event or Deployment.
  const shown = [JSON.stringify(after?.status), await kubectl('get', 'events', '-n', namespace, '-o', 'json'), await kubectl('get', 'deployment', '-n', namespace, '-o', 'json')].join('\n');
  expect(shown).toContain('kafka-user');
  expect(shown).not.toContain(PASSWORD); // and so not the rotated one either
}, 180_000);
