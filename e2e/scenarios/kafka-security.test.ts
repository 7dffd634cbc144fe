import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, ResourcePatternTypes } from 'kafkajs';
import path from 'node:path';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { writeGeneratedDirectory, type Expected } from '../../generator/index.js';
import { produceDirectory } from '../../producer/index.js';
import { pipelineAcls, toKafkajsAcls } from '../../operator/render/acls.js';
import { CREDENTIALS_LABEL } from '../../operator/reconcile/credentials.js';
import { CREDENTIALS_VERSION_ANNOTATION } from '../../operator/render/names.js';
import { REPO_ROOT } from '../stack/paths.js';
import { getJson, PipelineRun, settledComparison, statsCaughtUp, waitFor, type Stats } from '../support/pipeline-run.js';
import { kafka as plaintextKafka, saslKafka, setScramPassword, stack, uniqueName } from '../support/stack-clients.js';

// Kafka security end to end on the stack's SASL_SSL listener (SCRAM-SHA-512, the broker's
// certificate from the stack CA, StandardAuthorizer): the operator (its own principal, from
// --kafka-admin-config), the workers (the pipeline's Secret) and `adpipe produce` all go through it,
// each principal holding only its role's ACLs (operator/render/acls.ts). The workers' SCRAM
// password is rotated on the broker mid-stream and its Secret updated: the workers roll, the
// operator's access check follows, the totals stay exact. A wrong password, a missing ACL and an
// untrusted certificate each get their own reason and one Warning, retried with backoff; no Secret
// value appears in status, events or the operator's log.

const run = new PipelineRun(stack(), uniqueName('kafkasec'));
const sasl = stack().kafka.sasl;
/** A user of this run, so rotating its password touches nothing else on the stack. */
const USER = `pipeline-${run.namespace.slice(-8)}`;
const FIRST_PASSWORD = `first-${crypto.randomBytes(8).toString('hex')}`;
const ROTATED_PASSWORD = `rotated-${crypto.randomBytes(8).toString('hex')}`;
const admin = plaintextKafka('adpipe-e2e-kafkasec').admin();
const GRANTED_USER = `granted-${run.namespace.slice(-8)}`;
/** The operator's own principal: it manages the topics; the pipelines' Secrets are the workers'. */
const OPERATOR_USER = `operator-${run.namespace.slice(-8)}`;
const OPERATOR_PASSWORD = `operator-${crypto.randomBytes(8).toString('hex')}`;
/** The operator's principal is granted the operator role on these pipelines (not on `noacl`). */
const PIPELINES = ['secure', 'granted', 'wrongpw', 'untrusted'];

function pipeline(name: string, change: (p: AdPipeline) => void = () => undefined): AdPipeline {
  const p = run.example(name);
  p.spec.kafka = { bootstrapServers: [sasl.bootstrap], tls: { enabled: true, caSecretRef: { name: 'kafka-ca' } }, sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user' } } };
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) p.spec.sources![source]!.partitions = 2;
  p.spec.workers = { ...p.spec.workers, replicas: 1 };
  // Outside the derived prefix, so the ACLs name it literally (as a user-chosen topic would be).
  p.spec.deadLetter = { ...p.spec.deadLetter, topic: `${run.namespace}.${name}-dlq` };
  p.spec.deletionPolicy = 'Delete';
  change(p);
  return p;
}

/** The Kafka error type a call was refused with (kafkajs nests them in `errors` for batch calls). */
async function refusalOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    const all = [error as { type?: string; errors?: Array<{ type?: string }> }, ...((error as { errors?: Array<{ type?: string }> }).errors ?? [])];
    return all.map((e) => e.type).find((type) => type?.endsWith('_AUTHORIZATION_FAILED')) ?? String(error);
  }
}

const operatorGrants = () => PIPELINES.flatMap((name) => pipelineAcls(pipeline(name), 'operator', OPERATOR_USER));

function secret(name: string, data: Record<string, string>): void {
  const manifest = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: run.namespace, labels: { [CREDENTIALS_LABEL]: 'kafka' } }, stringData: data };
  run.kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}

/** `adpipe` as a person runs it; resolves with its output once it exits. */
function adpipe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli', 'adpipe.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const condition = (p: AdPipeline | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);
const credentialsVersion = async (name: string) => {
  const deployment = await run.apps.readNamespacedDeployment({ name: `adpipe-${name}`, namespace: run.namespace }).catch(() => undefined);
  return deployment?.spec?.template.metadata?.annotations?.[CREDENTIALS_VERSION_ANNOTATION];
};
const warnings = (name: string) =>
  (JSON.parse(run.kubectl(['get', 'events.events.k8s.io', '-n', run.namespace, '--field-selector', `regarding.name=${name}`, '-o', 'json'])) as { items: Array<{ type: string; reason: string; note: string }> }).items.filter((e) => e.type === 'Warning');

