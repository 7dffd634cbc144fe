import { BID_REQUEST_SCHEMA } from '../runtime/decode/bid-request-schema.js';
import { BID_REQUEST_WRITER_SCHEMAS } from '../generator/writer-versions.js';
import { resolveToReader } from './compatibility.js';

const withFields = (change: (fields: Record<string, unknown>[]) => Record<string, unknown>[]) => JSON.stringify({ ...BID_REQUEST_SCHEMA, fields: change(BID_REQUEST_SCHEMA.fields.map((f) => ({ ...f }))) });

test('the writer versions a producer may evolve through all resolve to the contract', () => {
  for (const schema of Object.values(BID_REQUEST_WRITER_SCHEMAS)) expect(resolveToReader(JSON.stringify(schema), BID_REQUEST_SCHEMA)).toEqual({ ok: true });
});

test('a dropped field without a default in the reader, or a changed type, is named', () => {
  expect(resolveToReader(withFields((f) => f.filter((x) => x.name !== 'floor_price_micros')), BID_REQUEST_SCHEMA)).toEqual({
    ok: false,
    field: 'floor_price_micros',
    message: expect.stringContaining('field floor_price_micros: the writer schema has no such field'),
  });
  expect(resolveToReader(withFields((f) => f.map((x) => (x.name === 'country' ? { ...x, type: 'int' } : x))), BID_REQUEST_SCHEMA)).toMatchObject({ ok: false, field: 'country', message: expect.stringContaining('"int"') });
  // int → long is a promotion Avro allows.
  expect(resolveToReader(withFields((f) => f.map((x) => (x.name === 'floor_price_micros' ? { ...x, type: 'int' } : x))), BID_REQUEST_SCHEMA)).toEqual({ ok: true });
  expect(resolveToReader('{"type": "recrd"}', BID_REQUEST_SCHEMA)).toMatchObject({ ok: false, message: expect.stringContaining('not a valid Avro schema') });
});
