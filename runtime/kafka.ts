import fs from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../api/runtime-config.js';

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
      const level = entry.level === logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'debug';
      log[level]({ kafkajs: entry.namespace, ...rest }, message);
    },
  };
  if (config.tls) {
    options.ssl = {
      ...(config.tls.caFile ? { ca: [fs.readFileSync(config.tls.caFile, 'utf8')] } : {}),
      ...(config.tls.certFile ? { cert: fs.readFileSync(config.tls.certFile, 'utf8') } : {}),
      ...(config.tls.keyFile ? { key: fs.readFileSync(config.tls.keyFile, 'utf8') } : {}),
    };
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