beforeAll(async () => {
  await run.installCrd();
  await run.ensureNamespace();
  await setScramPassword(USER, FIRST_PASSWORD);
  await setScramPassword(OPERATOR_USER, OPERATOR_PASSWORD);
  await admin.connect();
  // The platform team's grants: the operator's principal the operator role, the pipeline's principal
  // the workers' role, the producer only writes the sources.
  const secure = pipeline('secure');
  await admin.createAcls({ acl: toKafkajsAcls([...operatorGrants(), ...pipelineAcls(secure, 'workers', USER), ...pipelineAcls(secure, 'producer', 'producer')]) });
  secret('kafka-ca', { 'ca.crt': fs.readFileSync(sasl.caFile, 'utf8') });
  secret('kafka-user', { username: USER, password: FIRST_PASSWORD });
  // The operator's own identity, and the platform team's ACL admin identity (the operator grants
  // workers their ACLs with it); each goes to these brokers only.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-kafkasec-admin-'));
  const properties = (file: string, user: string, password: string) => {
    fs.writeFileSync(path.join(dir, file), [`bootstrap.servers=${sasl.bootstrap}`, 'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', `sasl.username=${user}`, `sasl.password=${password}`, `ssl.ca.location=${sasl.caFile}`, ''].join('\n'), { mode: 0o600 });
    return path.join(dir, file);
  };
  run.startNodeAgent('process');
  await run.startOperator(['--drift-check-ms', '5000', '--kafka-admin-config', properties('operator.properties', OPERATOR_USER, OPERATOR_PASSWORD), '--kafka-acl-admin-config', properties('acl-admin.properties', 'admin', sasl.users.admin)]);
}, 180_000);

afterAll(async () => {
  // The pipelines first, while the operator still holds the ACLs to delete their topics.
  await run.tearDown();
  const secure = pipeline('secure');
  const granted = pipeline('granted');
  await admin.deleteAcls({ filters: toKafkajsAcls([...operatorGrants(), ...pipelineAcls(secure, 'workers', USER), ...pipelineAcls(secure, 'producer', 'producer'), ...pipelineAcls(granted, 'producer', 'producer')]) }).catch(() => undefined);
  await admin.disconnect();
}, 240_000);

test('operator, workers and adpipe produce through SASL_SSL; the SCRAM password rotated mid-stream rolls the workers; totals exact', async () => {
  const spec = pipeline('secure');
  run.apply(spec);
  await run.waitForCondition('secure', 'Ready', 'True', 240_000);
  const versionBefore = await credentialsVersion('secure');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-kafkasec-'));
  writeGeneratedDirectory(dir, { seed: 31, impressions: 2500 });
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  const properties = path.join(dir, 'producer.properties');
  fs.writeFileSync(
    properties,
    [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="producer" password="${sasl.users.producer}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${sasl.caFile}`,
      '',
    ].join('\n'),
  );
  // A steady stream of ~45 s through the producer principal, so the rotation lands while records flow.
  let producerDone = false;
  const producing = adpipe(['produce', '--dir', dir, '--pipeline', `${run.namespace}/secure`, '--kubeconfig', run.kubeconfig, '--command-config', properties, '--rate', '60', '-q', '-o', 'json']).finally(() => (producerDone = true));

  await new Promise((resolve) => setTimeout(resolve, 3000));
  // Rotation as a platform team does it: the broker's credential first, then the Secret.
  await setScramPassword(USER, ROTATED_PASSWORD);
  secret('kafka-user', { username: USER, password: ROTATED_PASSWORD });
  expect(producerDone).toBe(false);
  await waitFor('the workers rolled for the rotated Secret', async () => {
    const version = await credentialsVersion('secure');
    return version && version !== versionBefore ? version : undefined;
  }, 120_000);
  const produced = await producing;
  expect(produced.stderr).toBe('');
  expect(produced.code).toBe(0);
  expect(JSON.parse(produced.stdout).total.messages).toBeGreaterThan(0);

  const [url] = await waitFor('a ready worker of the new version', async () => {
    const urls = await run.workerUrls('secure');
    return urls.length === 1 ? urls : undefined;
  }, 180_000);
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 300_000, 1000);
  const comparison = await settledComparison(url!, expected, 120_000);
  expect(comparison.mismatches).toEqual([]);
  expect(await getJson<Stats>(`${url}/v1/pipeline/stats`)).toEqual(expected.stats);

  // The operator changes topics as itself; its check of the workers' access uses the rotated password.
  run.kubectl(['patch', 'adp', 'secure', '-n', run.namespace, '--type=merge', '-p', '{"spec":{"retention":{"rawEvents":"48h"}}}']);
  const updated = await run.waitForCondition('secure', 'TopicsReady', 'True', 120_000);
  expect(condition(updated, 'Ready')?.status).toBe('True');
  expect(condition(updated, 'WorkersReady')?.status).toBe('True');
  const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: updated.status!.topicNames!.impressions!, configNames: ['retention.ms'] }] });
  expect(configs.resources[0]!.configEntries[0]!.configValue).toBe(String(48 * 3600 * 1000));

  // The old password no longer works anywhere; nothing shows either password.
  const old = saslKafka(USER, FIRST_PASSWORD).admin();
  await expect(old.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
  const shown = [JSON.stringify(updated.status), run.kubectl(['get', 'events', '-n', run.namespace, '-o', 'json']), run.kubectl(['get', 'deployment,configmap', '-n', run.namespace, '-o', 'json']), fs.readFileSync(path.join(stack().dir, 'logs', `operator-${run.namespace}.log`), 'utf8')].join('\n');
  for (const password of [FIRST_PASSWORD, ROTATED_PASSWORD, OPERATOR_PASSWORD, sasl.users.producer]) expect(shown).not.toContain(password);
}, 900_000);

