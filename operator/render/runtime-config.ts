import { parseDuration } from '../../api/duration.js';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { CsvConfig, RuntimeConfig } from '../../api/runtime-config.js';
import { DEFAULTS } from './defaults.js';
import { consumerGroupId, deadLetterTopicOf, HTTP_PORT, namespaceOf, sourceTopicOf, tableNameOf, tasksTopicOf } from './names.js';

/** Column families; short names because HBase stores the family name in every cell. */
export const FAMILIES = { aggregates: 'a', state: 's', dedup: 'd' } as const;

/** Where the worker Pod mounts the Secrets the pipeline names (values never enter the config). */
export const SECRET_MOUNTS = {
  kafkaCa: '/etc/adpipe/secrets/kafka-ca',
  kafkaClient: '/etc/adpipe/secrets/kafka-client',
  kafkaSasl: '/etc/adpipe/secrets/kafka-sasl',
  registryAuth: '/etc/adpipe/secrets/registry-auth',
  registryCa: '/etc/adpipe/secrets/registry-ca',
  queryTls: '/etc/adpipe/secrets/query-tls',
  hbaseCa: '/etc/adpipe/secrets/hbase-ca',
  hbaseClient: '/etc/adpipe/secrets/hbase-client',
} as const;

type CsvSpec = { header?: boolean; delimiter?: string; columns?: string[] } | undefined;

function csv(spec: CsvSpec): CsvConfig {
  const config: CsvConfig = { header: spec?.header ?? false, delimiter: spec?.delimiter ?? DEFAULTS.csvDelimiter };
  if (spec?.columns) config.columns = [...spec.columns];
  return config;
}

