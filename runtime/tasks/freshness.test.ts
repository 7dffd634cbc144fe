import { PendingFreshness } from './freshness.js';

test("the newest event time and oldest arrival per source since the last take; other kinds don't count", () => {
  const pending = new PendingFreshness();
  const id = new Uint8Array(12) as never;
  pending.note({ kind: 'I', impressionId: id, requestId: id, campaignId: 'c', ts: 2000, priceMicros: 1, arrivalMs: 5000 });
  pending.note({ kind: 'I', impressionId: id, requestId: id, campaignId: 'c', ts: 1000, priceMicros: 1, arrivalMs: 4000 });
  pending.note({ kind: 'B', requestId: id, country: 'DE', deviceType: 'mobile', arrivalMs: 3000 });
  pending.note({ kind: 'K', impressionId: id, clickId: id, ts: 9999, arrivalMs: 1 });
  expect(pending.take()).toEqual([
    { source: 'bidRequests', newestEventMs: undefined, oldestArrivalMs: 3000 },
    { source: 'impressions', newestEventMs: 2000, oldestArrivalMs: 4000 },
  ]);
  expect(pending.take()).toEqual([]);
});

test('what a failed write took is merged back with what arrived meanwhile', () => {
  const pending = new PendingFreshness();
  const id = new Uint8Array(12) as never;
  pending.note({ kind: 'I', impressionId: id, requestId: id, campaignId: 'c', ts: 2000, priceMicros: 1, arrivalMs: 5000 });
  const taken = pending.take();
  pending.note({ kind: 'I', impressionId: id, requestId: id, campaignId: 'c', ts: 1500, priceMicros: 1, arrivalMs: 6000 });
  pending.note({ kind: 'B', requestId: id, country: 'DE', deviceType: 'mobile', arrivalMs: 7000 });
  pending.merge(taken);
  expect(pending.take()).toEqual([
    { source: 'bidRequests', newestEventMs: undefined, oldestArrivalMs: 7000 },
    { source: 'impressions', newestEventMs: 2000, oldestArrivalMs: 5000 },
  ]);
});
