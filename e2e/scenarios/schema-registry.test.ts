import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { BID_REQUEST_SCHEMA, writeGeneratedDirectory, type Expected } from '../../generator/index.js';
import { produceDirectory } from '../../producer/index.js';
import { SchemaRegistryClient, valueSubject } from '../../schema-registry/index.js';
import { stopProcess } from '../stack/proc.js';
import { restartRegistry } from '../stack/stack.js';
import { getJson, PipelineRun, settledComparison, statsCaughtUp, waitFor, type Stats } from '../support/pipeline-run.js';
import { stack, uniqueName } from '../support/stack-clients.js';

// The operator's schema check, on the local stack with the real registry: a spec change the
// contract's reader cannot follow is held back (SchemaIncompatible, Stalled, a Warning) while the
// running workers keep their config and stay exact; reverting makes the pipeline Ready. With a
// registry, the subject's compatibility level comes from the spec, a registered version the
// contract cannot read stalls the pipeline, and an unreachable registry is retried, not a failure.

const run = new PipelineRun(stack(), uniqueName('schemas'));
const kafka = new Kafka({ clientId: 'adpipe-e2e-schemas', brokers: [stack().kafka.bootstrap], logLevel: logLevel.WARN });
const registry = new SchemaRegistryClient({ url: stack().registry.url });
/** The contract's schema without floor_price_micros, which the reader needs and has no default for. */
const BREAKING = JSON.stringify({ ...BID_REQUEST_SCHEMA, fields: BID_REQUEST_SCHEMA.fields.filter((f) => f.name !== 'floor_price_micros') });

function pipeline(name: string, change: (p: AdPipeline) => void = () => undefined): AdPipeline {
  const p = run.example(name);
  for (const source of ['bidRequests', 'impressions', 'clicks', 'conversions'] as const) {
    p.spec.sources![source]!.topic = `${run.namespace}.${name}.${source}`;
    p.spec.sources![source]!.partitions = 2;
  }
  p.spec.workers = { ...p.spec.workers, replicas: 1 };
  change(p);
  return p;
}

const condition = (p: AdPipeline | undefined, type: string) => p?.status?.conditions?.find((c) => c.type === type);
const patch = (name: string, body: object) => run.kubectl(['patch', 'adp', name, '-n', run.namespace, '--type=merge', '-p', JSON.stringify(body)]);

beforeAll(async () => {
  await run.installCrd();
  await run.ensureNamespace();
  run.startNodeAgent('process');
  // Frequent drift checks: a version registered behind the operator's back is seen within seconds.
  run.startOperator(['--drift-check-ms', '3000']);
}, 120_000);

afterAll(async () => {
  await restartRegistry(stack());
  await run.tearDown();
}, 240_000);

test('an incompatible writerSchema is held back (SchemaIncompatible, workers untouched, totals exact); reverting → Ready', async () => {
  const spec = pipeline('plain', (p) => (p.spec.deletionPolicy = 'Delete'));
  run.apply(spec);
  const ready = await run.waitForCondition('plain', 'Ready', 'True', 180_000);
  const configHash = ready.status!.workers!.configHash!;
  const configMap = () => run.kubectl(['get', 'configmap', 'adpipe-plain', '-n', run.namespace, '-o', 'jsonpath={.data}']);
  const configBefore = configMap();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-schemas-'));
  writeGeneratedDirectory(dir, { seed: 23, impressions: 800 });
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  const topics = Object.fromEntries(Object.entries(spec.spec.sources!).map(([source, s]) => [source, s!.topic!]));
  const producing = produceDirectory(dir, { kafka, topics, send: { rate: 400 } });

  patch('plain', { spec: { sources: { bidRequests: { avro: { writerSchema: BREAKING } } } } });
  const stalled = await run.waitForCondition('plain', 'Stalled', 'True', 120_000);
  expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'SchemaIncompatible', message: expect.stringContaining('floor_price_micros') });
  expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'SchemaIncompatible' });
  const events = JSON.parse(run.kubectl(['get', 'events.events.k8s.io', '-n', run.namespace, '--field-selector', 'regarding.name=plain', '-o', 'json'])) as { items: Array<{ type: string; reason: string; note: string }> };
  expect(events.items).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'SchemaIncompatible', note: expect.stringContaining('floor_price_micros') }));
  await producing;

  // The workers never saw the change: same config, and every record counted as before.
  expect((await run.get('plain'))!.status!.workers!.configHash).toBe(configHash);
  expect(configMap()).toBe(configBefore);
  const [url] = await waitFor('a ready worker', async () => {
    const urls = await run.workerUrls('plain');
    return urls.length ? urls : undefined;
  }, 120_000);
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 240_000, 1000);
  expect((await settledComparison(url!, expected, 120_000)).mismatches).toEqual([]);
  expect(await getJson<Stats>(`${url}/v1/pipeline/stats`)).toEqual(expected.stats);

  patch('plain', { spec: { sources: { bidRequests: { avro: { writerSchema: null } } } } });
  const back = await run.waitForCondition('plain', 'Ready', 'True', 120_000);
  expect(condition(back, 'Stalled')).toMatchObject({ status: 'False' });
  expect(back.status!.workers!.configHash).toBe(configHash);
  fs.rmSync(dir, { recursive: true, force: true });
}, 600_000);

