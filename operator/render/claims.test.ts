import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { claimedTopics, sharedTopics, tableClaimant } from './claims.js';

const pipeline = (name: string, created: string, spec: Partial<AdPipeline['spec']> = {}, namespace = 'ns'): AdPipeline => ({
  apiVersion: 'adpipe.io/v1alpha1',
  kind: 'AdPipeline',
  metadata: { name, namespace, uid: `${namespace}/${name}`, creationTimestamp: created },
  spec: { kafka: { bootstrapServers: ['k1:9092', 'k2:9092'] }, hbase: { zookeeperQuorum: 'z:2181' }, sources: sharedSources, ...spec },
});
const sharedSources = { bidRequests: { topic: 'bid-requests' }, impressions: { topic: 'ad-impressions' }, clicks: { topic: 'ad-clicks' }, conversions: { topic: 'ad-conversions' } };

test('pipelines left on default source topic names never share a topic', () => {
  const old = pipeline('a', '2026-01-01T00:00:00Z', { sources: {} });
  const young = pipeline('b', '2026-01-02T00:00:00Z', { sources: {} });
  expect(claimedTopics(young, [old, young]).size).toBe(0);
  expect(sharedTopics(old, [old, young]).size).toBe(0);
});

test('the older pipeline claims topic names both set; the younger sees the conflict', () => {
  const old = pipeline('a', '2026-01-01T00:00:00Z');
  const young = pipeline('b', '2026-01-02T00:00:00Z');
  expect([...claimedTopics(young, [old, young]).keys()]).toEqual(['bid-requests', 'ad-impressions', 'ad-clicks', 'ad-conversions']);
  expect(claimedTopics(young, [old]).get('ad-clicks')).toBe('ns/a');
  expect(claimedTopics(old, [old, young]).size).toBe(0);
});

test('another Kafka cluster (by its addresses) is no conflict; broker order does not matter', () => {
  const old = pipeline('a', '2026-01-01T00:00:00Z', { kafka: { bootstrapServers: ['other:9092'] } });
  const young = pipeline('b', '2026-01-02T00:00:00Z');
  expect(claimedTopics(young, [old]).size).toBe(0);
  const same = pipeline('c', '2026-01-01T00:00:00Z', { kafka: { bootstrapServers: ['k2:9092', 'k1:9092'] } });
  expect(claimedTopics(young, [same]).size).toBe(4);
});

test('deleting never removes a topic or table another live pipeline names', () => {
  const a = pipeline('a', '2026-01-01T00:00:00Z', { storage: { table: 't' } });
  const b = pipeline('b', '2026-01-02T00:00:00Z', { storage: { table: 't' } });
  expect(sharedTopics(a, [a, b]).size).toBe(4);
  expect(tableClaimant(a, [a, b], true)).toBe('ns/b');
  expect(tableClaimant(a, [a, b])).toBeUndefined();
  expect(tableClaimant(b, [a, b])).toBe('ns/a');
  const gone = { ...b, metadata: { ...b.metadata, deletionTimestamp: '2026-01-03T00:00:00Z' } };
  expect(sharedTopics(a, [a, gone]).size).toBe(0);
});