test("the workers' principal holds none of the operator's rights: it may not create, alter or delete the pipeline's topics", async () => {
  const status = (await run.get('secure'))!.status!;
  const workers = saslKafka(USER, ROTATED_PASSWORD).admin();
  await workers.connect();
  try {
    expect(await refusalOf(workers.createTopics({ topics: [{ topic: `adpipe.${run.namespace}.secure.forged`, numPartitions: 1 }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await refusalOf(workers.deleteTopics({ topics: [status.topicNames!.impressions!], timeout: 5000 }))).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(await refusalOf(workers.createPartitions({ topicPartitions: [{ topic: status.topicNames!.impressions!, count: 8 }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
  } finally {
    await workers.disconnect();
  }
  const topics = await admin.fetchTopicMetadata({ topics: [status.topicNames!.impressions!] });
  expect(topics.topics[0]!.partitions).toHaveLength(2);
}, 120_000);

test('the dead-letter topic and the internal topic are written only by the workers: the producer principal is refused', async () => {
  const status = (await run.get('secure'))!.status!;
  const producer = saslKafka('producer', sasl.users.producer).producer();
  await producer.connect();
  try {
    for (const topic of [status.topicNames!.deadLetter!, `adpipe.${run.namespace}.secure.tasks`]) {
      await expect(producer.send({ topic, messages: [{ value: 'forged' }] })).rejects.toThrow(/Not authorized to access topics/);
    }
    // The sources it may write.
    await expect(producer.send({ topic: status.topicNames!.impressions!, messages: [{ key: 'x', value: 'not json' }] })).resolves.toBeDefined();
  } finally {
    await producer.disconnect();
  }
}, 120_000);

test('a wrong password, a missing ACL and an untrusted certificate each get their own reason and one Warning, retried with backoff', async () => {
  secret('wrong-user', { username: USER, password: 'not-the-password' });
  secret('limited-user', { username: 'limited', password: sasl.users.limited });
  const small = (name: string, change: (p: AdPipeline) => void) =>
    pipeline(name, (p) => {
      p.spec.workers = { ...p.spec.workers, replicas: 0 };
      change(p);
    });
  run.apply(small('wrongpw', (p) => (p.spec.kafka.sasl!.secretRef.name = 'wrong-user')));
  run.apply(small('noacl', (p) => (p.spec.kafka.sasl!.secretRef.name = 'limited-user')));
  run.apply(small('untrusted', (p) => (p.spec.kafka.tls = { enabled: true })));
  // The operator manages topics as itself: a missing ACL of its own principal stops the topics. The
  // workers' credentials it checks (the ACL admin grants the workers' ACLs, so theirs are not missing).
  const expectations = [
    { name: 'wrongpw', type: 'WorkersReady', reason: 'KafkaAuthenticationFailed', message: /the workers' access check: Kafka \S+ refused the scram-sha-512 credentials of Secret wrong-user/ },
    { name: 'noacl', type: 'TopicsReady', reason: 'KafkaAuthorizationFailed', message: /denied the operator's own principal \(TOPIC_AUTHORIZATION_FAILED\): grant it the operator ACLs/ },
    { name: 'untrusted', type: 'WorkersReady', reason: 'KafkaTLSUntrusted', message: /the workers' access check: the TLS certificate of Kafka \S+ is not trusted by the system CAs \(spec.kafka.tls.caSecretRef is not set\) \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)/ },
  ];
  for (const { name, type, reason, message } of expectations) {
    const p = await waitFor(`${name} ${type}=False ${reason}`, async () => {
      const got = await run.get(name);
      return condition(got, type)?.reason === reason ? got : undefined;
    }, 120_000);
    expect(condition(p, type)?.message).toMatch(message);
    expect(condition(p, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingAfterError' });
    expect(condition(p, 'Ready')).toMatchObject({ status: 'False', reason });
  }
  // Retried with backoff for a while: still one Warning per pipeline and reason, no storm.
  await new Promise((resolve) => setTimeout(resolve, 20_000));
  for (const { name, type, reason } of expectations) {
    const events = warnings(name).filter((e) => e.reason === reason);
    expect(events).toHaveLength(1);
    expect(condition(await run.get(name), type)?.reason).toBe(reason);
  }
  const shown = [run.kubectl(['get', 'adp', '-n', run.namespace, '-o', 'json']), run.kubectl(['get', 'events', '-n', run.namespace, '-o', 'json']), fs.readFileSync(path.join(stack().dir, 'logs', `operator-${run.namespace}.log`), 'utf8')].join('\n');
  for (const password of ['not-the-password', sasl.users.limited, FIRST_PASSWORD, ROTATED_PASSWORD, OPERATOR_PASSWORD]) expect(shown).not.toContain(password);
}, 300_000);

test('given an ACL admin identity, the operator grants the workers their ACLs itself, and revokes them on deletion', async () => {
  const password = crypto.randomBytes(12).toString('hex');
  await setScramPassword(GRANTED_USER, password);
  secret('granted-user', { username: GRANTED_USER, password });
  const spec = pipeline('granted', (p) => (p.spec.kafka.sasl!.secretRef.name = 'granted-user'));
  // The platform team grants the producer (and the operator role, in beforeAll); the worker role is the operator's job.
  await admin.createAcls({ acl: toKafkajsAcls(pipelineAcls(spec, 'producer', 'producer')) });
  run.apply(spec);
  const ready = await run.waitForCondition('granted', 'Ready', 'True', 240_000);
  const principal = `User:${GRANTED_USER}`;
  const held = async () => {
    const described = await admin.describeAcls({ principal, resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ALLOW });
    return described.resources.flatMap((r) => r.acls.map((acl) => `${r.resourceType}|${r.resourcePatternType}|${r.resourceName}|${acl.operation}`));
  };
  const workerAcls = toKafkajsAcls(pipelineAcls(spec, 'workers', GRANTED_USER)).map((e) => `${e.resourceType}|${e.resourcePatternType}|${e.resourceName}|${e.operation}`);
  expect(await held()).toEqual(expect.arrayContaining(workerAcls));
  expect(warnings('granted')).toEqual([]);
  const events = JSON.parse(run.kubectl(['get', 'events.events.k8s.io', '-n', run.namespace, '--field-selector', 'regarding.name=granted', '-o', 'json'])) as { items: Array<{ reason: string; note: string }> };
  expect(events.items).toContainEqual(expect.objectContaining({ reason: 'WorkerAclsGranted', note: expect.stringContaining(principal) }));

  // The workers work with what the operator granted: a small set, exact.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-kafkasec-granted-'));
  writeGeneratedDirectory(dir, { seed: 37, impressions: 300 });
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  await produceDirectory(dir, { kafka: saslKafka('producer', sasl.users.producer), topics: ready.status!.topicNames as Record<string, string> });
  const [url] = await waitFor('a ready worker', async () => {
    const urls = await run.workerUrls('granted');
    return urls.length === 1 ? urls : undefined;
  }, 120_000);
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 180_000, 1000);
  expect((await settledComparison(url!, expected, 120_000)).mismatches).toEqual([]);

  await run.deleteAndWait('granted');
  const left = await held();
  for (const acl of workerAcls) expect(left).not.toContain(acl);
}, 600_000);
