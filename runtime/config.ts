import fs from 'node:fs';
import { SOURCE_NAMES, type RuntimeConfig } from '../api/runtime-config.js';
import { RuntimeError } from './errors.js';
import { DEFAULT_FAMILIES } from './storage/layout.js';

/**
 * Reads the config the operator rendered (JSON, `/etc/adpipe/pipeline.json`). The operator resolves
 * every default; this only checks that what the worker relies on is there, so a broken ConfigMap
 * fails at start with the field's name instead of mid-stream.
 */
export function loadConfig(file: string): RuntimeConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new RuntimeError('CONFIG', `cannot read the runtime config ${file}: ${(cause as Error).message}`, { cause });
  }
  return checkConfig(parsed, file);
}

export function checkConfig(value: unknown, where = 'config'): RuntimeConfig {
  const config = value as RuntimeConfig;
  const need = (ok: unknown, field: string) => {
    if (!ok) throw new RuntimeError('CONFIG', `${where}: '${field}' is missing or invalid`);
  };
  need(config && typeof config === 'object', '(root)');
  need(config.pipeline?.name && config.pipeline?.namespace, 'pipeline');
  need(Array.isArray(config.kafka?.brokers) && config.kafka.brokers.length > 0, 'kafka.brokers');
  need(config.kafka?.groupId, 'kafka.groupId');
  need(config.hbase?.zookeeperQuorum, 'hbase.zookeeperQuorum');
  need(config.hbase?.table, 'hbase.table');
  for (const source of SOURCE_NAMES) need(config.sources?.[source]?.topic, `sources.${source}.topic`);
  need(config.deadLetterTopic, 'deadLetterTopic');
  for (const key of ['attributionWindowMs', 'conversionWindowMs', 'latenessMs'] as const) need(Number.isFinite(config.correlation?.[key]), `correlation.${key}`);
  need(Number.isInteger(config.storage?.saltBuckets) && config.storage.saltBuckets >= 1 && config.storage.saltBuckets <= 256, 'storage.saltBuckets');
  need(Number.isInteger(config.batchSize) && config.batchSize > 0, 'batchSize');
  need(Number.isInteger(config.http?.port), 'http.port');
  const topics = SOURCE_NAMES.map((source) => config.sources[source].topic);
  if (new Set(topics).size !== topics.length) throw new RuntimeError('CONFIG', `${where}: two sources share a topic (${topics.join(', ')})`);
  config.storage.families ??= { ...DEFAULT_FAMILIES };
  return config;
}

/**
 * A duration in milliseconds from the environment: `fallback` when unset or empty; a whole number
 * ≥ `min` otherwise, or the worker stops at start with the variable's name (a NaN margin would
 * otherwise be stored in every roll-up summary).
 */
export function millisFromEnv(name: string, fallback: number, min = 0, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be a whole number of milliseconds >= ${min}, not '${text}'`);
  return value;
}
