import fs from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../api/runtime-config.js';
import { readTlsFiles } from './tls-files.js';

/**
 * Fetch limits of the worker's consumer. Throughput is bound by the work after the fetch, not by
 * its size, and small fetches keep memory bounded (4 MiB / 32 MiB peaked at 787 MiB RSS). They are
 * also kafkajs's fastest here with nothing to do: 224-309k msg/s vs 158-205k with 4 MiB / 32 MiB
 * (decision 0047), so the runtime bench's raw consumer uses them too.
 */
export const FETCH_LIMITS = { maxBytesPerPartition: 1024 * 1024, maxBytes: 8 * 1024 * 1024 } as const;

/** Topic-partitions a worker processes at once by default (their HBase round trips overlap). */
export const DEFAULT_PARTITION_CONCURRENCY = 8;

const REFUSAL_TEXT = /authentication failed|invalid credentials|authorization failed|not authorized|certificate/i;

/** Whether a kafkajs log line is about a refusal (credentials, ACLs, certificate): text is all kafkajs logs of the error. */
export function refusalLogLine(message: string, fields: Record<string, unknown>): boolean {
  return REFUSAL_TEXT.test(message) || (typeof fields.error === 'string' && REFUSAL_TEXT.test(fields.error));
}

/** A kafkajs client from the runtime config; TLS material and SASL credentials are read from files. */
export function kafkaClient(config: RuntimeConfig['kafka'], log: Logger): Kafka {
  const options: KafkaConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    // The worker has its own retry loop around every batch; kafkajs only smooths over blips.
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...rest } = entry.log;
      // A refusal is the engine's to report, once per attempt (decision 0116); kafkajs says it up to three times.
      const level = refusalLogLine(message, rest) ? 'debug' : entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
      log[level]({ kafkajs: entry.namespace, ...rest }, message);
    },
  };
  if (config.tls) {
    const { ca, ...clientCert } = readTlsFiles(config.tls);
    options.ssl = { ...(ca ? { ca: [ca] } : {}), ...clientCert };
  }
  if (config.sasl) {
    options.sasl = {
      mechanism: config.sasl.mechanism,
      username: fs.readFileSync(config.sasl.usernameFile, 'utf8').trim(),
      password: fs.readFileSync(config.sasl.passwordFile, 'utf8').trim(),
    } as SASLOptions;
  }
  return new Kafka(options);
}