/** AdPipeline → the runtime's resolved configuration. Pure; every default applied here, once. */
export function renderRuntimeConfig(pipeline: AdPipeline): RuntimeConfig {
  const spec = pipeline.spec;
  const sources = spec.sources ?? {};
  const namespace = namespaceOf(pipeline);
  const attributionWindowMs = parseDuration(spec.correlation?.attributionWindow ?? DEFAULTS.attributionWindow);
  const kafka: RuntimeConfig['kafka'] = {
    brokers: [...spec.kafka.bootstrapServers],
    clientId: `adpipe-${namespace}-${pipeline.metadata.name}`,
    groupId: consumerGroupId(pipeline),
  };
  const tls = spec.kafka.tls;
  if (tls?.enabled) {
    kafka.tls = {};
    if (tls.caSecretRef) kafka.tls.caFile = `${SECRET_MOUNTS.kafkaCa}/${tls.caSecretRef.key ?? 'ca.crt'}`;
    if (tls.clientCertSecretRef) {
      kafka.tls.certFile = `${SECRET_MOUNTS.kafkaClient}/tls.crt`;
      kafka.tls.keyFile = `${SECRET_MOUNTS.kafkaClient}/tls.key`;
    }
  }
  const sasl = spec.kafka.sasl;
  if (sasl) {
    kafka.sasl = {
      mechanism: sasl.mechanism,
      usernameFile: `${SECRET_MOUNTS.kafkaSasl}/${sasl.secretRef.usernameKey ?? 'username'}`,
      passwordFile: `${SECRET_MOUNTS.kafkaSasl}/${sasl.secretRef.passwordKey ?? 'password'}`,
    };
  }
  const avro: RuntimeConfig['sources']['bidRequests']['avro'] = {};
  const avroSpec = sources.bidRequests?.avro;
  if (avroSpec?.writerSchema) avro.writerSchema = avroSpec.writerSchema;
  if (avroSpec?.schemaRegistryUrl) {
    avro.schemaRegistryUrl = avroSpec.schemaRegistryUrl;
    const basic = avroSpec.schemaRegistryAuth?.basicAuthSecretRef;
    if (basic) avro.schemaRegistryAuth = { usernameFile: `${SECRET_MOUNTS.registryAuth}/${basic.usernameKey ?? 'username'}`, passwordFile: `${SECRET_MOUNTS.registryAuth}/${basic.passwordKey ?? 'password'}` };
    const ca = avroSpec.schemaRegistryAuth?.caSecretRef;
    if (ca) avro.schemaRegistryCaFile = `${SECRET_MOUNTS.registryCa}/${ca.key ?? 'ca.crt'}`;
  }
  const hbase: RuntimeConfig['hbase'] = { zookeeperQuorum: spec.hbase.zookeeperQuorum, znodeParent: spec.hbase.znodeParent ?? DEFAULTS.znodeParent, table: tableNameOf(pipeline) };
  const hbaseTls = spec.hbase.tls;
  if (hbaseTls?.enabled) {
    hbase.tls = {};
    if (hbaseTls.caSecretRef) hbase.tls.caFile = `${SECRET_MOUNTS.hbaseCa}/${hbaseTls.caSecretRef.key ?? 'ca.crt'}`;
    if (hbaseTls.clientCertSecretRef) {
      hbase.tls.certFile = `${SECRET_MOUNTS.hbaseClient}/tls.crt`;
      hbase.tls.keyFile = `${SECRET_MOUNTS.hbaseClient}/tls.key`;
    }
  }
  return {
    pipeline: { namespace, name: pipeline.metadata.name },
    kafka,
    hbase,
    sources: {
      bidRequests: { topic: sourceTopicOf(pipeline, 'bidRequests'), avro },
      impressions: { topic: sourceTopicOf(pipeline, 'impressions'), fieldMapping: { ...(sources.impressions?.fieldMapping ?? {}) } },
      clicks: { topic: sourceTopicOf(pipeline, 'clicks'), csv: csv(sources.clicks?.csv), fieldMapping: { ...(sources.clicks?.fieldMapping ?? {}) } },
      conversions: { topic: sourceTopicOf(pipeline, 'conversions'), csv: csv(sources.conversions?.csv), fieldMapping: { ...(sources.conversions?.fieldMapping ?? {}) } },
    },
    deadLetterTopic: deadLetterTopicOf(pipeline),
    correlation: {
      attributionWindowMs,
      conversionWindowMs: parseDuration(spec.correlation?.conversionWindow ?? DEFAULTS.conversionWindow),
      latenessMs: spec.correlation?.lateness ? parseDuration(spec.correlation.lateness) : attributionWindowMs,
    },
    storage: {
      saltBuckets: spec.storage?.preSplitRegions ?? DEFAULTS.preSplitRegions,
      aggregatesTtlSeconds: Math.floor(parseDuration(spec.retention?.aggregates ?? DEFAULTS.aggregates) / 1000),
      families: { ...FAMILIES },
    },
    batchSize: spec.workers?.batchSize ?? DEFAULTS.batchSize,
    tasks: {
      count: DEFAULTS.tasks,
      topic: tasksTopicOf(pipeline),
      commitIntervalMs: parseDuration(spec.workers?.commitInterval ?? DEFAULTS.taskCommitInterval),
      snapshotIntervalMs: parseDuration(spec.workers?.snapshotInterval ?? DEFAULTS.taskSnapshotInterval),
      evictionGraceMs: 3_600_000,
    },
    http: { port: HTTP_PORT },
    query: {
      auth: spec.query?.auth ?? DEFAULTS.queryAuth,
      reviewCacheMs: parseDuration(spec.query?.reviewCacheTime ?? DEFAULTS.reviewCacheTime),
      ...(spec.query?.tls ? { tls: { certFile: `${SECRET_MOUNTS.queryTls}/tls.crt`, keyFile: `${SECRET_MOUNTS.queryTls}/tls.key` } } : {}),
    },
    worker: {
      logLevel: spec.workers?.logLevel ?? DEFAULTS.logLevel,
      partitionConcurrency: spec.workers?.partitionConcurrency ?? DEFAULTS.partitionConcurrency,
      poisonAttempts: spec.workers?.poisonAttempts ?? DEFAULTS.poisonAttempts,
      stallThresholdMs: parseDuration(spec.workers?.stallThreshold ?? DEFAULTS.stallThreshold),
    },
  };
}
