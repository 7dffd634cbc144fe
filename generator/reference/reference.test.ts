import { ReferencePipeline } from './pipeline.js';
import { answerQuery } from './query.js';
import { splitCsvMessage } from './csv.js';
import { parseTimestamp } from './timestamps.js';
import { decodeClickMessage, decodeConversionMessage, decodeImpressionMessage } from './decode.js';
import type { BidRequest } from '../contract.js';
import type { Expected, ResolvedOptions } from '../types.js';

// Unit tests of the reference rules, each tied to a sentence of docs/contract/events.md.

const NOW = Date.UTC(2026, 5, 1, 12);
const T = Date.UTC(2026, 0, 5, 10); // 2026-01-05T10:00:00Z
const H = 3_600_000;
const DAY = 24 * H;
const GEN: ResolvedOptions = { seed: 0, impressions: 0, baseTime: Date.UTC(2026, 0, 5), hours: 1, campaigns: 1, edgeCases: false };

function imp(id: string, ts: number | string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { impression_id: id, request_id: `req-${id}`, campaign_id: 'c1', ts, price_micros: 1000, ...extra };
}
function bid(requestId: string, country: string, device: BidRequest['device_type'], ts = T): BidRequest {
  return { request_id: requestId, ts, exchange: 'x', publisher_id: 'p', site_domain: null, app_bundle: null, device_type: device, country, user_id: null, floor_price_micros: 1 };
}
const iso = (ms: number): string => new Date(ms).toISOString();

function run(feed: (p: ReferencePipeline) => void, rules = {}): Expected {
  const p = new ReferencePipeline({ processingTimeMs: NOW, ...rules });
  feed(p);
  return p.finish(GEN);
}
const response = (e: Expected, granularity: 'hour' | 'day' = 'hour', by?: 'country' | 'device_type') =>
  e.queries.find((q) => q.query.campaign_id === 'c1' && q.query.granularity === granularity && q.query.by === by)!.response;

describe('timestamps: "ISO-8601 with offset, or epoch millis"', () => {
  it.each([
    ['2026-01-05T10:00:00Z', T],
    ['2026-01-05T10:00:00.000Z', T],
    ['2026-01-05T15:30:00+05:30', T],
    ['2026-01-05T02:00:00.000-08:00', T],
    ['2026-01-04T23:00:00-11:00', T],
    ['2026-01-05T10:00:00.5Z', T + 500],
    ['2026-01-05T10:00:00.123456Z', T + 123],
    [T, T],
    [String(T), T],
  ])('%p is %p', (text, ms) => expect(parseTimestamp(text)).toBe(ms));

  it.each([['2026-01-05T10:00:00'], ['2026-01-05 10:00:00Z'], ['2026-02-30T10:00:00Z'], ['2026-01-05T24:00:00Z'], ['yesterday'], [''], [-1], [1.5], [null], [true]])(
    '%p is not a timestamp',
    (value) => expect(parseTimestamp(value)).toBeUndefined(),
  );
});

