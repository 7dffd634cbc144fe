import { mergeConditions, Reason, summarize, type ComponentReport } from './conditions.js';
import { statusChanged } from './status.js';

const ok = (reason: ComponentReport['reason']): ComponentReport => ({ status: 'True', reason, message: 'fine' });

test('all components ready: Ready True, not reconciling, not stalled', () => {
  const c = summarize({ topics: ok(Reason.TopicsReady), storage: ok(Reason.TableReady), workers: ok(Reason.WorkersAvailable) }, 3);
  expect(c.map((x) => [x.type, x.status, x.reason])).toEqual([
    ['Ready', 'True', 'Ready'],
    ['TopicsReady', 'True', 'TopicsReady'],
    ['StorageReady', 'True', 'TableReady'],
    ['WorkersReady', 'True', 'WorkersAvailable'],
    ['Reconciling', 'False', 'ReconcileComplete'],
    ['Stalled', 'False', 'NotStalled'],
  ]);
  expect(c.every((x) => x.observedGeneration === 3)).toBe(true);
});

test('Kafka down: Ready False with the component reason, Reconciling RetryingAfterError', () => {
  const down: ComponentReport = { status: 'False', reason: Reason.KafkaUnavailable, message: 'Kafka is unreachable', retrying: true };
  const c = summarize({ topics: down, storage: ok(Reason.TableReady), workers: ok(Reason.WorkersAvailable) }, 1);
  expect(c.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'KafkaUnavailable' });
  expect(c.find((x) => x.type === 'Reconciling')).toMatchObject({ status: 'True', reason: 'RetryingAfterError' });
});

test('a refused change stalls', () => {
  const refused: ComponentReport = { status: 'False', reason: Reason.PartitionDecreaseNotSupported, message: 'no', stalled: true };
  const c = summarize({ topics: refused, storage: ok(Reason.TableReady), workers: ok(Reason.WorkersAvailable) }, 1);
  expect(c.find((x) => x.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'PartitionDecreaseNotSupported' });
  expect(c.find((x) => x.type === 'Reconciling')).toMatchObject({ status: 'False' });
});

test('an unchanged status keeps its transition times and needs no write', () => {
  const next = summarize({ topics: ok(Reason.TopicsReady), storage: ok(Reason.TableReady), workers: ok(Reason.WorkersAvailable) }, 1);
  const first = mergeConditions(undefined, next, new Date('2026-01-01T00:00:00Z'));
  const second = mergeConditions(first, next, new Date('2026-01-02T00:00:00Z'));
  expect(second).toEqual(first);
  expect(statusChanged({ observedGeneration: 1, conditions: first }, { observedGeneration: 1, conditions: second })).toBe(false);
  expect(statusChanged({ observedGeneration: 1, conditions: first }, { observedGeneration: 2, conditions: second })).toBe(true);
});
