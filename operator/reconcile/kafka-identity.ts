import fs from 'node:fs';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { clientSecurity, parseProperties } from '../../producer/index.js';
import type { KafkaConnection } from './kafka.js';

/**
 * An identity of the platform team's, given to the operator as a Kafka client properties file
 * (`bootstrap.servers` plus Kafka's security settings): the operator's own for topic work
 * (`--kafka-admin-config`, decision 0115) or the one that may alter ACLs
 * (`--kafka-acl-admin-config`, decision 0111). It is only ever sent to the brokers the file names: a
 * pipeline whose `spec.kafka.bootstrapServers` are not all among them was pointed elsewhere by its
 * author, and gets nothing of it.
 */
export interface KafkaIdentity {
  /** The file it came from: named in messages instead of anything it holds. */
  file: string;
  brokers: string[];
  connection: KafkaConnection;
}

export function loadKafkaIdentity(file: string): KafkaIdentity {
  const properties = parseProperties(fs.readFileSync(file, 'utf8'));
  const brokers = (properties.get('bootstrap.servers') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (!brokers.length) throw new Error(`${file}: bootstrap.servers is required (the identity's credentials go to these brokers only)`);
  const security = clientSecurity(properties, file);
  const connection: KafkaConnection = { brokers };
  if (security.ssl) connection.ssl = security.ssl === true ? true : { ...(security.ssl.ca ? { ca: security.ssl.ca.join('\n') } : {}), ...(security.ssl.cert ? { cert: security.ssl.cert, key: security.ssl.key } : {}) };
  if (security.sasl) connection.sasl = security.sasl;
  return { file, brokers, connection };
}

/** Whether the identity may be used for this pipeline: every broker it names is one of the identity's. Pure. */
export function servesPipeline(identity: KafkaIdentity | undefined, pipeline: AdPipeline): identity is KafkaIdentity {
  return identity !== undefined && pipeline.spec.kafka.bootstrapServers.every((broker) => identity.brokers.includes(broker));
}
