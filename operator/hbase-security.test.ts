import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import { HBaseClient } from '../hbase/index.js';
import { eventually, hbaseTls, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import type { Operator } from './operator.js';
import { hbaseTableAdmins } from './reconcile/hbase-admin.js';
import { CREDENTIALS_LABEL } from './reconcile/credentials.js';
import { applyPipeline, condition, cleanUp, examplePipeline, freshNamespace, installCrd, startTestOperator, waitForCondition } from './test-support.js';

// The operator's table admin over mutual TLS to the stack's real HBase, with the CA and client
// certificate from Secrets that opt in (adpipe.io/credentials=hbase), creating a table whose
// families are encrypted at rest (spec.storage.encryption: AES). Decisions 0130, 0132.

const run = promisify(execFile);
let namespace: string;
let operator: Operator;
let hbase: HBaseClient;

async function secretFromFiles(name: string, type: string, files: Record<string, string>): Promise<void> {
  const args = Object.entries(files).map(([key, file]) => `--from-file=${key}=${file}`);
  await kubectl('create', 'secret', 'generic', name, '-n', namespace, `--type=${type}`, ...args);
}

beforeAll(async () => {
  await installCrd();
  namespace = await freshNamespace('hbsec');
  hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum, tls: hbaseTls() });
  const tls = stack().hbase.tls;
  await secretFromFiles('hbase-ca', 'Opaque', { 'ca.crt': tls.caFile });
  await secretFromFiles('hbase-client', 'kubernetes.io/tls', { 'tls.crt': tls.clientCertFile, 'tls.key': tls.clientKeyFile });
  operator = await startTestOperator(namespace, { tables: hbaseTableAdmins() });
}, 120_000);

afterAll(async () => {
  await cleanUp(namespace, async () => operator?.stop());
  hbase?.close();
}, 120_000);

test('TLS Secrets that did not opt in hold the table back; labelled, the table is created over mutual TLS with encrypted families; workers mount them', async () => {
  const name = uniqueName('enc');
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.workers!.replicas = 0;
  pipeline.spec.deletionPolicy = 'Delete';
  pipeline.spec.hbase.tls = { enabled: true, caSecretRef: { name: 'hbase-ca' }, clientCertSecretRef: { name: 'hbase-client' } };
  pipeline.spec.storage = { ...pipeline.spec.storage, encryption: 'AES' };
  await applyPipeline(pipeline);
  const table = `adpipe_${namespace}_${name}`;
  const stalled = await waitForCondition(namespace, name, 'StorageReady', 'False', 'SecretNotAllowed', 90_000);
  expect(condition(stalled, 'StorageReady')?.message).toContain(`${CREDENTIALS_LABEL}=hbase`);
  expect(await hbase.admin.tableExists(table)).toBe(false);

  await kubectl('label', 'secret', 'hbase-ca', 'hbase-client', '-n', namespace, `${CREDENTIALS_LABEL}=hbase`);
  const ready = await waitForCondition(namespace, name, 'StorageReady', 'True', 'TableReady', 90_000);
  expect(ready.status?.table).toBe(table);
  const families = (await hbase.admin.describeTable(table))!.families;
  expect(families.map((family) => [family.name, family.encryption]).sort()).toEqual([['a', 'AES'], ['d', 'AES'], ['s', 'AES']]);

  // The workers get the same Secrets mounted and the files named in their config.
  const deployment = JSON.parse(await kubectl('get', 'deployment', `adpipe-${name}`, '-n', namespace, '-o', 'json')) as k8s.V1Deployment;
  const secrets = (deployment.spec?.template.spec?.volumes ?? []).map((volume) => volume.secret?.secretName).filter(Boolean);
  expect(secrets).toEqual(expect.arrayContaining(['hbase-ca', 'hbase-client']));
  const configMap = JSON.parse(await kubectl('get', 'configmap', `adpipe-${name}`, '-n', namespace, '-o', 'json')) as k8s.V1ConfigMap;
  const config = JSON.parse(Object.values(configMap.data ?? {})[0]!) as { hbase: { tls?: unknown } };
  expect(config.hbase.tls).toEqual({ caFile: '/etc/adpipe/secrets/hbase-ca/ca.crt', certFile: '/etc/adpipe/secrets/hbase-client/tls.crt', keyFile: '/etc/adpipe/secrets/hbase-client/tls.key' });

  // A renewed client certificate (same content re-issued here) rolls the workers that mount it.
  const versionOf = async () =>
    (JSON.parse(await kubectl('get', 'deployment', `adpipe-${name}`, '-n', namespace, '-o', 'json')) as k8s.V1Deployment).spec?.template.metadata?.annotations?.['adpipe.io/credentials-version'];
  const before = await versionOf();
  expect(before).toMatch(/^[0-9a-f]+$/);
  await kubectl('annotate', 'secret', 'hbase-client', '-n', namespace, `adpipe.test/renewed=${Date.now()}`);
  await eventually('the workers rolled for the renewed certificate', async () => ((await versionOf()) !== before ? true : undefined), 60_000);
  await waitForCondition(namespace, name, 'StorageReady', 'True', 'TableReady', 60_000);
}, 240_000);

test('a CA that does not vouch for HBase gives StorageReady=False with reason HBaseTLSFailed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-other-ca-'));
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=not-the-stack-ca']);
  await secretFromFiles('other-ca', 'Opaque', { 'ca.crt': path.join(dir, 'ca.crt') });
  await kubectl('label', 'secret', 'other-ca', '-n', namespace, `${CREDENTIALS_LABEL}=hbase`);
  fs.rmSync(dir, { recursive: true, force: true });
  const name = uniqueName('badca');
  const pipeline = examplePipeline(namespace, name);
  pipeline.spec.workers!.replicas = 0;
  pipeline.spec.hbase.tls = { enabled: true, caSecretRef: { name: 'other-ca' }, clientCertSecretRef: { name: 'hbase-client' } };
  await applyPipeline(pipeline);
  const failed = await waitForCondition(namespace, name, 'StorageReady', 'False', 'HBaseTLSFailed', 90_000);
  expect(condition(failed, 'StorageReady')?.message).toMatch(/TLS to HBase failed .*unable to get local issuer certificate|TLS to HBase failed .*certificate/i);
}, 180_000);
