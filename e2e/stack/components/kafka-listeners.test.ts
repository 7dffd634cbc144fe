import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import { stackStatus } from '../stack.js';
import { requireStackState } from '../state.js';
import { kafkaHealthy, kafkaServerProperties } from './kafka.js';

// The stack's broker (decision 0110): PLAINTEXT for the stack itself, SASL_SSL with SCRAM-SHA-512
// and the stack CA's certificate, ACLs enforced by StandardAuthorizer.

test('server.properties: both listeners with the authorizer; a private broker without TLS gets PLAINTEXT only', () => {
  const both = kafkaServerProperties('/data', { broker: 9092, controller: 9093, sasl: 9094 }, { keystore: '/pki/kafka-keystore.pem', caFile: '/pki/ca.crt' }, '127.0.0.1');
  expect(both).toContain('listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093\n');
  expect(both).toContain('listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512\n');
  expect(both).toContain('listener.name.sasl_ssl.ssl.keystore.type=PEM\n');
  expect(both).toContain('authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n');
  expect(both).toContain('super.users=User:ANONYMOUS;User:admin\n');
  const plain = kafkaServerProperties('/data', { broker: 9092, controller: 9093 }, undefined, '127.0.0.1');
  expect(plain).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:9092\n');
  expect(plain).not.toContain('sasl_ssl.');
});

test('status shows the SASL_SSL address; SCRAM users authenticate over TLS from the stack CA, a wrong password or an untrusted CA is refused', async () => {
  const state = requireStackState();
  const sasl = state.kafka.sasl;
  const kafka = (await stackStatus())!.find((server) => server.name === 'kafka')!;
  expect(kafka.healthy).toBe(true);
  expect(kafka.address).toBe(`${state.kafka.bootstrap} (PLAINTEXT), ${sasl.bootstrap} (SASL_SSL SCRAM-SHA-512)`);
  for (const user of ['admin', 'pipeline', 'producer', 'limited'] as const) {
    expect(await kafkaHealthy(sasl.bootstrap, { caFile: sasl.caFile, username: user, password: sasl.users[user] })).toBe(true);
  }
  expect(await kafkaHealthy(sasl.bootstrap, { caFile: sasl.caFile, username: 'producer', password: 'wrong' })).toBe(false);
  const untrusted = new Kafka({ clientId: 'untrusted', brokers: [sasl.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: sasl.users.admin } }).admin();
  await expect(untrusted.connect()).rejects.toThrow(/certificate/);
  // PLAINTEXT is ANONYMOUS, a super user on the stack: it may read the ACLs.
  const admin = new Kafka({ clientId: 'anonymous', brokers: [state.kafka.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await expect(admin.describeAcls({ resourceType: AclResourceTypes.ANY, host: '*', permissionType: AclPermissionTypes.ANY, operation: AclOperationTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY })).resolves.toBeDefined();
  } finally {
    await admin.disconnect();
  }
}, 60_000);