test('with a registry: compatibility level from the spec; three writer versions framed by the producer, exact; unreachable → retried, not failed; a version the contract cannot read → SchemaIncompatible', async () => {
  const spec = pipeline('framed', (p) => {
    p.spec.deletionPolicy = 'Delete';
    p.spec.sources!.bidRequests!.avro = { schemaRegistryUrl: stack().registry.url };
  });
  const subject = valueSubject(spec.spec.sources!.bidRequests!.topic!);
  run.apply(spec);
  await run.waitForCondition('framed', 'Ready', 'True', 180_000);
  expect(await registry.compatibility(subject)).toBe('BACKWARD');

  // Producers on v1, v2 and v3 of their schema, interleaved; the operator's workers read them all.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-framed-'));
  const { expected } = writeGeneratedDirectory(dir, { seed: 29, impressions: 800, writerVersions: true });
  const topics = Object.fromEntries(Object.entries(spec.spec.sources!).map(([source, s]) => [source, s!.topic!]));
  await produceDirectory(dir, { kafka, topics, registry: { url: stack().registry.url } });
  expect(await registry.versions(subject)).toEqual([1, 2, 3]);
  const [url] = await waitFor('a ready worker', async () => {
    const urls = await run.workerUrls('framed');
    return urls.length ? urls : undefined;
  }, 120_000);
  await waitFor('every record processed', async () => (statsCaughtUp(await getJson<Stats>(`${url}/v1/pipeline/stats`), expected.stats) ? true : undefined), 240_000, 1000);
  expect((await settledComparison(url!, expected, 120_000)).mismatches).toEqual([]);
  expect(await getJson<Stats>(`${url}/v1/pipeline/stats`)).toEqual(expected.stats);
  fs.rmSync(dir, { recursive: true, force: true });

  await stopProcess(stack().pids['schema-registry']);
  const waiting = await waitFor('the registry outage in status', async () => {
    const p = await run.get('framed');
    return condition(p, 'Ready')?.reason === 'SchemaRegistryUnavailable' ? p : undefined;
  }, 120_000);
  expect(condition(waiting, 'Ready')).toMatchObject({ status: 'Unknown' });
  expect(condition(waiting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingAfterError' });
  expect(condition(waiting, 'Stalled')).toMatchObject({ status: 'False' });
  await restartRegistry(stack());
  await run.waitForCondition('framed', 'Ready', 'True', 120_000);

  // BACKWARD lets a producer drop a field (its new readers ignore it), but the contract's reader needs it.
  await registry.register(subject, BREAKING);
  const stalled = await waitFor('the incompatible version in status', async () => {
    const p = await run.get('framed');
    return condition(p, 'Stalled')?.status === 'True' ? p : undefined;
  }, 120_000);
  expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'SchemaIncompatible', message: expect.stringMatching(/version 4 .*floor_price_micros/) });
}, 600_000);

test('over https: the registry CA and credentials come from Secrets; a missing Secret is retried until it exists', async () => {
  const spec = pipeline('secured', (p) => {
    p.spec.deletionPolicy = 'Delete';
    p.spec.workers = { ...p.spec.workers, replicas: 0 };
    p.spec.sources!.bidRequests!.avro = {
      schemaRegistryUrl: stack().registry.tlsUrl,
      compatibility: 'FULL',
      schemaRegistryAuth: { basicAuthSecretRef: { name: 'registry-user' }, caSecretRef: { name: 'registry-ca' } },
    };
  });
  run.apply(spec);
  const waiting = await waitFor('the missing Secret in status', async () => {
    const p = await run.get('secured');
    return condition(p, 'Ready')?.reason === 'SecretNotFound' ? p : undefined;
  }, 120_000);
  expect(condition(waiting, 'Ready')!.message).toContain('registry-user');
  run.kubectl(['create', 'secret', 'generic', 'registry-user', '-n', run.namespace, '--from-literal=username=adpipe', '--from-literal=password=s3cret']);
  run.kubectl(['create', 'secret', 'generic', 'registry-ca', '-n', run.namespace, `--from-file=ca.crt=${stack().registry.caFile}`]);
  // Secrets opt in to adpipe (docs/security.md): until they are labelled the pipeline waits, Stalled.
  await waitFor('the unlabelled Secrets refused', async () => (condition(await run.get('secured'), 'Stalled')?.reason === 'SecretNotAllowed' ? true : undefined), 120_000);
  run.kubectl(['label', 'secret', 'registry-user', 'registry-ca', '-n', run.namespace, 'adpipe.io/credentials=schema-registry']);
  const ready = await run.waitForCondition('secured', 'Ready', 'True', 120_000);
  expect(await registry.compatibility(valueSubject(spec.spec.sources!.bidRequests!.topic!))).toBe('FULL');
  expect(JSON.stringify(ready.status)).not.toContain('s3cret');
}, 300_000);
