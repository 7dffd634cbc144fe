import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { SOURCE_NAMES } from '../../api/runtime-config.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { freePort } from '../../e2e/stack/ports.js';
import { eventually, setScramPassword, stack, uniqueName } from '../../e2e/support/stack-clients.js';
import { generate, type Expected } from '../../generator/index.js';
import { pipelineAcls, toKafkajsAcls } from '../../operator/render/acls.js';
import { createPipeline, dropPipeline, ensureBuilt, kafkaMessages, openProducer, produce, startWorker, stopWorker, untilExact, type TestPipeline, type WorkerProcess } from './harness.js';

// A worker that Kafka refuses (decision 0116), against the stack's SASL_SSL listener: the process
// stays up, /readyz is 503 and names the refusal, /healthz is 200, adpipe_kafka_refused is 1, the log
// holds no password; once the broker accepts it (password set, ACLs granted) the same process
// consumes and its answers equal the generator's ground truth.

const endpoints = { bootstrap: stack().kafka.bootstrap, zookeeperQuorum: stack().hbase.zookeeperQuorum };
const sasl = stack().kafka.sasl;
// Attempts 1 s apart, doubling to 4 s here (5 min in production), so the fix is seen quickly.
const WORKER_ENV = { ADPIPE_REFUSAL_BACKOFF_MAX_MS: '4000' };
const plaintext = new Kafka({ clientId: 'adpipe-refusal-test', brokers: [endpoints.bootstrap], logLevel: logLevel.NOTHING });
let admin: Admin;
const pipelines: TestPipeline[] = [];
const workers: WorkerProcess[] = [];
const grants: Parameters<Admin['createAcls']>[0]['acl'][] = [];

interface Refused {
  pipeline: TestPipeline;
  worker: WorkerProcess;
  expected: Expected;
  user: string;
}

/**
 * The workers' ACLs of docs/security.md for a harness pipeline, by way of the operator's own role
 * (operator/render/acls.ts): an AdPipeline whose names are the harness pipeline's.
 */
function workersAcls(pipeline: TestPipeline, user: string): Parameters<Admin['createAcls']>[0]['acl'] {
  const { config } = pipeline;
  const named = {
    metadata: { namespace: config.pipeline.namespace, name: config.pipeline.name },
    spec: { sources: Object.fromEntries(SOURCE_NAMES.map((source) => [source, { topic: config.sources[source].topic }])), deadLetter: { topic: config.deadLetterTopic } },
  } as unknown as AdPipeline;
  return toKafkajsAcls(pipelineAcls(named, 'workers', user));
}

/** A pipeline on the SASL_SSL listener as `user` with `password` in its credential files, its data produced, its worker started. */
async function refusedPipeline(prefix: string, user: string, password: string, env: Record<string, string> = {}, tls: { caFile?: string } = { caFile: sasl.caFile }): Promise<Refused> {
  const set = generate({ seed: 23, impressions: 300 });
  const name = uniqueName(prefix);
  const pipeline = await createPipeline(endpoints, name, { partitions: 2 });
  pipelines.push(pipeline);
  // The task topic under the name the workers' ACLs give it (adpipe.<namespace>.<name>.tasks).
  const tasksTopic = `adpipe.${pipeline.config.pipeline.namespace}.${name}.tasks`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: tasksTopic, numPartitions: 2, replicationFactor: 1 }] });
  await admin.deleteTopics({ topics: [pipeline.config.tasks.topic] });
  pipeline.config.tasks.topic = tasksTopic;
  const usernameFile = path.join(pipeline.dir, 'username');
  const passwordFile = path.join(pipeline.dir, 'password');
  fs.writeFileSync(usernameFile, user);
  fs.writeFileSync(passwordFile, password, { mode: 0o600 });
  pipeline.config.kafka = { ...pipeline.config.kafka, brokers: [sasl.bootstrap], tls, sasl: { mechanism: 'scram-sha-512', usernameFile, passwordFile } };
  fs.writeFileSync(pipeline.configFile, JSON.stringify(pipeline.config, null, 2));
  const producer = await openProducer(endpoints.bootstrap);
  await produce(producer, pipeline, kafkaMessages(set.messages));
  await producer.disconnect();
  const worker = startWorker(pipeline, await freePort(), { ...WORKER_ENV, ...env });
  workers.push(worker);
  return { pipeline, worker, expected: set.expected, user };
}

async function get(port: number, what: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${what}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

function alive(worker: WorkerProcess): void {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) throw new Error(`the worker exited (${worker.child.exitCode ?? worker.child.signalCode}): ${worker.output()}`);
}

/** Waits until the worker has been refused for `reason` on `attempts` attempts, then checks what it shows. */
async function expectRefused({ worker }: Refused, reason: 'authentication' | 'authorization' | 'tls', condition: string, attempts = 2): Promise<void> {
  await eventually(
    `/readyz to name ${condition} after ${attempts} attempts`,
    async () => {
      alive(worker);
      const ready = await get(worker.port, '/readyz');
      const made = worker.output().match(new RegExp(`"refusal":"${reason}"`, 'g'))?.length ?? 0;
      return ready.status === 503 && ready.body.includes(condition) && made >= attempts ? ready : undefined;
    },
    90_000,
    500,
  );
  alive(worker);
  expect(await get(worker.port, '/readyz')).toEqual({ status: 503, body: expect.stringContaining(`${condition}: Kafka ${sasl.bootstrap}`) });
  expect((await get(worker.port, '/healthz')).status).toBe(200);
  const metrics = (await get(worker.port, '/metrics')).body;
  expect(metrics).toContain(`adpipe_kafka_refused{reason="${reason}"} 1`);
  for (const other of ['authentication', 'authorization', 'tls'].filter((r) => r !== reason)) expect(metrics).toContain(`adpipe_kafka_refused{reason="${other}"} 0`);
  // One warning per attempt and nothing else at warn or above: the engine's line (kafkajs's own lines
  // about the refusal are debug).
  const loud = worker.output().split('\n').filter((line) => /"level":(40|50|60)/.test(line));
  expect(loud.filter((line) => !line.includes(`"refusal":"${reason}"`))).toEqual([]);
}

