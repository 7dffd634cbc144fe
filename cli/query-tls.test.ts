import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AdPipeline } from '../api/v1alpha1/index.js';
import { issueServingCertificate, pkiPaths } from '../e2e/stack/pki.js';
import { IMAGE_BUILD_TIMEOUT_MS, testImage } from '../e2e/support/image.js';
import { grantQuery, serviceAccountToken, tokenKubeconfig } from '../e2e/support/kube-identities.js';
import { PipelineRun, waitFor } from '../e2e/support/pipeline-run.js';
import { kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { cli } from './test-support.js';

/**
 * The query API over TLS, end to end (decisions 0120, 0122): the workers run as podman containers
 * of the image (their Secret volumes are real mounts), serve HTTPS with a certificate of the
 * stack's CA for their Service name from a Secret that opted in as `query-tls`; `adpipe query`
 * port-forwards through the API server and verifies that certificate inside the tunnel.
 */

const run = new PipelineRun(stack(), uniqueName('cli-tls'));
const NAME = 'tls';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-tls-'));
let caFile: string;
let reader: string;

beforeAll(async () => {
  const image = (await testImage()).tag;
  await run.installCrd();
  await run.ensureNamespace();
  run.startNodeAgent('podman');
  await run.startOperator();
  const tls = await issueServingCertificate(pkiPaths(path.join(stack().dir, 'pki')), path.join(dir, 'tls'), [`adpipe-${NAME}.${run.namespace}.svc`]);
  caFile = path.join(dir, 'ca.crt');
  fs.writeFileSync(caFile, tls.ca);
  await run.core.createNamespacedSecret({
    namespace: run.namespace,
    body: { metadata: { name: 'query-tls', labels: { 'adpipe.io/credentials': 'query-tls' } }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': tls.cert, 'tls.key': tls.key } },
  });
  const pipeline: AdPipeline = run.example(NAME);
  pipeline.spec.query = { auth: 'kubernetes', tls: { secretRef: { name: 'query-tls' } } };
  pipeline.spec.workers = { ...pipeline.spec.workers, replicas: 1, image };
  pipeline.spec.deadLetter = { ...pipeline.spec.deadLetter, topic: `${run.namespace}.${NAME}-dlq` };
  pipeline.spec.deletionPolicy = 'Delete';
  run.apply(pipeline);
  await run.waitForCondition(NAME, 'Ready', 'True', 300_000);
  await grantQuery(run.namespace, NAME, 'reader');
  await kubectl('create', 'role', 'reach-workers', '-n', run.namespace, '--verb=list', '--resource=pods');
  await kubectl('create', 'role', 'forward', '-n', run.namespace, '--verb=get,create', '--resource=pods/portforward');
  for (const role of ['reach-workers', 'forward']) await kubectl('create', 'rolebinding', `${role}-reader`, '-n', run.namespace, `--role=${role}`, `--serviceaccount=${run.namespace}:reader`);
  reader = tokenKubeconfig(dir, 'reader', await serviceAccountToken(run.namespace, 'reader'), run.namespace);
}, IMAGE_BUILD_TIMEOUT_MS + 420_000);

afterAll(async () => {
  await run.tearDown();
  fs.rmSync(dir, { recursive: true, force: true });
}, 240_000);

test('adpipe query speaks TLS to the worker inside the port-forward, verifying its certificate with the given CA', async () => {
  const stats = await waitFor('an answer over TLS', async () => {
    const result = await cli('query', 'stats', '--pipeline', `${run.namespace}/${NAME}`, '--kubeconfig', reader, '--query-ca', caFile, '-o', 'json');
    return result.code === 0 ? result : undefined;
  }, 120_000, 2000);
  expect(JSON.parse(stats.stdout)).toMatchObject({ accepted: { bidRequests: 0, impressions: 0, clicks: 0, conversions: 0 } });
  // Another CA (the worker's certificate cannot be verified): refused, no token sent in clear.
  const otherCa = path.join(dir, 'other-ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'other-ca.key'), '-out', otherCa, '-days', '1', '-subj', '/CN=another-ca'], { stdio: 'ignore' });
  const refused = await cli('query', 'stats', '--pipeline', `${run.namespace}/${NAME}`, '--kubeconfig', reader, '--query-ca', otherCa, '-o', 'json');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/certificate|self.signed|unable to verify/i);
}, 300_000);
