import type { AdPipeline } from '../api/v1alpha1/index.js';
import { needsReconcile } from './operator.js';

// Which AdPipeline updates are worth a reconcile: spec, deletion, steering annotations, a lost
// finalizer — never the operator's own status writes.

const base: AdPipeline = {
  apiVersion: 'adpipe.io/v1alpha1',
  kind: 'AdPipeline',
  metadata: { name: 'p', namespace: 'n', uid: 'u', generation: 1, resourceVersion: '1', finalizers: ['adpipe.io/cleanup'] },
  spec: { kafka: { bootstrapServers: ['k:9092'] }, hbase: { zookeeperQuorum: 'z:2181' } },
};
const with_ = (change: (p: AdPipeline) => void) => {
  const copy = structuredClone(base);
  copy.metadata.resourceVersion = '2';
  change(copy);
  return copy;
};

test('status-only writes are skipped', () => {
  expect(needsReconcile(base, with_((p) => (p.status = { observedGeneration: 1 })))).toBe(false);
  expect(needsReconcile(base, with_((p) => (p.metadata.labels = { team: 'x' })))).toBe(false);
});

test('spec, deletion, annotations and a missing finalizer are not', () => {
  expect(needsReconcile(base, with_((p) => (p.metadata.generation = 2)))).toBe(true);
  expect(needsReconcile(base, with_((p) => (p.metadata.deletionTimestamp = '2026-01-01T00:00:00Z')))).toBe(true);
  expect(needsReconcile(base, with_((p) => (p.metadata.annotations = { 'adpipe.io/paused': 'true' })))).toBe(true);
  expect(needsReconcile(base, with_((p) => (p.metadata.annotations = { 'adpipe.io/managed': 'false' })))).toBe(true);
  expect(needsReconcile(base, with_((p) => (p.metadata.finalizers = [])))).toBe(true);
});