/** The same process becomes ready, shows no refusal any more, and its answers equal the ground truth. */
async function expectAccepted({ worker, expected }: Refused): Promise<void> {
  const pid = worker.child.pid;
  await untilExact(worker.port, expected, 150_000, () => alive(worker));
  expect(worker.child.pid).toBe(pid);
  await eventually('/readyz to answer 200', async () => ((await get(worker.port, '/readyz')).status === 200 ? true : undefined), 60_000, 500);
  expect((await get(worker.port, '/metrics')).body).toMatch(/adpipe_kafka_refused\{reason="(authentication|authorization)"\} 0/);
}

beforeAll(async () => {
  ensureBuilt();
  admin = plaintext.admin();
  await admin.connect();
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => stopWorker(worker)));
  for (const acl of grants) await admin.deleteAcls({ filters: acl }).catch(() => undefined);
  for (const pipeline of pipelines) await dropPipeline(endpoints, pipeline);
  await admin.disconnect();
}, 180_000);

test('a wrong password: the worker stays up, unready with KafkaAuthenticationFailed, and consumes exactly once the broker takes the password', async () => {
  const user = `refused-${crypto.randomBytes(4).toString('hex')}`;
  const brokerPassword = `broker-${crypto.randomBytes(8).toString('hex')}`;
  const workerPassword = `worker-${crypto.randomBytes(8).toString('hex')}`;
  await setScramPassword(user, brokerPassword);
  const refused = await refusedPipeline('rt-refused-pw', user, workerPassword);
  const acl = workersAcls(refused.pipeline, user);
  grants.push(acl);
  await admin.createAcls({ acl });

  await expectRefused(refused, 'authentication', 'KafkaAuthenticationFailed');

  await setScramPassword(user, workerPassword);
  await expectAccepted(refused);
  for (const secret of [brokerPassword, workerPassword]) expect(refused.worker.output()).not.toContain(secret);
}, 400_000);

test('a missing ACL, with two engine threads: unready with KafkaAuthorizationFailed until the workers ACLs are granted, then exact; revoked while running and granted again, still exact', async () => {
  const user = `unlisted-${crypto.randomBytes(4).toString('hex')}`;
  const password = `pw-${crypto.randomBytes(8).toString('hex')}`;
  await setScramPassword(user, password);
  const refused = await refusedPipeline('rt-refused-acl', user, password, { ADPIPE_ENGINE_THREADS: '2' });

  await expectRefused(refused, 'authorization', 'KafkaAuthorizationFailed');
  const acl = workersAcls(refused.pipeline, user);
  grants.push(acl);
  await admin.createAcls({ acl });
  await expectAccepted(refused);

  // Read on the sources revoked while running: the consumer crashes with a refusal; the engines give
  // up their tasks and wait; granted again, the tasks restore from their commits and nothing is
  // counted twice.
  const before = refused.worker.output().length;
  const sources = new Set(SOURCE_NAMES.map((source) => refused.pipeline.config.sources[source].topic));
  const reads = acl.filter((entry) => sources.has(entry.resourceName));
  expect(reads).toHaveLength(SOURCE_NAMES.length);
  await admin.deleteAcls({ filters: reads });
  await eventually(
    '/readyz to name KafkaAuthorizationFailed after the revocation',
    async () => {
      alive(refused.worker);
      const ready = await get(refused.worker.port, '/readyz');
      return ready.status === 503 && ready.body.includes('KafkaAuthorizationFailed') ? ready : undefined;
    },
    90_000,
    500,
  );
  expect((await get(refused.worker.port, '/healthz')).status).toBe(200);
  expect((await get(refused.worker.port, '/metrics')).body).toContain('adpipe_kafka_refused{reason="authorization"} 1');
  await admin.createAcls({ acl: reads });
  await expectAccepted(refused);
  // Whichever meets the revocation first reports it: the consumer's fetch (the engine crashes and
  // gives up its tasks), or a task's transaction committing source offsets (the task restarts, and
  // pausing its sources while it restores can spare the consumer's fetch from ever meeting it).
  // CI saw both orders.
  expect(refused.worker.output().slice(before)).toMatch(/"refusal":"authorization","detail":"TOPIC_AUTHORIZATION_FAILED"|"task":\d+,"refusal":"authorization"/);
  expect(refused.worker.output()).not.toContain(password);
}, 400_000);

test('an untrusted broker certificate: unready with KafkaTLSUntrusted, healthy, still running', async () => {
  const user = `tls-${crypto.randomBytes(4).toString('hex')}`;
  const password = `pw-${crypto.randomBytes(8).toString('hex')}`;
  await setScramPassword(user, password);
  // No CA file: the system CAs, which did not sign the stack's broker certificate. (A new CA comes
  // with a new Secret, which rolls the workers: nothing to wait for in the same process.)
  const refused = await refusedPipeline('rt-refused-tls', user, password, {}, {});
  // kafkajs retries a failed TLS handshake as a connection error (about 20 s) before the attempt fails.
  await expectRefused(refused, 'tls', 'KafkaTLSUntrusted', 1);
  expect((await get(refused.worker.port, '/readyz')).body).toContain('presented a TLS certificate not signed by the system CAs (no CA file is configured)');
  expect(refused.worker.output()).not.toContain(password);
}, 200_000);
