import avro from 'avsc';
import { generate } from '../../generator/index.js';
import { kafkaMessages } from '../e2e/harness.js';
import { arrivalTimes, type InMessage, type Item } from '../model.js';
import { parseIsoByPattern, parseIsoWithOffset } from '../stages/validate.js';
import { AvroBidRequestDecoder, encodeBidRequest } from './avro.js';
import { BID_REQUEST_SCHEMA } from './bid-request-schema.js';
import { DEVICE_TYPES, readBidRequest, READER_LAYOUT } from './bid-request-reader.js';
import { canonicalImpressionFields, scanImpression, scanImpressionArray } from './json-scan.js';
import { impressionDecoder } from './json.js';
import { RecentStrings } from './recent-strings.js';

/**
 * The fast paths (decision 0050) must give exactly what the general paths give: the same items,
 * reasons, raw bytes and refs, for every input. Each test compares the two on the same messages.
 */

const NOW = Date.parse('2026-11-28T00:00:00Z');
const message = (value: Buffer | string, offset = 0, timestamp = String(NOW)): InMessage => ({ partition: 3, offset: String(offset), timestamp, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });

/** A deterministic xorshift generator: the fuzz cases are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const sample = (() => {
  const set = generate({ seed: 7, impressions: 3000 });
  return kafkaMessages(set.messages);
})();

describe('impressions: the canonical-name fast path equals JSON.parse + validation', () => {
  const fast = impressionDecoder({ fieldMapping: {} });
  // A mapping of a name no message has: the general path (JSON.parse, copy, validate), same meaning.
  const general = impressionDecoder({ fieldMapping: { never_sent: 'never_sent_either' } });
  const same = (texts: (string | Buffer)[], now = NOW) => {
    const messages = texts.map((text, i) => message(text, i));
    const a = fast(messages, now);
    expect(a).toEqual(general(messages, now));
    return a;
  };
  const reasons = (items: Item<unknown>[]) => items.map((item) => (item.ok ? 'ok' : item.reason));

  test('the generated set (flat objects, ISO and epoch timestamps, arrays, extra and nested fields, broken messages)', () => {
    const texts = sample.impressions.map((m) => m.value);
    const items = same(texts);
    expect(items.length).toBeGreaterThanOrEqual(texts.length);
    // Most of the set is in the fast path's subset.
    const into = canonicalImpressionFields();
    expect(texts.filter((text) => scanImpression(text, into)).length / texts.length).toBeGreaterThan(0.8);
  });

  const base = '"impression_id":"i1","request_id":"r1","campaign_id":"c1","creative_id":"cr","user_id":"u","ts":1795816800000,"price_micros":5';
  const cases: [string, string, boolean][] = [
    // [text, reason, read by the fast path]
    [`{${base}}`, 'ok', true],
    [` \t\r\n{ "impression_id" : "i1" ,\n"request_id":"r1","campaign_id":"c1","ts":"2026-11-27T20:00:00.5-01:30","price_micros":0 } \n`, 'ok', true],
    [`{${base},"impression_id":"i2"}`, 'ok', true], // duplicate key: the last one wins
    [`{${base},"price_micros":-0}`, 'ok', true],
    [`{${base},"extra":true,"other":false,"none":null,"n":-12,"s":"x"}`, 'ok', true],
    [`{${base},"creative_id":null,"user_id":""}`, 'ok', true],
    [`{${base},"ts":"1795816800000"}`, 'ok', true],
    [`{${base},"ts":${NOW + 3_600_000}}`, 'ok', true],
    [`{${base},"ts":${NOW + 3_600_001}}`, 'field.future:ts', true],
    [`{${base},"ts":"2026-11-28T01:00:00.001Z"}`, 'field.future:ts', true],
    [`{${base},"ts":"2026-02-29T00:00:00Z"}`, 'field.type:ts', true],
    [`{${base},"ts":"2024-02-29T00:00:00+24:00"}`, 'field.type:ts', true],
    [`{${base},"ts":"0099-02-29T00:00:00Z"}`, 'field.type:ts', true],
    [`{${base},"ts":""}`, 'field.missing:ts', true],
    [`{${base},"ts":null}`, 'field.missing:ts', true],
    [`{${base},"ts":true}`, 'field.type:ts', true],
    [`{${base},"ts":-1}`, 'field.type:ts', true],
    [`{${base},"price_micros":9999999999999999}`, 'field.range:price_micros', false],
    [`{${base},"price_micros":999999999999999}`, 'ok', true],
    [`{${base},"price_micros":1.5}`, 'field.range:price_micros', false],
    [`{${base},"price_micros":1e3}`, 'ok', false],
    [`{${base},"price_micros":-5}`, 'field.range:price_micros', true],
    [`{${base},"price_micros":"5"}`, 'field.type:price_micros', true],
    [`{${base},"price_micros":01}`, 'json.parse', false],
    [`{${base},"campaign_id":"${'c'.repeat(129)}"}`, 'field.range:campaign_id', true],
    [`{${base},"campaign_id":""}`, 'field.missing:campaign_id', true],
    [`{${base},"request_id":5}`, 'field.type:request_id', true],
    [`{${base},"sdk":{"v":"4.2","flags":[1,2,[],{}],"ok":true,"none":null, "deep":[[{"a":-1}]]}}`, 'ok', true],
    [`{${base},"placement":["a"]}`, 'ok', true],
    [`{"sdk":{"impression_id":"nested"},${base.slice(base.indexOf('"request_id"'))}}`, 'field.missing:impression_id', true],
    [`{${base},"sdk":{"v":4.2}}`, 'ok', false],
    [`{${base},"sdk":{"v":"\\u0041"}}`, 'ok', false],
    [`{${base},"sdk":${'['.repeat(20)}${']'.repeat(20)}}`, 'ok', false],
    [`{${base},"sdk":{"v":[1,}}`, 'json.parse', false],
    [`{${base},"sdk":{"v" 1}}`, 'json.parse', false],
    [`{${base},"sdk":[1 2]}`, 'json.parse', false],
    [`{${base},"sdk":{1:2}}`, 'json.parse', false],
    [`{${base},"sdk":{"v":1]}`, 'json.parse', false],
    [`{${base},"ts":{}}`, 'field.type:ts', false],
    [`{${base},"user_id":["u"]}`, 'field.type:user_id', false],
    // Escapes leave the fast path: lone surrogates are field.type, pairs and other escapes are fine.
    [`{${base},"impression_id":"a\\ud800"}`, 'field.type:impression_id', false],
    [`{${base},"request_id":"\\udc00r"}`, 'field.type:request_id', false],
    [`{${base},"impression_id":"i-\\ud83d\\ude00"}`, 'ok', false],
    [`{${base},"user_id":"u \\"q\\""}`, 'ok', false],
    [`{"impression\\u005fid":"i9",${base.slice(base.indexOf('"request_id"'))}}`, 'ok', false],
    [`{${base},"campaign_id":"caf\u00e9"}`, 'ok', false],
    [`{${base},"campaign_id":"a\tb"}`, 'json.parse', false],
    [`{}`, 'field.missing:impression_id', true],
    [`{${base}`, 'json.parse', false],
    [`{${base},}`, 'json.parse', false],
    [`{${base}} x`, 'json.parse', false],
    [`{${base}}{}`, 'json.parse', false],
    [`{${base},"x":tru}`, 'json.parse', false],
    [`{${base},"x":nul}`, 'json.parse', false],
    [`{${base},"x":-}`, 'json.parse', false],
    [`{${base} "x":1}`, 'json.parse', false],
    [`\ufeff{${base}}`, 'json.parse', false],
    ['"imp-1"', 'json.type', false],
    ['7', 'json.type', false],
    ['null', 'json.type', false],
    [`[{${base}},7,{${base},"ts":"yesterday"}]`, 'ok,json.type,field.type:ts', false],
  ];

  test.each(cases)('%s → %s', (text, reason, inSubset) => {
    expect(reasons(same([text])).join(',')).toBe(reason);
    expect(scanImpression(Buffer.from(text, 'utf8'), canonicalImpressionFields())).toBe(inSubset);
  });

  test('arrays: all valid elements in the subset are read by the fast path, any other array as before', () => {
    const valid = [`[{${base}},{${base},"impression_id":"i2","sdk":{"v":"1"}}]`, '[]', ` [ {${base}} ]\n`];
    for (const text of valid) expect(scanImpressionArray(Buffer.from(text), canonicalImpressionFields(), () => true)).toBe(true);
    const items = same([...valid, `[{${base}},{${base},"ts":"yesterday"},{${base}}]`, `[{${base}},{${base}},]`, `[{${base}},"x"]`, `[{${base}}`, `[{${base}}]]`, `[{${base},"price_micros":1.5}]`]);
    expect(reasons(items).join(',')).toBe('ok,ok,ok,ok,field.type:ts,ok,json.parse,ok,json.type,json.parse,json.parse,field.range:price_micros');
    expect(items.slice(0, 2).map((item) => item.ref.index)).toEqual([0, 1]);
  });

  test('refs and arrival times per message: Kafka timestamps, processing time, array indices', () => {
    const messages = [message(`{${base}}`, 1, '1795816700000'), message(`{${base},"ts":${NOW + 3_500_000}}`, 2, String(NOW - 600_000)), message(`[{${base}},{${base}}]`, 3, '0')];
    const items = fast(messages, NOW);
    expect(items).toEqual(general(messages, NOW));
    // Judged against the Kafka timestamp (earlier than now): 1 h 8 min ahead of it is future.
    expect(items.map((item) => [item.ok ? 'ok' : item.reason, item.ref])).toEqual([
      ['ok', { partition: 3, offset: '1', index: 0, arrivalMs: 1795816700000 }],
      ['field.future:ts', { partition: 3, offset: '2', index: 0, arrivalMs: NOW - 600_000 }],
      ['ok', { partition: 3, offset: '3', index: 0, arrivalMs: 0 }],
      ['ok', { partition: 3, offset: '3', index: 1, arrivalMs: 0 }],
    ]);
  });

  test('a field mapping takes the general path and still renames', () => {
    const mapped = impressionDecoder({ fieldMapping: { impId: 'impression_id' } });
    const items = mapped([message(`{${base.replace('"impression_id"', '"impId"')}}`)], NOW);
    expect(items[0]).toMatchObject({ ok: true, record: { impression_id: 'i1' } });
  });

  test('fuzz: 4000 mutations of real messages decode the same on both paths', () => {
    const next = random(13);
    const alphabet = Buffer.from('{}[]",:\\-.0123456789eE tfnulr_aiZT+\u00e9', 'utf8');
    const texts = sample.impressions.slice(0, 4000).map((m) => {
      const bytes = Buffer.from(m.value);
      const edits = 1 + Math.floor(next() * 3);
      let out = bytes;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * out.length);
        const byte = alphabet[Math.floor(next() * alphabet.length)]!;
        const kind = next();
        if (kind < 0.4) out[at] = byte;
        else if (kind < 0.7) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
        else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      }
      return out;
    });
    same(texts);
  });
});

describe('ISO-8601 timestamps: the scanner equals the pattern', () => {
  test('every shape the pattern knows, and near misses', () => {
    const next = random(7);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
    const texts: string[] = ['2026-01-08T12:30:00.000+05:30', '2024-02-29T23:59:59.999999999Z', '2023-02-29T00:00:00Z', '0050-01-01T00:00:00Z', '0100-02-29T00:00:00Z', '2000-02-29T00:00:00Z', '1900-02-29T00:00:00Z'];
    for (let i = 0; i < 20_000; i++) {
      const year = next() < 0.8 ? String(1990 + Math.floor(next() * 80)) : digits(4);
      const two = (max: number) => (next() < 0.9 ? String(Math.floor(next() * max)).padStart(2, '0') : digits(2));
      const fraction = pick(['', `.${digits(1 + Math.floor(next() * 10))}`, '.']);
      const zone = pick(['Z', 'z', '', `+${two(24)}:${two(60)}`, `-${two(24)}:${two(60)}`, '+0530', `+${two(30)}:${two(70)}`]);
      let text = `${year}-${two(13)}-${two(32)}T${two(24)}:${two(60)}:${two(61)}${fraction}${zone}`;
      if (next() < 0.1) {
        const at = Math.floor(next() * text.length);
        text = text.slice(0, at) + pick(['x', '-', ':', '1', ' ', 'T', '']) + text.slice(at + 1);
      }
      texts.push(text);
    }
    for (const text of texts) expect([text, parseIsoWithOffset(text)]).toEqual([text, parseIsoByPattern(text)]);
  });
});

describe('bid requests: the canonical reader equals avsc', () => {
  const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
  const record = { request_id: 'req-1', ts: 1795816800000, exchange: 'adx', publisher_id: 'pub-7', site_domain: 'news.example', app_bundle: null, device_type: 'MOBILE', country: 'DE', user_id: 'u-42', floor_price_micros: 1500 };

  test('the reader follows the embedded schema field by field', () => {
    const typeName = (t: unknown): string => (Array.isArray(t) ? t.join('|') : typeof t === 'string' ? t : (t as { type: string }).type);
    expect(BID_REQUEST_SCHEMA.fields.map((field) => [field.name, typeName(field.type)])).toEqual(READER_LAYOUT.map(([name, t]) => [name, t]));
    expect(BID_REQUEST_SCHEMA.fields.find((field) => field.name === 'device_type')!.type).toMatchObject({ symbols: [...DEVICE_TYPES] });
  });

  /** avsc's verdict on the bytes as the general path reads them. */
  const viaAvsc = (bytes: Buffer, start = 0): unknown => {
    try {
      const decoded = type.decode(bytes, start);
      return decoded.offset === bytes.length ? { ...(decoded.value as object) } : 'avro.decode';
    } catch {
      return 'avro.decode';
    }
  };

  test('every generated record, non-ASCII text, extreme longs', () => {
    const values = [
      ...sample.bidRequests.map((m) => m.value),
      encodeBidRequest({ ...record, request_id: 'r-\u00e9\u{1F600}', user_id: null, site_domain: null, app_bundle: 'b\u00fcndle', country: 'D\u00c9' }),
      encodeBidRequest({ ...record, ts: 2 ** 48 - 1, floor_price_micros: -(2 ** 48) }),
      encodeBidRequest({ ...record, ts: 2 ** 52 }),
      encodeBidRequest({ ...record, request_id: '' }),
    ];
    for (const value of values) {
      const read = readBidRequest(value, 0);
      if (read !== undefined) expect(read).toEqual(viaAvsc(value));
    }
    expect(readBidRequest(values.at(-2)!, 0)).toBeUndefined(); // a 8-byte varint: avsc reads it
    expect(readBidRequest(values.at(-4)!, 0)).toEqual({ ...record, request_id: 'r-\u00e9\u{1F600}', user_id: null, site_domain: null, app_bundle: 'b\u00fcndle', country: 'D\u00c9' });
  });

  test('corrupt bytes: the decoder gives the same verdict as before (avro.decode, field rules)', async () => {
    const decoder = new AvroBidRequestDecoder({});
    const good = encodeBidRequest(record);
    const next = random(99);
    const values: Buffer[] = [good.subarray(0, 10), Buffer.concat([good, Buffer.from([0])]), Buffer.from([0x01]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])];
    const bad = (at: number, byte: number) => {
      const copy = Buffer.from(good);
      copy[at] = byte;
      return copy;
    };
    values.push(bad(0, 0x03)); // negative string length
    for (let i = 0; i < 3000; i++) {
      const copy = Buffer.from(good);
      for (let e = 0; e < 1 + Math.floor(next() * 2); e++) copy[Math.floor(next() * copy.length)] = Math.floor(next() * 256);
      values.push(copy);
    }
    const items = await decoder.decode(values.map((value, i) => message(value, i)), NOW);
    items.forEach((item, i) => {
      const expected = viaAvsc(values[i]!);
      if (expected === 'avro.decode') expect(item).toMatchObject({ ok: false, reason: 'avro.decode', raw: values[i] });
      else {
        const r = expected as typeof record;
        const reason = r.request_id === '' ? 'field.missing:request_id' : r.ts < 0 || !Number.isSafeInteger(r.ts) ? 'field.range:ts' : r.ts - NOW > 3_600_000 ? 'field.future:ts' : undefined;
        expect(item).toEqual(reason ? { ok: false, reason, raw: values[i], ref: item.ref } : { ok: true, record: expected, ref: item.ref });
      }
    });
  });

  test('a writer schema with the canonical form (another doc) reads as the canonical one; an evolved one still resolves', async () => {
    const sameForm = JSON.stringify({ ...BID_REQUEST_SCHEMA, doc: 'another doc' });
    const plain = new AvroBidRequestDecoder({ writerSchema: sameForm });
    const good = encodeBidRequest(record);
    const items = await plain.decode([message(good), message(good.subarray(0, 8)), message(encodeBidRequest({ ...record, ts: NOW + 3_600_001 }))], NOW);
    expect(items.map((item) => (item.ok ? item.record : item.reason))).toEqual([record, 'avro.decode', 'field.future:ts']);

    const evolved = { ...BID_REQUEST_SCHEMA, fields: [...BID_REQUEST_SCHEMA.fields, { name: 'extra', type: 'int', default: 0 }] };
    const evolvedType = avro.Type.forSchema(evolved as unknown as avro.Schema);
    const framed = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), body]);
    const registry = new AvroBidRequestDecoder({ schemaRegistryUrl: 'http://registry.invalid' }, async (id) => (id === 1 ? sameForm : id === 2 ? JSON.stringify(evolved) : undefined));
    const framedItems = await registry.decode(
      [message(framed(1, good)), message(framed(2, evolvedType.toBuffer({ ...record, extra: 5 }))), message(framed(1, good.subarray(0, 8))), message(framed(3, good)), message(good)],
      NOW,
    );
    expect(framedItems.map((item) => (item.ok ? item.record : item.reason))).toEqual([record, record, 'avro.decode', 'avro.schema:unknown_id_3', 'avro.decode']);
  });
});

test('recent strings: equal bytes give the same text, non-ASCII is decoded as UTF-8', () => {
  const recent = new RecentStrings(2);
  const bytes = Buffer.from('xxadx|adx|DE|caf\u00e9|adx', 'utf8');
  const texts = bytes.toString('utf8').split('|');
  let at = 0;
  const read = (text: string) => {
    const start = bytes.indexOf(text, at);
    at = start + Buffer.byteLength(text);
    return recent.utf8(bytes, start, at);
  };
  const [first, second, third, fourth, fifth] = texts.map(read);
  expect([first, second, third, fourth, fifth]).toEqual(['xxadx', 'adx', 'DE', 'caf\u00e9', 'adx']);
  expect(recent.utf8(Buffer.from('\xff', 'latin1'), 0, 1)).toBe('\ufffd');
});

test('arrival times: the Kafka timestamp text read as a number, the last one kept', () => {
  const arrival = arrivalTimes();
  expect([message('x', 0, '5'), message('x', 1, '5'), message('x', 2, '7'), message('x', 3, 'junk')].map(arrival)).toEqual([5, 5, 7, Number.NaN]);
});
