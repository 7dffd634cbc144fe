import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { expandCrd } from '../../api/crd-source.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { DEFAULTS } from './defaults.js';
import { consumerGroupId, defaultTableName, DESIRED_HASH_ANNOTATION } from './names.js';
import { renderRuntimeConfig } from './runtime-config.js';
import { desiredTable, saltSplitKeys } from './table.js';
import { desiredTopics, diffTopic } from './topics.js';
import { isSubset, renderWorkers } from './workers.js';

const example = parse(fs.readFileSync(path.join(process.cwd(), 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
const pipeline: AdPipeline = { ...example, metadata: { ...example.metadata, uid: 'u-1', generation: 1 } };

test('runtime config: resolved, durations in ms, group id and default table from the names', () => {
  const config = renderRuntimeConfig(pipeline);
  expect(config.kafka.groupId).toBe('adpipe.default.demo');
  expect(config.hbase.table).toBe('adpipe_default_demo');
  expect(config.correlation).toEqual({ attributionWindowMs: 86_400_000, conversionWindowMs: 604_800_000, latenessMs: 86_400_000 });
  expect(config.storage).toEqual({ saltBuckets: 8, aggregatesTtlSeconds: 31_536_000, families: { aggregates: 'a', state: 's', dedup: 'd' } });
  expect(config.deadLetterTopic).toBe('adpipe.default.demo-dlq');
  expect(config.sources.clicks.topic).toBe('adpipe.default.demo.ad-clicks');
  expect(config.http.port).toBe(8080);
  expect(config.sources.clicks.csv).toEqual({ header: false, delimiter: ',' });
});

test('secrets become file paths, never values', () => {
  const withAuth: AdPipeline = { ...pipeline, spec: { ...pipeline.spec, kafka: { ...pipeline.spec.kafka, tls: { enabled: true, caSecretRef: { name: 'ca', key: 'ca.pem' } }, sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'user' } } } } };
  const config = renderRuntimeConfig(withAuth);
  expect(config.kafka.tls).toEqual({ caFile: '/etc/adpipe/secrets/kafka-ca/ca.pem' });
  expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', usernameFile: '/etc/adpipe/secrets/kafka-sasl/username', passwordFile: '/etc/adpipe/secrets/kafka-sasl/password' });
  const { deployment } = renderWorkers(withAuth, config);
  expect(deployment.spec!.template.spec!.volumes!.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['ca', 'user']);
});

test('registry credentials and CA become mounted file paths, never values', () => {
  const bids = pipeline.spec.sources!.bidRequests!;
  const avro = { schemaRegistryUrl: 'https://registry.example/apis/ccompat/v7', schemaRegistryAuth: { basicAuthSecretRef: { name: 'reg-user', usernameKey: 'user' }, caSecretRef: { name: 'reg-ca' } } };
  const withRegistry: AdPipeline = { ...pipeline, spec: { ...pipeline.spec, sources: { ...pipeline.spec.sources, bidRequests: { ...bids, avro } } } };
  const config = renderRuntimeConfig(withRegistry);
  expect(config.sources.bidRequests.avro).toEqual({
    schemaRegistryUrl: avro.schemaRegistryUrl,
    schemaRegistryAuth: { usernameFile: '/etc/adpipe/secrets/registry-auth/user', passwordFile: '/etc/adpipe/secrets/registry-auth/password' },
    schemaRegistryCaFile: '/etc/adpipe/secrets/registry-ca/ca.crt',
  });
  const spec = renderWorkers(withRegistry, config).deployment.spec!.template.spec!;
  expect(spec.volumes!.map((v) => v.secret?.secretName).filter(Boolean)).toEqual(['reg-user', 'reg-ca']);
  expect(spec.containers[0]!.volumeMounts!.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/etc/adpipe/secrets/registry-auth', '/etc/adpipe/secrets/registry-ca']));
});

test('default table names keep namespace and name apart and use only HBase characters', () => {
  expect(defaultTableName('team-a', 'clicks.v2')).toBe('adpipe_team-a_clicks.v2');
  expect(defaultTableName('ns', 'a b')).toBe('adpipe_ns_a_b');
  expect(consumerGroupId({ ...pipeline, metadata: { name: 'p', namespace: 'x' } })).toBe('adpipe.x.p');
});

test('topics: four sources, the dead-letter topic and the tasks\' internal topic, with retention in ms', () => {
  const topics = desiredTopics(pipeline);
  expect(topics.map((t) => [t.name, t.partitions, t.configs['retention.ms']])).toEqual([
    ['adpipe.default.demo.bid-requests', 6, '604800000'],
    ['adpipe.default.demo.ad-impressions', 6, '604800000'],
    ['adpipe.default.demo.ad-clicks', 6, '604800000'],
    ['adpipe.default.demo.ad-conversions', 6, '604800000'],
    ['adpipe.default.demo-dlq', 1, '1209600000'],
    [`adpipe.${pipeline.metadata.namespace ?? 'default'}.demo.tasks`, 6, '604800000'],
  ]);
});

test('topic diff: raise, refuse decrease, drift of owned keys only (foreign overrides stay)', () => {
  const [topic] = desiredTopics(pipeline);
  expect(diffTopic(topic!, undefined).create).toBe(true);
  expect(diffTopic(topic!, { partitions: 3, replicationFactor: 1, overrides: { ...topic!.configs } })).toMatchObject({ raisePartitionsTo: 6, drifted: [] });
  expect(diffTopic(topic!, { partitions: 9, replicationFactor: 1, overrides: { ...topic!.configs } }).partitionDecrease).toEqual({ actual: 9, desired: 6 });
  const drift = diffTopic(topic!, { partitions: 6, replicationFactor: 1, overrides: { 'cleanup.policy': 'delete', 'retention.ms': '1000', 'max.message.bytes': '10' } });
  expect(drift.drifted).toEqual(['retention.ms']);
  expect(drift.alterConfigs).toEqual({ 'retention.ms': topic!.configs['retention.ms'] });
});

test('table: families with TTLs and one region per salt bucket', () => {
  const table = desiredTable(pipeline);
  expect(table.name).toBe('adpipe_default_demo');
  expect(table.families.map((f) => [f.name, f.ttlSeconds])).toEqual([
    ['a', 31_536_000],
    ['s', 604_800 + 86_400],
    ['d', 604_800],
  ]);
  expect(table.splitKeys).toEqual(saltSplitKeys(8));
  expect(table.splitKeys.map((k) => k[0])).toEqual([1, 2, 3, 4, 5, 6, 7]);
});

test('HBase TLS Secrets become mounts and file paths; storage.encryption reaches every family', () => {
  const secure: AdPipeline = {
    ...pipeline,
    spec: {
      ...pipeline.spec,
      hbase: { ...pipeline.spec.hbase, tls: { enabled: true, caSecretRef: { name: 'hb-ca' }, clientCertSecretRef: { name: 'hb-client' } } },
      storage: { ...pipeline.spec.storage, encryption: 'AES' },
    },
  };
  const config = renderRuntimeConfig(secure);
  expect(config.hbase.tls).toEqual({ caFile: '/etc/adpipe/secrets/hbase-ca/ca.crt', certFile: '/etc/adpipe/secrets/hbase-client/tls.crt', keyFile: '/etc/adpipe/secrets/hbase-client/tls.key' });
  const pod = renderWorkers(secure, config).deployment.spec!.template.spec!;
  expect(pod.volumes!.filter((v) => v.secret).map((v) => v.secret!.secretName)).toEqual(['hb-ca', 'hb-client']);
  expect(pod.containers[0]!.volumeMounts!.filter((m) => m.mountPath.startsWith('/etc/adpipe/secrets/')).every((m) => m.readOnly)).toBe(true);
  expect(desiredTable(secure).families.map((f) => f.encryption)).toEqual(['AES', 'AES', 'AES']);
  // Off by default: plaintext RPC, no ENCRYPTION attribute.
  expect(renderRuntimeConfig(pipeline).hbase.tls).toBeUndefined();
  expect(desiredTable(pipeline).families.map((f) => f.encryption)).toEqual(['NONE', 'NONE', 'NONE']);
  // Disabled TLS mounts nothing even with references left in place.
  const disabled: AdPipeline = { ...secure, spec: { ...secure.spec, hbase: { ...secure.spec.hbase, tls: { enabled: false, caSecretRef: { name: 'hb-ca' } } } } };
  expect(renderRuntimeConfig(disabled).hbase.tls).toBeUndefined();
});

test('workers: owned, labelled, config mounted at /etc/adpipe/pipeline.json, hash rolls the pods', () => {
  const config = renderRuntimeConfig(pipeline);
  const objects = renderWorkers(pipeline, config);
  const container = objects.deployment.spec!.template.spec!.containers[0]!;
  expect(container.command).toEqual(['node', 'dist/runtime/main.js', '--config', '/etc/adpipe/pipeline.json']);
  expect(container.volumeMounts![0]).toMatchObject({ mountPath: '/etc/adpipe/pipeline.json', subPath: 'pipeline.json' });
  expect(JSON.parse(objects.configMap.data!['pipeline.json']!)).toEqual(JSON.parse(JSON.stringify(config)));
  expect(objects.deployment.metadata!.ownerReferences![0]).toMatchObject({ kind: 'AdPipeline', name: 'demo', uid: 'u-1', controller: true });
  expect(objects.deployment.spec!.replicas).toBe(2);
  const changed = renderWorkers({ ...pipeline, spec: { ...pipeline.spec, retention: { ...pipeline.spec.retention, aggregates: '720h' } } }, renderRuntimeConfig({ ...pipeline, spec: { ...pipeline.spec, retention: { ...pipeline.spec.retention, aggregates: '720h' } } }));
  expect(changed.configHash).not.toBe(objects.configHash);
  expect(changed.deployment.spec!.template.metadata!.annotations!['adpipe.io/config-hash']).toBe(changed.configHash);
  expect(changed.deployment.metadata!.annotations![DESIRED_HASH_ANNOTATION]).not.toBe(objects.deployment.metadata!.annotations![DESIRED_HASH_ANNOTATION]);
  // Rendering is deterministic.
  expect(renderWorkers(pipeline, config)).toEqual(objects);
});

test('isSubset ignores fields the server adds but not changed ones', () => {
  expect(isSubset({ a: 1, b: [{ c: 2 }] }, { a: 1, b: [{ c: 2, d: 3 }], e: 4 })).toBe(true);
  expect(isSubset({ a: 1 }, { a: 2 })).toBe(false);
  expect(isSubset({ b: [1, 2] }, { b: [1] })).toBe(false);
});

test('the defaults used by render are the schema defaults', () => {
  const text = expandCrd().crdYaml;
  const crd = parse(text) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, SchemaNode> } } } } }> } };
  const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties;
  const at = (...p: string[]) => p.reduce<SchemaNode | undefined>((node, key) => node?.properties?.[key], { properties: spec })?.default;
  // Source topics have no schema default: the operator derives them (never written to spec).
  for (const source of ['impressions', 'bidRequests', 'clicks', 'conversions']) expect(at('sources', source, 'topic')).toBeUndefined();
  expect(at('sources', 'clicks', 'partitions')).toBe(DEFAULTS.partitions);
  expect(at('sources', 'clicks', 'replicationFactor')).toBe(DEFAULTS.replicationFactor);
  expect(at('deadLetter', 'partitions')).toBe(DEFAULTS.deadLetterPartitions);
  expect(at('correlation', 'attributionWindow')).toBe(DEFAULTS.attributionWindow);
  expect(at('correlation', 'conversionWindow')).toBe(DEFAULTS.conversionWindow);
  expect(at('retention', 'rawEvents')).toBe(DEFAULTS.rawEvents);
  expect(at('retention', 'deadLetter')).toBe(DEFAULTS.deadLetter);
  expect(at('retention', 'aggregates')).toBe(DEFAULTS.aggregates);
  expect(at('storage', 'preSplitRegions')).toBe(DEFAULTS.preSplitRegions);
  expect(at('storage', 'compression')).toBe(DEFAULTS.compression);
  expect(at('storage', 'bloomFilter')).toBe(DEFAULTS.bloomFilter);
  expect(at('storage', 'encryption')).toBe(DEFAULTS.encryption);
  expect(at('workers', 'image')).toBe(DEFAULTS.image);
  expect(at('workers', 'replicas')).toBe(DEFAULTS.replicas);
  expect(at('workers', 'batchSize')).toBe(DEFAULTS.batchSize);
  expect(at('workers', 'logLevel')).toBe(DEFAULTS.logLevel);
  expect(at('workers', 'partitionConcurrency')).toBe(DEFAULTS.partitionConcurrency);
  expect(at('workers', 'commitInterval')).toBe(DEFAULTS.taskCommitInterval);
  expect(at('workers', 'snapshotInterval')).toBe(DEFAULTS.taskSnapshotInterval);
  expect(at('workers', 'poisonAttempts')).toBe(DEFAULTS.poisonAttempts);
  expect(at('workers', 'stallThreshold')).toBe(DEFAULTS.stallThreshold);
  expect(at('hbase', 'znodeParent')).toBe(DEFAULTS.znodeParent);
  expect(at('deletionPolicy')).toBe(DEFAULTS.deletionPolicy);
});

interface SchemaNode {
  default?: unknown;
  properties?: Record<string, SchemaNode>;
}

test('worker settings of spec.workers reach the runtime config', () => {
  const tuned = structuredClone(pipeline);
  tuned.spec.workers = { ...tuned.spec.workers, logLevel: 'debug', partitionConcurrency: 3, commitInterval: '500ms', snapshotInterval: '2m', poisonAttempts: 5, stallThreshold: '90s' };
  const config = renderRuntimeConfig(tuned);
  expect(config.worker).toEqual({ logLevel: 'debug', partitionConcurrency: 3, poisonAttempts: 5, stallThresholdMs: 90_000 });
  expect(config.tasks).toMatchObject({ commitIntervalMs: 500, snapshotIntervalMs: 120_000 });
});
