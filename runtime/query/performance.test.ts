import { aggregate, performanceRow, zeroCounters } from '../stages/aggregate.js';
import { saltSplitKeys, campaignPrefix, childPrefix, childQualifier, claimQualifier, countedAmount, countedQualifier, decodeCounted, encodeCounted, factQualifier, forEachBestCounted, hourKey, parseHourRow, parseStateQualifier, stateBucketsFor, stateRow, type EventKind } from '../storage/layout.js';
import { performanceQuery } from './performance.js';

test('query arguments: defaults, and errors that name the parameter', () => {
  expect(performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00+00:00' })).toMatchObject({ campaignId: 'c', granularity: 'hour', fromMs: Date.parse('2026-11-27T00:00:00Z') });
  expect(() => performanceQuery('c', { to: '2026-11-28T00:00:00Z' })).toThrow(/'from' is required/);
  expect(() => performanceQuery('c', { from: '2026-11-27', to: '2026-11-28T00:00:00Z' })).toThrow(/'from' must be an ISO-8601 time with offset/);
  expect(() => performanceQuery('c', { from: '2026-11-28T00:00:00Z', to: '2026-11-27T00:00:00Z' })).toThrow(/before/);
  expect(() => performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z', granularity: 'week' })).toThrow(/granularity/);
  expect(() => performanceQuery('c', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z', by: 'city' })).toThrow(/'by'/);
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

test('row keys: a campaign is one contiguous range ordered by hour; event ids of any text round-trip in qualifiers', () => {
  const rows = [hourKey('cmp-1', 10, 8), hourKey('cmp-1', 11, 8), hourKey('cmp-10', 10, 8)];
  expect(parseHourRow(rows[1]!)).toEqual({ campaignId: 'cmp-1', hourIndex: 11 });
  const [start, stop] = [hourKey('cmp-1', 10, 8), hourKey('cmp-1', 12, 8)];
  const inside = rows.filter((row) => Buffer.compare(row, start) >= 0 && Buffer.compare(row, stop) < 0);
  expect(inside).toHaveLength(2);
  expect(campaignPrefix('cmp-1', 8)[0]).toBeLessThan(8);
  expect(saltSplitKeys(4)).toEqual([Buffer.from([1]), Buffer.from([2]), Buffer.from([3])]);
});

test('counted events: each event once, at the best level written, whatever the ids and the order of the cells', () => {
  const cell = (enriched: boolean, kind: EventKind, id: string, amount: number, country: string) => ({
    qualifier: Buffer.from(countedQualifier(enriched, kind, id), 'utf8'),
    value: encodeCounted({ kind, campaignId: 'c', hourIndex: 1, eventId: id, amount, country, deviceType: 'phone', enriched }),
  });
  const cells = [
    cell(false, 'i', 'a', 10, 'unknown'),
    cell(true, 'i', 'a', 10, 'DE'), // upgraded: counted once, as DE
    cell(false, 'i', 'ab', 20, 'unknown'), // only level 1; its id extends another's
    cell(true, 'i', 'b,"x"\t2', 30, 'FR'), // only level 2
    cell(false, 'c', 'é', 0, 'unknown'),
    cell(true, 'c', 'é', 0, 'PL'),
    cell(false, 'v', 'z', 7, 'unknown'),
  ];
  const inHBaseOrder = [...cells].sort((a, b) => a.qualifier.compare(b.qualifier));
  const read = (input: typeof cells) => {
    const seen: string[] = [];
    forEachBestCounted(input, (kind, value) => seen.push(`${kind} ${countedAmount(value)} ${decodeCounted(value).country}`));
    return seen.sort();
  };
  const expected = ['c 0 PL', 'i 10 DE', 'i 20 unknown', 'i 30 FR', 'v 7 unknown'];
  expect(read(inHBaseOrder)).toEqual(expected);
  expect(read(cells)).toEqual(expected); // not in byte order (as a store might return them): still right
  expect(read([...inHBaseOrder].reverse())).toEqual(expected);
  expect(countedAmount(Buffer.from('123456789012\tDE\tphone'))).toBe(123456789012);
  // Roll-up columns and a second version of a cell are not events.
  const withOthers = [{ qualifier: Buffer.from('#w'), value: Buffer.alloc(0) }, { qualifier: Buffer.from('~c0'), value: Buffer.from('x') }, ...inHBaseOrder, inHBaseOrder[0]!, inHBaseOrder[1]!];
  expect(read(withOthers)).toEqual(expected);
});

test('state buckets: ids spread over every bucket of their kind, on every salt region; no id column is a prefix of another', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `imp-${i}`);
  const rows = new Set(ids.map((id) => stateRow('I', id, 4).toString('hex')));
  expect(rows.size).toBe(stateBucketsFor(4));
  expect(new Set([...rows].map((hex) => Buffer.from(hex, 'hex')[0]))).toEqual(new Set([0, 1, 2, 3]));
  expect(stateRow('I', 'x', 4)).not.toEqual(stateRow('C', 'x', 4));
  // 'a' and 'ab' share a textual prefix; their columns must not (a prefix read of 'a' must not return 'ab').
  expect(factQualifier('ab').startsWith(factQualifier('a'))).toBe(false);
  expect(childQualifier('ab', 'c').startsWith(childPrefix('a'))).toBe(false);
  expect(childQualifier('a', 'bc').startsWith(childPrefix('a'))).toBe(true);
  expect(claimQualifier('a:1')).not.toEqual(claimQualifier('a'));
  expect(parseStateQualifier(childQualifier('12:x', 'child:9'))).toEqual({ tag: 'x', id: '12:x', childId: 'child:9' });
  expect(parseStateQualifier(factQualifier('r-1'))).toEqual({ tag: 'f', id: 'r-1', childId: '' });
});
