import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InMessage, Item } from '../model.js';
import { AvroBidRequestDecoder } from './avro.js';
import { BID_REQUEST_SCHEMA } from './bid-request-schema.js';
import { clickDecoder, conversionDecoder } from './csv.js';
import { impressionDecoder } from './json.js';
import { scanCsv } from './csv-parser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => fs.readFileSync(path.join(here, 'fixtures', name));
const NOW = Date.parse('2026-11-28T00:00:00Z');

let offset = 0;
function message(value: Buffer | string | null, partition = 0): InMessage {
  return { partition, offset: String(offset++), timestamp: String(NOW), value: typeof value === 'string' ? Buffer.from(value) : value };
}
const reasons = <T>(items: Item<T>[]) => items.map((item) => (item.ok ? 'ok' : item.reason));

describe('CSV scanner', () => {
  const scan = (text: string, delimiter = ',') => {
    const out: (string[] | string)[] = [];
    scanCsv(text, delimiter.charCodeAt(0), {
      row: (fields) => out.push(fields),
      error: (reason, start, end) => out.push(`${reason}@${text.slice(start, end)}`),
    });
    return out;
  };
  test('RFC 4180 quoting, CRLF and LF, blank lines, empty trailing fields', () => {
    expect(scan('a,"b,c","d ""e"""\r\n\r\nf,,\n"multi\nline",x')).toEqual([['a', 'b,c', 'd "e"'], ['f', '', ''], ['multi\nline', 'x']]);
  });
  test('a malformed line is reported alone and scanning resumes on the next line', () => {
    expect(scan('a,"b"x,c\nd,e\nx,y"z\r\n"open,f\ng,h')).toEqual(['csv.quote@a,"b"x,c', ['d', 'e'], 'csv.quote@x,y"z', 'csv.quote@"open,f\ng,h']);
  });
  test('other delimiters', () => {
    expect(scan('a;b;"c;d"', ';')).toEqual([['a', 'b', 'c;d']]);
  });
});

describe('clicks and conversions (CSV)', () => {
  test('a multi-line message dead-letters only its bad lines (an unterminated quote: the rest), with the line bytes and reason', () => {
    const decode = clickDecoder({ csv: { header: false, delimiter: ',' }, fieldMapping: {} });
    const items = decode([message(fixture('clicks.mixed.csv'))], NOW);
    expect(reasons(items)).toEqual(['ok', 'ok', 'ok', 'csv.column_count', 'csv.quote']);
    expect(items[2]).toMatchObject({ ok: true, record: { click_id: 'clk-3', impression_id: 'imp-3', ts: Date.parse('2026-11-27T20:00:00Z'), user_id: 'u "quoted", with comma' } });
    expect(items[1]).toMatchObject({ ok: true, record: { user_id: null } });
    expect(items[3]).toMatchObject({ ok: false, raw: Buffer.from('clk-4,imp-4'), ref: { index: 3 } });
    expect(items[4]).toMatchObject({ ok: false, raw: Buffer.from('clk-5,"imp-5,1795816800000,u-5\r\nclk-6,imp-6,1795816800000,u-6\r\n') });
  });

  test('header line, another delimiter, value and timestamp rules', () => {
    const decode = conversionDecoder({ csv: { header: true, delimiter: ';' }, fieldMapping: {} });
    const items = decode([message(fixture('conversions.header-semicolon.csv'))], NOW);
    expect(reasons(items)).toEqual(['ok', 'field.range:value_micros', 'field.type:ts']);
    expect(items[0]).toMatchObject({ ok: true, record: { conversion_id: 'conv-1', click_id: 'clk-1', type: 'purchase', value_micros: 50000, ts: 1795816900000 } });
  });

  test('configured column order and field mapping', () => {
    const decode = clickDecoder({ csv: { header: false, delimiter: ',', columns: ['clickId', 'ts', 'impId', 'uid'] }, fieldMapping: { clickId: 'click_id', impId: 'impression_id', uid: 'user_id' } });
    const items = decode([message('c1,1795816800000,i1,u1\nc2,,i2,u2')], NOW);
    expect(items[0]).toMatchObject({ ok: true, record: { click_id: 'c1', impression_id: 'i1', ts: 1795816800000, user_id: 'u1' } });
    expect(reasons(items)).toEqual(['ok', 'field.missing:ts']);
  });

  test('timestamps more than an hour ahead are invalid; an hour exactly is not', () => {
    const decode = clickDecoder({ csv: { header: false, delimiter: ',' }, fieldMapping: {} });
    const items = decode([message(`a,i,${NOW + 3_600_000},\nb,i,${NOW + 3_600_001},\nc,i,2026-11-28T00:00:00,`)], NOW);
    expect(reasons(items)).toEqual(['ok', 'field.future:ts', 'field.type:ts']);
  });

  test('an empty message is dead-lettered, never dropped', () => {
    const decode = clickDecoder({ csv: { header: false, delimiter: ',' }, fieldMapping: {} });
    expect(reasons(decode([message(null), message('')], NOW))).toEqual(['message.empty', 'message.empty']);
  });
});

