import { isConnectionError, kafkaRefusal } from './errors.js';

// The shapes kafkajs 2.2.4 gives for each refusal, as seen against the stack's SASL_SSL listener.

test('a wrong password is an authentication refusal', () => {
  const error = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'), { name: 'KafkaJSSASLAuthenticationError' });
  expect(kafkaRefusal(error)).toEqual({ kind: 'authentication', detail: 'SASL authentication failed' });
});

test('an untrusted certificate is a TLS refusal, even wrapped in retries (and not mistaken for an unreachable broker first)', () => {
  const cause = Object.assign(new Error('Connection error: unable to verify the first certificate'), { name: 'KafkaJSConnectionError', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  const error = Object.assign(new Error(cause.message), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: cause });
  expect(kafkaRefusal(error)).toEqual({ kind: 'tls', detail: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  expect(isConnectionError(error)).toBe(true);
});

test('a missing ACL is an authorization refusal, also inside an aggregate of per-topic errors', () => {
  const perTopic = Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), { name: 'KafkaJSCreateTopicError', type: 'TOPIC_AUTHORIZATION_FAILED' });
  const aggregate = Object.assign(new Error('Topic creation errors'), { name: 'KafkaJSAggregateError', errors: [perTopic] });
  expect(kafkaRefusal(aggregate)).toEqual({ kind: 'authorization', detail: 'TOPIC_AUTHORIZATION_FAILED' });
  expect(kafkaRefusal(Object.assign(new Error('x'), { type: 'GROUP_AUTHORIZATION_FAILED' }))).toEqual({ kind: 'authorization', detail: 'GROUP_AUTHORIZATION_FAILED' });
});

test('anything else is no refusal', () => {
  expect(kafkaRefusal(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' }))).toBeUndefined();
  expect(kafkaRefusal(Object.assign(new Error('x'), { type: 'INVALID_PARTITIONS' }))).toBeUndefined();
  expect(kafkaRefusal(undefined)).toBeUndefined();
});
