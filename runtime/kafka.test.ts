import { refusalLogLine } from './kafka.js';

// The lines kafkajs 2.2.4 logged against the stack's SASL_SSL listener for each refusal, and lines that are no refusal.

test("kafkajs's lines about a refusal are recognised, other lines are not", () => {
  expect(refusalLogLine('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512', {})).toBe(true);
  expect(refusalLogLine('Response SaslAuthenticate(key: 36, version: 1)', { error: 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' })).toBe(true);
  expect(refusalLogLine('Response Metadata(key: 3, version: 6)', { error: 'Not authorized to access topics: [Topic authorization failed]' })).toBe(true);
  expect(refusalLogLine('Connection error: unable to verify the first certificate', {})).toBe(true);
  expect(refusalLogLine('Response Heartbeat(key: 12, version: 3)', { error: 'The group is rebalancing, so a rejoin is needed' })).toBe(false);
  expect(refusalLogLine('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {})).toBe(false);
});
