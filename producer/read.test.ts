import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import avro from 'avsc';
import { BID_REQUEST_SCHEMA, type BidRequest } from '../generator/contract.js';
import { avroEncoder } from './avro.js';
import { keyOfCsv, keyOfJson } from './keys.js';
import { readMessages, type OutMessage, type ReadOptions } from './read.js';

const bid: BidRequest = {
  request_id: 'r1', ts: 1767607200000, exchange: 'adx', publisher_id: 'p', site_domain: 'a.example', app_bundle: null,
  device_type: 'CTV', country: 'DE', user_id: null, floor_price_micros: 12,
};

async function all(options: ReadOptions): Promise<OutMessage[]> {
  const out: OutMessage[] = [];
  for await (const m of readMessages(options)) out.push(m);
  return out;
}

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-read-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

describe('keys: the record id, so copies of an id share a partition', () => {
  it('takes the first impression_id of a JSON message, unescaped', () => {
    expect(keyOfJson('{"ts":1,"impression_id" : "a\\"b"}')).toBe('a"b');
    expect(keyOfJson('[{"impression_id":"x"},{"impression_id":"y"}]')).toBe('x');
    expect(keyOfJson('{"impression_id":')).toBeNull();
  });

  it('takes the first field of a CSV message, quoted or not', () => {
    expect(keyOfCsv('k1,i,t,u\nk2,i,t,u')).toBe('k1');
    expect(keyOfCsv('"k ""1"",x",i,t\r\n')).toBe('k "1",x');
    expect(keyOfCsv(',i,t,u')).toBeNull();
    expect(keyOfCsv('"k1,i')).toBeNull();
  });
});

describe('reading files', () => {
  it('reads JSON lines as messages, one per non-empty line', async () => {
    const f = file('imps.jsonl', '{"impression_id":"a"}\r\n\n[{"impression_id":"b"}]\n');
    const out = await all({ source: 'impressions', file: f });
    expect(out.map((m) => [m.key, m.value.toString()])).toEqual([
      ['a', '{"impression_id":"a"}'],
      ['b', '[{"impression_id":"b"}]'],
    ]);
  });

  it('reads a generated CSV file (JSON strings) with message boundaries kept', async () => {
    const f = file('clicks.jsonl', `${JSON.stringify('k1,i,1,u\r\nk2,i,2,"a\nb"\r\n')}\n${JSON.stringify('k3,i,3,')}\n`);
    const out = await all({ source: 'clicks', file: f });
    expect(out.map((m) => m.value.toString())).toEqual(['k1,i,1,u\r\nk2,i,2,"a\nb"\r\n', 'k3,i,3,']);
    expect(out.map((m) => m.key)).toEqual(['k1', 'k3']);
  });

  it('reads a plain CSV file record by record, quoted line breaks kept, header skipped, grouped on request', async () => {
    const f = file('clicks.csv', 'click_id,impression_id,ts,user_id\r\nk1,i,1,"u\r\nx"\r\nk2,i,2,\nk3,i,3,\n');
    expect((await all({ source: 'clicks', file: f, skipHeader: true })).map((m) => m.value.toString())).toEqual(['k1,i,1,"u\nx"', 'k2,i,2,', 'k3,i,3,']);
    expect((await all({ source: 'clicks', file: f, skipHeader: true, recordsPerMessage: 2 })).map((m) => m.value.toString())).toEqual(['k1,i,1,"u\nx"\nk2,i,2,', 'k3,i,3,']);
  });

  it('encodes bid requests as plain Avro or with Confluent framing; raw lines go as they are', async () => {
    const type = avro.Type.forSchema(BID_REQUEST_SCHEMA as unknown as avro.Schema);
    const f = file('bids.jsonl', `${JSON.stringify(bid)}\n{"$base64":"AAEC"}\n`);
    const [plain, raw] = await all({ source: 'bidRequests', file: f });
    expect(plain!.key).toBe('r1');
    expect(type.fromBuffer(plain!.value)).toEqual(bid);
    expect([...raw!.value]).toEqual([0, 1, 2]);
    expect(raw!.key).toBeNull();
    const [framed] = await all({ source: 'bidRequests', file: f, avro: { confluentSchemaId: 258 } });
    expect([...framed!.value.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    expect(type.fromBuffer(framed!.value.subarray(5))).toEqual(bid);
  });

  it('says which line is wrong', async () => {
    await expect(all({ source: 'bidRequests', file: file('b.jsonl', `${JSON.stringify(bid)}\nnot json\n`) })).rejects.toThrow(/b\.jsonl line 2 is not JSON/);
    await expect(all({ source: 'bidRequests', file: file('c.jsonl', '{"request_id":"r"}\n') })).rejects.toThrow(/c\.jsonl line 1: the record does not match the Avro schema/);
    await expect(all({ source: 'clicks', file: file('d.jsonl', 'k1,i,1,u\n') })).rejects.toThrow(/d\.jsonl line 1 is not a JSON string/);
    await expect(all({ source: 'impressions', file: path.join(dir, 'nope.jsonl') })).rejects.toThrow(/cannot read .*nope\.jsonl/);
    expect(() => avroEncoder({ confluentSchemaId: -1 })).toThrow(/registry id/);
  });
});