describe('decode and validate', () => {
  const reasons = (text: string) => decodeImpressionMessage(text).map((o) => (o.ok ? 'ok' : o.reason));

  it('accepts an object and every element of an array, and ignores unknown fields', () => {
    expect(reasons(JSON.stringify(imp('a', T, { whatever: { x: 1 } })))).toEqual(['ok']);
    expect(reasons(JSON.stringify([imp('a', T), imp('b', iso(T))]))).toEqual(['ok', 'ok']);
  });

  it.each([
    ['json.parse', '{"impression_id":'],
    ['json.type', '"a string"'],
    ['field.missing:impression_id', JSON.stringify({ ...imp('a', T), impression_id: undefined })],
    ['field.missing:request_id', JSON.stringify({ ...imp('a', T), request_id: undefined })],
    ['field.missing:campaign_id', JSON.stringify({ ...imp('a', T), campaign_id: '' })],
    ['field.missing:ts', JSON.stringify({ ...imp('a', T), ts: null })],
    ['field.missing:price_micros', JSON.stringify({ ...imp('a', T), price_micros: undefined })],
    ['field.type:price_micros', JSON.stringify(imp('a', T, { price_micros: '1000' }))],
    ['field.type:campaign_id', JSON.stringify(imp('a', T, { campaign_id: 7 }))],
    ['field.type:creative_id', JSON.stringify(imp('a', T, { creative_id: 7 }))],
    ['field.type:ts', JSON.stringify(imp('a', '2026-01-05T10:00:00'))],
    ['field.range:price_micros', JSON.stringify(imp('a', T, { price_micros: -1 }))],
    ['field.range:price_micros', JSON.stringify(imp('a', T, { price_micros: 0.5 }))],
    ['field.range:impression_id', JSON.stringify(imp('x'.repeat(129), T))],
  ])('%s', (reason, text) => expect(reasons(text)).toEqual([reason]));

  it('takes ids of exactly 128 characters and a price of 0', () => {
    expect(reasons(JSON.stringify(imp('x'.repeat(128), T, { price_micros: 0 })))).toEqual(['ok']);
  });

  it('splits CSV by RFC 4180: quotes, doubled quotes, quoted line breaks, LF and CRLF, no record after the final break', () => {
    expect(splitCsvMessage('a,"b,c","say ""hi"""\r\nd,"e\r\nf",g\n')).toEqual([{ fields: ['a', 'b,c', 'say "hi"'] }, { fields: ['d', 'e\r\nf', 'g'] }]);
    expect(splitCsvMessage('a,"b\nc,d')).toEqual([{ error: 'csv.quote', text: 'a,"b\nc,d' }]);
    expect(splitCsvMessage('a,b"c,d')).toEqual([{ error: 'csv.quote', text: 'a,b"c,d' }]);
  });

  it('"one bad line in a multi-line CSV message dead-letters that line only"', () => {
    const out = decodeClickMessage(`k1,i1,${T},u\nk2,i1,${T}\r\nk3,i1,${iso(T)},\n`);
    expect(out.map((o) => (o.ok ? o.record.click_id : o.reason))).toEqual(['k1', 'csv.column_count', 'k3']);
    expect(out[2]).toEqual({ ok: true, record: { click_id: 'k3', impression_id: 'i1', ts: T, user_id: null } });
  });

  it('validates click and conversion columns', () => {
    const click = (line: string) => decodeClickMessage(line).map((o) => (o.ok ? 'ok' : o.reason))[0];
    expect(click(`,i1,${T},u`)).toBe('field.missing:click_id');
    expect(click(`k,,${T},u`)).toBe('field.missing:impression_id');
    expect(click('k,i1,soon,u')).toBe('field.type:ts');
    expect(click(`k,i1,${T},u,extra`)).toBe('csv.column_count');
    const conv = (line: string) => decodeConversionMessage(line).map((o) => (o.ok ? 'ok' : o.reason))[0];
    expect(conv(`v,k,${T},purchase,100`)).toBe('ok');
    expect(conv(`v,k,${T},"free, text",0`)).toBe('ok');
    expect(conv(`v,k,${T},purchase,-5`)).toBe('field.range:value_micros');
    expect(conv(`v,k,${T},purchase,1.5`)).toBe('field.range:value_micros');
    expect(conv(`v,k,${T},purchase,`)).toBe('field.missing:value_micros');
    expect(conv(`v,k,${T},purchase`)).toBe('csv.column_count');
  });
});

