import { aggregate, performanceRow, zeroCounters } from '../stages/aggregate.js';
import { saltSplitKeys, campaignPrefix, hourKey, parseHourRow } from '../storage/layout.js';
import { performanceQuery } from './performance.js';

test('query arguments: defaults, and errors that name the parameter', () => {
  expect(performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00+00:00' })).toMatchObject({ campaignId: 'c', granularity: 'hour', fromMs: Date.parse('2026-11-27T00:00:00Z') });
  expect(() => performanceQuery('c', { to: '2026-11-28T00:00:00Z' })).toThrow(/'from' is required/);
  expect(() => performanceQuery('c', { from: '2026-11-27', to: '2026-11-28T00:00:00Z' })).toThrow(/'from' must be an ISO-8601 time with offset/);
  expect(() => performanceQuery('c', { from: '2026-11-28T00:00:00Z', to: '2026-11-27T00:00:00Z' })).toThrow(/before/);
  expect(() => performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z', granularity: 'week' })).toThrow(/granularity/);
  expect(() => performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z', by: 'city' })).toThrow(/'by'/);
  // A range is capped at 366 days (a query reads every hour row in it).
  expect(performanceQuery('c', { from: '2024-01-01T00:00:00Z', to: '2025-01-01T00:00:00Z', granularity: 'day' })).toMatchObject({ granularity: 'day' });
  expect(() => performanceQuery('c', { from: '2024-01-01T00:00:00Z', to: '2025-01-01T00:00:01Z' })).toThrow(/longer than 366 days/);
});

test('ratios: 4 decimals, micros whole, null without a denominator (the contract example)', () => {
  const row = performanceRow(Date.parse('2026-11-27T20:00:00Z'), null, { impressions: 10, clicks: 2, conversions: 1, spend_micros: 12000, revenue_micros: 50000 });
  expect(row).toEqual({ start: '2026-11-27T20:00:00Z', dimension: null, impressions: 10, clicks: 2, conversions: 1, spend_micros: 12000, revenue_micros: 50000, ctr: 0.2, cvr: 0.5, cpc_micros: 6000, cpa_micros: 12000, roas: 4.1667 });
  expect(performanceRow(0, 'US', zeroCounters())).toMatchObject({ ctr: null, cvr: null, cpc_micros: null, cpa_micros: null, roas: null });
});

test('buckets in [from, to): hour starts only, days summed, rows by start then dimension in code-unit order', () => {
  const h = (iso: string) => Date.parse(iso) / 3_600_000;
  const events = [
    { hourIndex: h('2026-11-26T23:00:00Z'), kind: 'i' as const, amount: 1, country: 'US', deviceType: 'MOBILE' },
    { hourIndex: h('2026-11-27T01:00:00Z'), kind: 'i' as const, amount: 5, country: 'unknown', deviceType: 'unknown' },
    { hourIndex: h('2026-11-27T01:00:00Z'), kind: 'c' as const, amount: 0, country: 'US', deviceType: 'MOBILE' },
    { hourIndex: h('2026-11-27T05:00:00Z'), kind: 'v' as const, amount: 7, country: 'US', deviceType: 'MOBILE' },
    { hourIndex: h('2026-11-28T00:00:00Z'), kind: 'i' as const, amount: 9, country: 'US', deviceType: 'MOBILE' },
  ];
  const query = { campaignId: 'c', from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z', granularity: 'day' as const, by: 'country' as const };
  const response = aggregate(events, query, Date.parse(query.from), Date.parse(query.to));
  expect(response.rows.map((r) => [r.start, r.dimension, r.impressions, r.clicks, r.conversions, r.revenue_micros])).toEqual([
    ['2026-11-27T00:00:00Z', 'US', 0, 1, 1, 7],
    ['2026-11-27T00:00:00Z', 'unknown', 1, 0, 0, 0],
  ]);
  expect(response.totals).toEqual({ impressions: 1, clicks: 1, conversions: 1, spend_micros: 5, revenue_micros: 7 });
});

test('row keys: a campaign is one contiguous range ordered by hour', () => {
  const rows = [hourKey('cmp-1', 10, 8), hourKey('cmp-1', 11, 8), hourKey('cmp-10', 10, 8)];
  expect(parseHourRow(rows[1]!)).toEqual({ campaignId: 'cmp-1', hourIndex: 11 });
  const [start, stop] = [hourKey('cmp-1', 10, 8), hourKey('cmp-1', 12, 8)];
  const inside = rows.filter((row) => Buffer.compare(row, start) >= 0 && Buffer.compare(row, stop) < 0);
  expect(inside).toHaveLength(2);
  expect(campaignPrefix('cmp-1', 8)[0]).toBeLessThan(8);
  expect(saltSplitKeys(4)).toEqual([Buffer.from([1]), Buffer.from([2]), Buffer.from([3])]);
});
