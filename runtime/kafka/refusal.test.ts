import type { RuntimeConfig } from '../../api/runtime-config.js';
import { REFUSAL_BACKOFF, refusalBackoffMs, refusalReason } from './refusal.js';

const kafka: RuntimeConfig['kafka'] = {
  brokers: ['b1:9093', 'b2:9093'],
  clientId: 'w',
  groupId: 'adpipe-demo',
  tls: { caFile: '/etc/adpipe/kafka-tls/ca.crt' },
  sasl: { mechanism: 'scram-sha-512', usernameFile: '/etc/adpipe/kafka-sasl/username', passwordFile: '/etc/adpipe/kafka-sasl/password' },
};

test('the backoff doubles from 1 s to at most 5 min, jittered between half the ceiling and the ceiling', () => {
  const ceilings = Array.from({ length: 12 }, (_, attempt) => refusalBackoffMs(attempt, undefined, () => 1));
  expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000]);
  expect(refusalBackoffMs(0, undefined, () => 0)).toBe(500);
  expect(refusalBackoffMs(50, undefined, () => 0)).toBe(REFUSAL_BACKOFF.maxDelayMs / 2);
  expect(refusalBackoffMs(50, 4000, () => 1)).toBe(4000);
});

test('each refusal names its condition reason, the brokers and what to fix, with no file contents', () => {
  expect(refusalReason({ kind: 'authentication', detail: 'SASL authentication failed' }, kafka)).toBe(
    "KafkaAuthenticationFailed: Kafka b1:9093,b2:9093 refused the scram-sha-512 credentials in /etc/adpipe/kafka-sasl/username and /etc/adpipe/kafka-sasl/password (SASL authentication failed): check them against the broker's SCRAM credentials; the worker tries again with backoff",
  );
  expect(refusalReason({ kind: 'authorization', detail: 'TOPIC_AUTHORIZATION_FAILED' }, kafka)).toMatch(/^KafkaAuthorizationFailed: Kafka b1:9093,b2:9093 denied the workers' principal \(TOPIC_AUTHORIZATION_FAILED\): grant .*group adpipe-demo/);
  expect(refusalReason({ kind: 'tls', detail: 'SELF_SIGNED_CERT_IN_CHAIN' }, kafka)).toMatch(/^KafkaTLSUntrusted: Kafka b1:9093,b2:9093 presented a TLS certificate not signed by the CA in \/etc\/adpipe\/kafka-tls\/ca.crt \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  expect(refusalReason({ kind: 'tls', detail: 'CERT_HAS_EXPIRED' }, { ...kafka, tls: {} })).toContain('the system CAs');
});