describe('pipeline rules', () => {
  it('"more than 1 hour in the future of processing time" is invalid; exactly 1 hour is not', () => {
    const e = run((p) => {
      p.impression(JSON.stringify(imp('a', NOW + H)));
      p.impression(JSON.stringify(imp('b', NOW + H + 1)));
      p.bidRequest(bid('r', 'US', 'MOBILE', NOW + H + 1));
    });
    expect(e.stats.accepted.impressions).toBe(1);
    expect(e.stats.invalid).toEqual({ bidRequests: 1, impressions: 1, clicks: 0, conversions: 0 });
  });

  it('counts an id once, the first accepted copy; an invalid copy does not take the id', () => {
    const e = run((p) => {
      p.impression(JSON.stringify(imp('a', T, { price_micros: -1 })));
      p.impression(JSON.stringify([imp('a', T), imp('a', T)]));
      p.impression(JSON.stringify(imp('a', T)));
      p.click(`k,a,${T},\r\nk,a,${T},`);
      p.bidRequest(bid('req-a', 'US', 'MOBILE'));
      p.bidRequest(bid('req-a', 'US', 'MOBILE'));
    });
    expect(e.stats.accepted).toEqual({ bidRequests: 1, impressions: 1, clicks: 1, conversions: 0 });
    expect(e.stats.duplicates).toEqual({ bidRequests: 1, impressions: 2, clicks: 1, conversions: 0 });
    expect(e.stats.invalid.impressions).toBe(1);
    expect(response(e).totals).toEqual({ impressions: 1, clicks: 1, conversions: 0, spend_micros: 1000, revenue_micros: 0 });
  });

  it('attributes clicks when 0 <= click.ts - impression.ts <= 24h, both ends included', () => {
    const e = run((p) => {
      p.impression(JSON.stringify([imp('a', T), imp('b', T), imp('c', T), imp('d', T)]));
      p.click([`k1,a,${T},`, `k2,b,${T + DAY},`, `k3,c,${T + DAY + 1},`, `k4,d,${T - 1},`, `k5,missing,${T},`].join('\n'));
    });
    expect(response(e).totals.clicks).toBe(2);
    expect(e.stats.unattributed_clicks).toBe(3);
  });

  it('attributes conversions when their click is attributed and 0 <= conversion.ts - click.ts <= 7d', () => {
    const e = run((p) => {
      p.impression(JSON.stringify([imp('a', T), imp('b', T)]));
      p.click(`k1,a,${T},\nk2,b,${T + DAY + 1},`); // k2 is unattributed
      p.conversion(
        [`v1,k1,${T + 7 * DAY},purchase,100`, `v2,k1,${T + 7 * DAY + 1},purchase,200`, `v3,k1,${T - 1},purchase,400`, `v4,k2,${T + DAY + 2},purchase,800`, `v5,nope,${T},lead,1`].join('\n'),
      );
    });
    expect(response(e).totals).toMatchObject({ conversions: 1, revenue_micros: 100 });
    expect(e.stats.unattributed_conversions).toBe(4);
  });

  it('uses the configured windows', () => {
    const e = run(
      (p) => {
        p.impression(JSON.stringify(imp('a', T)));
        p.click(`k1,a,${T + 2 * H},`);
      },
      { attributionWindowMs: H },
    );
    expect(e.stats.unattributed_clicks).toBe(1);
  });

  it('does not depend on arrival order: a click before its impression, a bid request after its impression', () => {
    const forward = run((p) => {
      p.bidRequest(bid('req-a', 'DE', 'TABLET'));
      p.impression(JSON.stringify(imp('a', T)));
      p.click(`k,a,${T + 1},`);
      p.conversion(`v,k,${T + 2},purchase,5`);
    });
    const backward = run((p) => {
      p.conversion(`v,k,${T + 2},purchase,5`);
      p.click(`k,a,${T + 1},`);
      p.impression(JSON.stringify(imp('a', T)));
      p.bidRequest(bid('req-a', 'DE', 'TABLET'));
    });
    expect(backward).toEqual(forward);
    expect(response(forward, 'hour', 'country').rows.map((r) => r.dimension)).toEqual(['DE']);
  });

  it("enriches from the bid request, else 'unknown' (none, or only an invalid one); clicks and conversions inherit", () => {
    const e = run((p) => {
      p.bidRequest(bid('req-a', 'US', 'MOBILE'));
      p.bidRequest(bid('req-b', 'GB', 'CTV', Date.UTC(2100, 0, 1)));
      p.impression(JSON.stringify([imp('a', T), imp('b', T), imp('c', T)]));
      p.click(`k,a,${T + 1},\nkb,b,${T + 1},`);
    });
    const byCountry = response(e, 'hour', 'country').rows;
    expect(byCountry.map((r) => [r.dimension, r.impressions, r.clicks])).toEqual([
      ['US', 1, 1],
      ['unknown', 2, 1],
    ]);
    expect(response(e, 'hour', 'device_type').rows.map((r) => r.dimension)).toEqual(['MOBILE', 'unknown']);
  });

  it('aggregates per UTC hour of each event\'s own ts; offsets move events across hours and days', () => {
    const e = run((p) => {
      p.impression(JSON.stringify(imp('a', '2026-01-05T23:30:00.000-01:00'))); // 2026-01-06T00:30Z
      p.impression(JSON.stringify(imp('b', Date.UTC(2026, 0, 5, 23, 59, 59, 999))));
      p.click(`k,b,2026-01-06T01:00:00.000+01:00,`); // 00:00Z next day, at the click's hour
      p.conversion(`v,k,${Date.UTC(2026, 0, 6, 3)},purchase,3000`);
    });
    const hours = response(e).rows.map((r) => [r.start, r.impressions, r.clicks, r.conversions, r.revenue_micros]);
    expect(hours).toEqual([
      ['2026-01-05T23:00:00Z', 1, 0, 0, 0],
      ['2026-01-06T00:00:00Z', 1, 1, 0, 0],
      ['2026-01-06T03:00:00Z', 0, 0, 1, 3000],
    ]);
    const days = response(e, 'day').rows.map((r) => [r.start, r.impressions, r.clicks, r.conversions]);
    expect(days).toEqual([
      ['2026-01-05T00:00:00Z', 1, 0, 0],
      ['2026-01-06T00:00:00Z', 1, 1, 1],
    ]);
    expect(e.window).toEqual({ from: '2026-01-05T00:00:00Z', to: '2026-01-07T00:00:00Z' });
  });

  it('computes ratios as in the contract example, null where the denominator is 0', () => {
    const ten = Array.from({ length: 10 }, (_, i) => imp(`i${i}`, T, { price_micros: 1200 }));
    const e = run((p) => {
      p.impression(JSON.stringify(ten));
      p.click(`k1,i0,${T},\nk2,i1,${T},`);
      p.conversion(`v1,k1,${T},purchase,50000`);
      p.impression(JSON.stringify(imp('late', T + 5 * H)));
    });
    const [row, lone] = response(e).rows;
    expect(row).toMatchObject({ impressions: 10, clicks: 2, conversions: 1, spend_micros: 12000, revenue_micros: 50000, ctr: 0.2, cvr: 0.5, cpc_micros: 6000, cpa_micros: 12000, roas: 4.1667 });
    expect(lone).toMatchObject({ impressions: 1, clicks: 0, ctr: 0, cvr: null, cpc_micros: null, cpa_micros: null, roas: 0 });
  });

  it('answers other whole-hour windows: from inclusive, to exclusive, empty buckets omitted', () => {
    const e = run((p) => p.impression(JSON.stringify([imp('a', T), imp('b', T + H), imp('c', T + 3 * H)])));
    expect(e.queries.length).toBe(6);
    expect(() => answerQuery(undefined, { campaign_id: 'c1', granularity: 'hour', from: iso(T + 1), to: iso(T + H) })).toThrow(/whole-hour/);
    const rows = response(e).rows.map((r) => r.start);
    expect(rows).toEqual([iso(T), iso(T + H), iso(T + 3 * H)].map((s) => s.replace('.000Z', 'Z')));
  });
});
