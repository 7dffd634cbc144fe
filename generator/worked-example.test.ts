import { generate } from './index.js';

// The tiny set worked through by hand in docs/generator.md ("Worked example"): if this changes, the
// hand check has to be redone.

test('seed 1, 5 impressions: cmp-edge and the stats are what the hand check found', () => {
  const { expected, messages } = generate({ seed: 1, impressions: 5 });
  expect([messages.bidRequests.length, messages.impressions.length, messages.clicks.length, messages.conversions.length]).toEqual([13, 30, 8, 5]);
  expect(expected.stats).toEqual({
    accepted: { bidRequests: 10, impressions: 12, clicks: 9, conversions: 8 },
    invalid: { bidRequests: 2, impressions: 18, clicks: 7, conversions: 8 },
    duplicates: { bidRequests: 1, impressions: 1, clicks: 2, conversions: 1 },
    unattributed_clicks: 3,
    unattributed_conversions: 5,
  });
  const answer = (granularity: 'hour' | 'day', by?: 'country') =>
    expected.queries.find((q) => q.query.campaign_id === 'cmp-edge' && q.query.granularity === granularity && q.query.by === by)!.response;

  const rows = (granularity: 'hour' | 'day', by?: 'country') =>
    answer(granularity, by).rows.map((r) => [r.start.slice(5, 16), r.dimension, r.impressions, r.clicks, r.conversions, r.spend_micros, r.revenue_micros]);
  expect(rows('hour', 'country')).toEqual([
    ['01-02T05:00', 'DE', 1, 0, 0, 2000, 0],
    ['01-02T06:00', 'US', 1, 1, 0, 1000, 0],
    ['01-02T07:00', 'IN', 1, 0, 0, 3000, 0],
    ['01-02T08:00', 'unknown', 1, 1, 0, 5000, 0],
    ['01-02T09:00', 'GB', 1, 1, 0, 6000, 0],
    ['01-02T10:00', 'FR', 1, 0, 0, 7000, 0],
    ['01-02T11:00', 'FR', 0, 1, 0, 0, 0],
    ['01-03T00:00', 'unknown', 1, 1, 0, 4000, 0],
    ['01-03T02:00', 'unknown', 0, 0, 1, 0, 0],
    ['01-03T05:00', 'DE', 0, 1, 1, 0, 1_500_000],
    ['01-09T06:00', 'US', 0, 0, 1, 0, 25_000_000],
  ]);
  expect(answer('day').rows.map(({ start, impressions, clicks, conversions, spend_micros, revenue_micros, ctr, cvr, cpc_micros, cpa_micros, roas }) => ({
    start, impressions, clicks, conversions, spend_micros, revenue_micros, ctr, cvr, cpc_micros, cpa_micros, roas,
  }))).toEqual([
    { start: '2026-01-02T00:00:00Z', impressions: 6, clicks: 4, conversions: 0, spend_micros: 24000, revenue_micros: 0, ctr: 0.6667, cvr: 0, cpc_micros: 6000, cpa_micros: null, roas: 0 },
    { start: '2026-01-03T00:00:00Z', impressions: 1, clicks: 2, conversions: 2, spend_micros: 4000, revenue_micros: 1_500_000, ctr: 2, cvr: 1, cpc_micros: 2000, cpa_micros: 2000, roas: 375 },
    { start: '2026-01-09T00:00:00Z', impressions: 0, clicks: 0, conversions: 1, spend_micros: 0, revenue_micros: 25_000_000, ctr: null, cvr: null, cpc_micros: null, cpa_micros: 0, roas: null },
  ]);
  expect(answer('hour').totals).toEqual({ impressions: 7, clicks: 6, conversions: 3, spend_micros: 28000, revenue_micros: 26_500_000 });
  expect(expected.window).toEqual({ from: '2026-01-02T00:00:00Z', to: '2026-01-10T00:00:00Z' });
});
