import type avro from 'avsc';
import { DAY_MS, HOUR_MS, type BidRequest, type DeviceType } from './contract.js';
import { csvField, FAR_FUTURE_TS, isoWithOffset, isoZ } from './format.js';
import type { MessageSink } from './generate.js';
import type { Intent } from './types.js';

/**
 * The scripted part of every set: campaign `cmp-edge`, whose events sit on the contract's edges
 * (hour and day boundaries, offsets, exactly-at and just-past both windows, arrival before the
 * partner, missing and invalid partners) plus one record of every invalid kind. Its expected rows
 * are small enough to check by hand (docs/generator.md walks through them).
 *
 * With B the base time (a UTC midnight), E = B + 6h and D = B + 24h:
 *   impressions e1..e7 at E, E-1ms, E+1h, D, E+2h15m, E+3h, E+4h;
 *   clicks k1 (e1, +0), k2 (e2, +24h exactly), k3 (e3, +24h+1ms: unattributed), k4 (e1, -1ms:
 *   unattributed), k5 (e4, +10m), k6 (no impression), k7 (e6, +5m, twice), k8 (e7, +1h), k9 (e5, +30s);
 *   conversions v1 (k1, +7d exactly), v2 (k7, +7d+1ms), v3 (k3: click unattributed), v4 (k2, +0),
 *   v5 (k5, +2h), v6 (no click), v7 (k4: click unattributed), v8 (k8, -1ms).
 */
export interface EdgeContext {
  seed: number;
  baseTime: number;
  sink: MessageSink;
  intent: Intent;
  avroType: avro.Type;
  valid: (ts: number) => number;
}

export interface LateEdgeMessages {
  bidRequests(): void;
  impressions(): void;
  clicks(): void;
  conversions(): void;
}

const FUTURE = FAR_FUTURE_TS;

