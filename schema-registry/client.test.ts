import fs from 'node:fs';
import { freePort } from '../e2e/stack/ports.js';
import { stack, uniqueName } from '../e2e/support/stack-clients.js';
import { BID_REQUEST_WRITER_SCHEMAS } from '../generator/writer-versions.js';
import { RegistryError, SchemaRegistryClient } from './index.js';

// The client against the stack's real registry (Apicurio, Confluent API).

const client = new SchemaRegistryClient({ url: stack().registry.url });
const v = (n: 1 | 2 | 3) => JSON.stringify(BID_REQUEST_WRITER_SCHEMAS[n]);

test('register, find again, versions, schema by id, compatibility level; an incompatible version is refused', async () => {
  const subject = uniqueName('client-test');
  expect(await client.versions(subject)).toEqual([]);
  await client.setCompatibility(subject, 'BACKWARD');
  expect(await client.compatibility(subject)).toBe('BACKWARD');
  const first = await client.register(subject, v(1));
  expect(await client.register(subject, v(1))).toBe(first);
  const second = await client.register(subject, v(2));
  expect(second).not.toBe(first);
  expect(await client.versions(subject)).toEqual([1, 2]);
  expect(await client.version(subject, 2)).toMatchObject({ id: second, version: 2 });
  expect(JSON.parse((await client.schemaById(second))!)).toMatchObject({ name: 'BidRequest' });
  expect(await client.schemaById(2_000_000_002)).toBeUndefined();
  // A new required field without a default cannot read the old records: BACKWARD refuses it.
  const breaking = JSON.stringify({ ...BID_REQUEST_WRITER_SCHEMAS[1], fields: [...(BID_REQUEST_WRITER_SCHEMAS[1] as { fields: object[] }).fields, { name: 'seat', type: 'string' }] });
  await expect(client.register(subject, breaking)).rejects.toMatchObject({ status: 409, unavailable: false, message: expect.stringContaining('seat') });
});

test('https with the CA that signed the registry certificate; without it, a trust error that is not an outage', async () => {
  const ca = fs.readFileSync(stack().registry.caFile);
  const trusted = new SchemaRegistryClient({ url: stack().registry.tlsUrl, ca });
  const subject = uniqueName('client-tls');
  const id = await trusted.register(subject, v(1));
  expect(JSON.parse((await trusted.schemaById(id))!)).toMatchObject({ name: 'BidRequest' });
  const untrusted = await new SchemaRegistryClient({ url: stack().registry.tlsUrl }).schemaById(id).catch((e: unknown) => e);
  expect(untrusted).toBeInstanceOf(RegistryError);
  expect(untrusted).toMatchObject({ unavailable: false });
});

test('a registry that does not answer is unavailable (retriable)', async () => {
  const down = new SchemaRegistryClient({ url: `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`, timeoutMs: 2000 });
  const error = await down.schemaById(1).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RegistryError);
  expect(error).toMatchObject({ unavailable: true });
});