describe('impressions (JSON)', () => {
  const decode = impressionDecoder({ fieldMapping: {} });
  test('an array dead-letters its bad elements alone; unknown fields are ignored', () => {
    const items = decode([message(fixture('impressions.array.json'))], NOW);
    expect(reasons(items)).toEqual(['ok', 'field.type:price_micros', 'json.type']);
    expect(items[0]).toMatchObject({ ok: true, record: { impression_id: 'imp-1', campaign_id: 'cmp-1', ts: Date.parse('2026-11-27T20:00:00Z'), price_micros: 1200, creative_id: null } });
    expect(items[2]).toMatchObject({ ok: false, raw: Buffer.from('7') });
  });
  test('a message that does not parse is dead-lettered whole', () => {
    const raw = fixture('impressions.truncated.json');
    expect(decode([message(raw)], NOW)).toMatchObject([{ ok: false, reason: 'json.parse', raw }]);
  });
  test('required fields, lengths and ranges', () => {
    const base = { impression_id: 'i', request_id: 'r', campaign_id: 'c', ts: 1795816800000, price_micros: 0 };
    const cases: [object, string][] = [
      [base, 'ok'],
      [{ ...base, impression_id: undefined }, 'field.missing:impression_id'],
      [{ ...base, campaign_id: 'x'.repeat(129) }, 'field.range:campaign_id'],
      [{ ...base, price_micros: -1 }, 'field.range:price_micros'],
      [{ ...base, price_micros: 1.5 }, 'field.range:price_micros'],
      [{ ...base, campaign_id: '' }, 'field.missing:campaign_id'],
      [{ ...base, ts: '2026-02-31T00:00:00Z' }, 'field.type:ts'],
      [{ ...base, ts: true }, 'field.type:ts'],
      [{ ...base, request_id: 5 }, 'field.type:request_id'],
      // Lone surrogates have no UTF-8 form; a pair (an astral character) is fine.
      [{ ...base, impression_id: 'a\ud800' }, 'field.type:impression_id'],
      [{ ...base, campaign_id: '\udc00c' }, 'field.type:campaign_id'],
      [{ ...base, impression_id: 'imp-\u{1F600}' }, 'ok'],
    ];
    expect(reasons(decode(cases.map(([value]) => message(JSON.stringify(value))), NOW))).toEqual(cases.map(([, reason]) => reason));
  });
  test('field mapping renames source fields onto canonical names', () => {
    const mapped = impressionDecoder({ fieldMapping: { impId: 'impression_id', cmp: 'campaign_id' } });
    const items = mapped([message(JSON.stringify({ impId: 'i9', cmp: 'c9', request_id: 'r', ts: '2026-11-27T20:00:00.123+00:00', price_micros: 5 }))], NOW);
    expect(items[0]).toMatchObject({ ok: true, record: { impression_id: 'i9', campaign_id: 'c9', ts: Date.parse('2026-11-27T20:00:00.123Z') } });
  });
});

describe('bid requests (Avro)', () => {
  const expected = { request_id: 'req-1', ts: 1795816800000, exchange: 'adx', publisher_id: 'pub-7', site_domain: 'news.example', app_bundle: null, device_type: 'MOBILE', country: 'DE', user_id: 'u-42', floor_price_micros: 1500 };

  test('the embedded reader schema is the contract file', () => {
    const contract = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'docs', 'contract', 'bid-request.avsc'), 'utf8'));
    expect(BID_REQUEST_SCHEMA).toEqual(contract);
  });

  test('plain binary with the canonical schema; truncated bytes are avro.decode', async () => {
    const decoder = new AvroBidRequestDecoder({});
    const items = await decoder.decode([message(fixture('bid-request.v1.avro')), message(fixture('bid-request.truncated.avro')), message(Buffer.concat([fixture('bid-request.v1.avro'), Buffer.from([1])]))], NOW);
    expect(items[0]).toMatchObject({ ok: true, record: expected });
    expect(reasons(items)).toEqual(['ok', 'avro.decode', 'avro.decode']);
  });

  test('plain binary written with an evolved schema resolves to the canonical reader schema', async () => {
    const decoder = new AvroBidRequestDecoder({ writerSchema: fixture('bid-request.v2.avsc').toString() });
    const items = await decoder.decode([message(fixture('bid-request.v2.avro'))], NOW);
    expect(items[0]).toMatchObject({ ok: true, record: { ...expected, request_id: 'req-2', site_domain: null } });
  });

  test('Confluent framing: writer schemas fetched by id once; unknown ids are avro.schema', async () => {
    const fetched: number[] = [];
    const schemas: Record<number, string> = { 7: JSON.stringify(BID_REQUEST_SCHEMA), 8: fixture('bid-request.v2.avsc').toString() };
    const decoder = new AvroBidRequestDecoder({ schemaRegistryUrl: 'http://registry.invalid' }, async (id) => {
      fetched.push(id);
      return schemas[id];
    });
    const unknownId = Buffer.from(fixture('bid-request.v1.confluent-id7.avro'));
    unknownId.writeInt32BE(99, 1);
    const items = await decoder.decode(
      [message(fixture('bid-request.v1.confluent-id7.avro')), message(fixture('bid-request.v2.confluent-id8.avro')), message(fixture('bid-request.v1.confluent-id7.avro')), message(unknownId), message(fixture('bid-request.v1.avro'))],
      NOW,
    );
    expect(reasons(items)).toEqual(['ok', 'ok', 'ok', 'avro.schema:unknown_id_99', 'avro.decode']);
    expect(items[1]).toMatchObject({ ok: true, record: { request_id: 'req-2', site_domain: null } });
    expect(fetched.sort()).toEqual([7, 8, 99]);
    await decoder.decode([message(fixture('bid-request.v1.confluent-id7.avro'))], NOW);
    expect(fetched).toHaveLength(3);
  });

  test('a registered writer schema the contract cannot read is avro.schema with its id', async () => {
    const broken = { ...BID_REQUEST_SCHEMA, fields: BID_REQUEST_SCHEMA.fields.filter((f) => f.name !== 'floor_price_micros') };
    const decoder = new AvroBidRequestDecoder({ schemaRegistryUrl: 'http://registry.invalid' }, async () => JSON.stringify(broken));
    expect(reasons(await decoder.decode([message(fixture('bid-request.v1.confluent-id7.avro'))], NOW))).toEqual(['avro.schema:unreadable_id_7']);
  });
});