export function writeEdgeCases(ctx: EdgeContext): LateEdgeMessages {
  const { seed, baseTime: B, sink, intent, valid } = ctx;
  const E = B + 6 * HOUR_MS;
  const D = B + DAY_MS;
  const id = (kind: string, name: string): string => `${kind}-${seed}-${name}`;

  // Bid requests: e1, e2, e3, e6, e7 valid; e4 has none; e5's only one is from year 2100 (invalid),
  // so e4 and e5 stay 'unknown'. One truncated record (avro.decode); e6's copy arrives last.
  const bid = (name: string, ts: number, device: DeviceType, country: string): BidRequest => ({
    request_id: id('req', name),
    ts,
    exchange: 'adx',
    publisher_id: 'pub-edge',
    site_domain: 'edge.example.com',
    app_bundle: null,
    device_type: device,
    country,
    user_id: null,
    floor_price_micros: 500,
  });
  const bids: BidRequest[] = [
    bid('e1', valid(E - 120), 'MOBILE', 'US'),
    bid('e2', valid(E - 51), 'DESKTOP', 'DE'),
    bid('e3', valid(E + HOUR_MS - 10), 'TABLET', 'IN'),
    bid('e6', valid(E + 3 * HOUR_MS - 10), 'CTV', 'GB'),
    bid('e7', valid(E + 4 * HOUR_MS - 10), 'OTHER', 'FR'),
  ];
  for (const b of bids) sink.bidRequest(b);
  sink.bidRequest(bid('e5', FUTURE, 'MOBILE', 'US'));
  const truncated = ctx.avroType.toBuffer(bid('e8', E, 'MOBILE', 'US')).subarray(0, 5);
  sink.bidRequest({ $base64: truncated.toString('base64') });
  intent.accepted.bidRequests += 5;
  intent.invalid.bidRequests += 2;
  intent.duplicates.bidRequests += 1;

  // Impressions, all in campaign cmp-edge.
  const imp = (name: string, ts: string, price: number, extra = ''): string =>
    `{"impression_id":"${id('imp', name)}","request_id":"${id('req', name)}","campaign_id":"cmp-edge",` +
    `"creative_id":"cr-edge-1","user_id":"usr-edge","ts":${ts},"price_micros":${price}${extra}}`;
  const e1 = valid(E);
  const e2 = valid(E - 1);
  const e3 = valid(E + HOUR_MS);
  const e4 = valid(D);
  const e5 = valid(E + 2 * HOUR_MS + 15 * 60_000);
  const e6 = valid(E + 3 * HOUR_MS);
  const e7 = valid(E + 4 * HOUR_MS);
  const e6Text = imp('e6', `"${isoZ(e6)}"`, 6000);
  const x = (n: number): string => id('imp', `x${n}`);
  const rest = (n: number): string => `"request_id":"${id('req', `x${n}`)}","campaign_id":"cmp-edge"`;
  const impressions = [
    // An invalid copy of e1 (negative price) arrives before e1: validation comes before deduplication.
    imp('e1', `"${isoZ(e1, false)}"`, -1),
    imp('e1', `"${isoZ(e1, false)}"`, 1000), // 06:00:00Z, on the hour
    imp('e2', String(e2), 2000), // 05:59:59.999Z as epoch millis
    imp('e3', `"${isoWithOffset(e3, '+05:30', 330)}"`, 3000), // 12:30+05:30 = 07:00Z
    imp('e5', `"${isoZ(e5)}"`, 5000),
    `[${e6Text},${e6Text}]`, // an identical duplicate inside one JSON array
    `{"impression_id":"${id('imp', 'e7')}","placement":"top","sdk":{"v":"4.2","flags":[1,2]},"request_id":"${id('req', 'e7')}",` +
      `"campaign_id":"cmp-edge","ts":${e7},"price_micros":7000}`, // unknown fields, no creative or user
    `{"impression_id":"${x(1)}",${rest(1)},"ts":"${isoZ(E)}","price_micros":`, // json.parse
    `"${x(2)}"`, // JSON, but not an object
    `{${rest(3)},"ts":${E},"price_micros":100}`, // no impression_id
    `{"impression_id":"${x(4)}","campaign_id":"cmp-edge","ts":${E},"price_micros":100}`, // no request_id
    `{"impression_id":"${x(5)}","request_id":"${id('req', 'x5')}","ts":${E},"price_micros":100}`, // no campaign_id
    `{"impression_id":"${x(6)}",${rest(6)},"price_micros":100}`, // no ts
    `{"impression_id":"${x(7)}",${rest(7)},"ts":${E}}`, // no price_micros
    `{"impression_id":"${x(8)}",${rest(8)},"ts":${E},"price_micros":"100"}`, // price as a string
    `{"impression_id":"${x(9)}",${rest(9)},"ts":${E},"price_micros":-5}`, // negative price
    `{"impression_id":"${x(10)}",${rest(10)},"ts":${E},"price_micros":1.5}`, // not an integer
    `{"impression_id":"${'i'.repeat(129)}",${rest(11)},"ts":${E},"price_micros":100}`, // id over 128 chars
    `{"impression_id":"",${rest(12)},"ts":${E},"price_micros":100}`, // empty id
    `{"impression_id":"${x(13)}","request_id":"${id('req', 'x13')}","campaign_id":42,"ts":${E},"price_micros":100}`, // campaign as a number
    `{"impression_id":"${x(14)}",${rest(14)},"ts":"${isoZ(E).slice(0, 19)}","price_micros":100}`, // ISO without offset
    `{"impression_id":"${x(15)}",${rest(15)},"ts":"yesterday","price_micros":100}`, // not a time
    `{"impression_id":"${x(16)}",${rest(16)},"ts":"2100-01-01T00:00:00Z","price_micros":100}`, // future (ISO)
    `{"impression_id":"${x(17)}",${rest(17)},"ts":${FUTURE},"price_micros":100}`, // future (millis)
  ];
  for (const text of impressions) sink.impression(text);
  intent.accepted.impressions += 7;
  intent.invalid.impressions += 18;
  intent.duplicates.impressions += 1;

  // Clicks (CSV: click_id,impression_id,ts,user_id).
  const k = (name: string): string => id('clk', name);
  const k1 = valid(e1);
  const k2 = valid(e2 + DAY_MS);
  const k3 = valid(e3 + DAY_MS + 1);
  const k4 = valid(e1 - 1);
  const k5 = valid(D + 10 * 60_000);
  const k6 = valid(E + 30 * 60_000);
  const k7 = valid(e6 + 5 * 60_000);
  const k8 = valid(e7 + HOUR_MS);
  const k9 = valid(e5 + 30_000);
  const k2Line = `${k('k2')},${id('imp', 'e2')},${k2},usr-edge`;
  const k7Line = `${k('k7')},${id('imp', 'e6')},${isoZ(k7)},${csvField('usr,"edge"')}`;
  const y = (n: number): string => id('clk', `y${n}`);
  const clickMessages = [
    // One bad line among good ones dead-letters that line only.
    `${k('k1')},${id('imp', 'e1')},${isoZ(k1)},usr-edge\n${y(1)},${id('imp', 'e1')},${isoZ(E)}\n"${k('k8')}",${id('imp', 'e7')},${isoZ(k8)},\n`,
    `${k7Line}\r\n${k7Line}\r\n${k2Line}`, // a duplicate inside one CRLF message
    `${k('k3')},${id('imp', 'e3')},${isoWithOffset(k3, '+09:00', 540)},usr-edge`,
    `${k('k4')},${id('imp', 'e1')},${isoZ(k4)},usr-edge\r\n`,
    [
      `${k('k5')},${id('imp', 'e4')},${isoWithOffset(k5, '+09:00', 540)},usr-edge`,
      `${k('k6')},${id('imp', 'nope')},${isoZ(k6)},usr-edge`,
      `${y(2)},${id('imp', 'e1')},${isoZ(E)},usr-edge,extra`, // five columns
      `,${id('imp', 'e1')},${isoZ(E)},usr-edge`, // no click_id
      `${y(4)},,${isoZ(E)},usr-edge`, // no impression_id
      `${y(5)},${id('imp', 'e1')},not-a-time,usr-edge`,
      `${y(6)},${id('imp', 'e1')},${FUTURE},usr-edge`, // future
    ].join('\n'),
    `${y(7)},"${id('imp', 'e1')},${isoZ(E)},usr-edge`, // unterminated quote, alone in its message
    `${k('k9')},${id('imp', 'e5')},${k9},`,
  ];
  for (const text of clickMessages) sink.click(text);
  intent.accepted.clicks += 9;
  intent.invalid.clicks += 7;
  intent.duplicates.clicks += 2;
  intent.unattributed_clicks += 3; // k3, k4, k6

  // Conversions (CSV: conversion_id,click_id,ts,type,value_micros).
  const v = (name: string): string => id('cnv', name);
  const v4Line = `${v('v4')},${k('k2')},${isoZ(k2)},${csvField('add to cart, "promo"')},1500000`;
  const z = (n: number): string => id('cnv', `z${n}`);
  const conversionMessages = [
    `${v('v1')},${k('k1')},${isoZ(valid(k1 + 7 * DAY_MS))},purchase,25000000\r\n${z(1)},${k('k1')},${isoZ(E)},purchase\r\n${v4Line}\r\n`,
    [
      `${v('v2')},${k('k7')},${valid(k7 + 7 * DAY_MS + 1)},purchase,9000000`,
      `${v('v3')},${k('k3')},${isoZ(valid(k3 + HOUR_MS))},purchase,3000000`,
      `${z(2)},${k('k1')},${isoZ(E)},purchase,-5`,
      `${z(3)},${k('k1')},${isoZ(E)},purchase,1.5`,
    ].join('\n'),
    `${v('v5')},${k('k5')},${isoWithOffset(valid(k5 + 2 * HOUR_MS), '-03:30', -210)},${csvField('sign\r\nup')},0\r\n${v('v6')},${id('clk', 'nope')},${isoZ(valid(E))},lead,1000000`,
    [
      `${z(4)},${k('k1')},${isoZ(E)},purchase,abc`,
      `,${k('k1')},${isoZ(E)},purchase,100`, // no conversion_id
      `${z(6)},,${isoZ(E)},purchase,100`, // no click_id
      `${z(7)},${k('k1')},${FUTURE},purchase,100`, // future
      `${z(8)},${k('k1')},${isoZ(E)},purchase,`, // no value
      `${v('v7')},${k('k4')},${isoZ(valid(k4 + HOUR_MS))},signup,0`,
      `${v('v8')},${k('k8')},${isoZ(valid(k8 - 1))},purchase,4000000`,
      '',
    ].join('\n'),
  ];
  for (const text of conversionMessages) sink.conversion(text);
  intent.accepted.conversions += 8;
  intent.invalid.conversions += 8;
  intent.duplicates.conversions += 1;
  intent.unattributed_conversions += 5; // v2, v3, v6, v7, v8

  return {
    bidRequests: () => sink.bidRequest(bids[3]!), // e6's identical copy, last of all
    impressions: () => sink.impression(imp('e4', `"${isoWithOffset(e4, '-08:00', -480)}"`, 4000)), // 16:00-08:00 the day before = D; arrives after its click
    clicks: () => sink.click(k2Line), // a copy of k2, much later
    conversions: () => sink.conversion(v4Line), // a copy of v4, much later
  };
}
