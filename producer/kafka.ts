import { Kafka, logLevel, Partitioners, type Admin, type Producer, type SASLOptions } from 'kafkajs';
import type { ClientSecurity } from './client-properties.js';
import { ProducerError } from './errors.js';

/**
 * A kafkajs client for the CLI: quiet logs, the Java-compatible partitioner (murmur2 of the key),
 * TLS and SASL from a client properties file (`--command-config`).
 */
export function kafkaClient(brokers: string[], clientId = 'adpipe-produce', security: ClientSecurity = {}): Kafka {
  if (!brokers.length) throw new ProducerError('PRODUCE_OPTIONS', 'no brokers: pass --brokers host:port[,host:port]');
  return new Kafka({ clientId, brokers, logLevel: logLevel.ERROR, retry: { retries: 5 }, ...(security.ssl ? { ssl: security.ssl } : {}), ...(security.sasl ? { sasl: security.sasl as SASLOptions } : {}) });
}

export function newProducer(kafka: Kafka): Producer {
  return kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
}

/**
 * Makes sure the topics exist: creates missing ones when asked, otherwise says which are missing
 * (the brokers may not create topics on first use; the operator normally creates them).
 */
export async function ensureTopics(admin: Admin, topics: string[], create: { partitions: number; replicationFactor: number } | undefined): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(topics)].filter((t) => !existing.has(t));
  if (!missing.length) return;
  if (!create) {
    throw new ProducerError('PRODUCE_TOPIC', `topic(s) ${missing.join(', ')} do not exist: apply the AdPipeline first, or pass --create-topics [--partitions N]`);
  }
  await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: create.partitions, replicationFactor: create.replicationFactor })) });
}
