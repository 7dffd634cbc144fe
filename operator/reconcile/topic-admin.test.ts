import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KafkaIdentity } from './kafka-identity.js';
import { failure, topicAdmin } from './topics.js';

// Who the operator is on a pipeline's Kafka (decision 0115), and what a refusal then says.

const pipeline = (brokers: string[]): AdPipeline =>
  ({ metadata: { name: 'p', namespace: 'ns' }, spec: { kafka: { bootstrapServers: brokers, tls: { enabled: true, caSecretRef: { name: 'kafka-ca' } }, sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user' } } }, hbase: { zookeeperQuorum: 'z' } } }) as AdPipeline;
const own: KafkaIdentity = { file: '/etc/adpipe/kafka-admin/client.properties', brokers: ['k1:9093'], connection: { brokers: ['k1:9093'], sasl: { mechanism: 'scram-sha-512', username: 'adpipe-operator', password: 'never-shown' } } };
const denied = Object.assign(new Error('Topic creation errors'), { name: 'KafkaJSAggregateError', errors: [Object.assign(new Error('Not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' })] });
const wrongPassword = Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), { name: 'KafkaJSSASLAuthenticationError' });

test("the operator's own identity manages the topics of pipelines on its brokers; elsewhere the spec's credentials do", () => {
  expect(topicAdmin(pipeline(['k1:9093']), own)).toEqual({ own });
  expect(topicAdmin(pipeline(['k1:9093', 'elsewhere:9093']), own)).toEqual({ spec: 'operator' });
  expect(topicAdmin(pipeline(['k1:9093']), undefined)).toEqual({ spec: 'operator' });
});

test('a refusal names the principal it hit and the ACLs of its role, never a credential', () => {
  const p = pipeline(['k1:9093']);
  expect(failure(denied, p, { own }).message).toBe("Kafka k1:9093 denied the operator's own principal (TOPIC_AUTHORIZATION_FAILED): grant it the operator ACLs of docs/security.md (create, alter, describe, delete on the pipeline's topics)");
  expect(failure(denied, p, { spec: 'workers' }).message).toMatch(/^Kafka k1:9093 denied the workers' principal \(TOPIC_AUTHORIZATION_FAILED\): grant it the workers' ACLs of docs\/security.md \(read the sources and the group/);
  expect(failure(denied, p).message).toMatch(/denied the pipeline's principal .* the operator ACLs/);
  const ownRefused = failure(wrongPassword, p, { own });
  expect(ownRefused).toMatchObject({ reason: 'KafkaAuthenticationFailed', retrying: true });
  expect(ownRefused.message).toBe("Kafka k1:9093 refused the operator's own credentials (--kafka-admin-config /etc/adpipe/kafka-admin/client.properties): check the username and password in the file against the broker's SCRAM credentials");
  expect(failure(wrongPassword, p, { spec: 'workers' }).message).toMatch(/refused the scram-sha-512 credentials of Secret kafka-user \(spec.kafka.sasl.secretRef, the workers' identity\)/);
  for (const principal of [{ own }, { spec: 'workers' as const }]) expect(JSON.stringify(failure(wrongPassword, p, principal))).not.toContain('never-shown');
});
