import { EMPTY } from './bytes.js';
import { CellType } from './cells.js';
import { metaLookupBounds, parseTableName, pickRegion, regionFromMetaRow, type RegionLocation } from './meta.js';
import { encode } from './proto.js';
import { RegionCache } from './region-cache.js';
import { scanRange } from './scanner.js';
import { familyFromSchema, familySchema, validateFamilyName } from './schema.js';

// Catalog logic without a server: meta rows, the reversed-scan bounds, the region cache.

function region(table: string, start: string, end: string, extra: Partial<RegionLocation> = {}): RegionLocation {
  return {
    table,
    name: Buffer.from(`${table},${start},1.${start || 'first'}.`),
    encodedName: start || 'first',
    startKey: Buffer.from(start),
    endKey: Buffer.from(end),
    server: { host: 'localhost', port: 16020 },
    offline: false,
    split: false,
    info: { region_id: 1, table_name: { namespace: Buffer.from('default'), qualifier: Buffer.from(table) } },
    ...extra,
  };
}

test('the reversed meta scan is bounded to the table, never reaching a table that shares its prefix', () => {
  const bounds = metaLookupBounds('events', Buffer.from('k'));
  expect(bounds.start.toString()).toBe('events,k,99999999999999');
  expect(bounds.stop.toString()).toBe('events,,');
  // `events_daily,...` sorts after `events-` and so after every `events,...` region name.
  const last = metaLookupBounds('events', EMPTY, true);
  expect(last).toMatchObject({ includeStart: false });
  expect(Buffer.compare(Buffer.from('events_daily,,1.x.'), last.start)).toBeGreaterThan(0);
  expect(Buffer.compare(Buffer.from('events,\xff\xff,1.x.', 'latin1'), last.start)).toBeLessThan(0);
});

test('pickRegion skips other tables, split parents, offline regions and regions not holding the row', () => {
  const candidates = [
    region('events_daily', 'a', ''),
    region('events', 'k', 'p', { split: true, offline: true }),
    region('events', 'k\x00', 'p'),
    region('events', 'c', 'k\x00'),
  ];
  expect(pickRegion('events', Buffer.from('k'), candidates)?.startKey.toString()).toBe('c');
  expect(pickRegion('events', Buffer.from('zzz'), candidates)).toBeUndefined();
  expect(pickRegion('events', EMPTY, [region('events', 'm', ''), region('events', '', 'm')], true)?.startKey.toString()).toBe('m');
});

test('a meta row is read from its info:regioninfo (PBUF-prefixed) and info:server cells; other rows are ignored', () => {
  const info = encode('RegionInfo', {
    region_id: 1700000000000,
    table_name: { namespace: Buffer.from('ns'), qualifier: Buffer.from('t') },
    start_key: Buffer.from('a'),
    end_key: Buffer.from('b'),
    region_encoded_name: 'abc123',
  });
  const row = Buffer.from('ns:t,a,1700000000000.abc123.');
  const cell = (qualifier: string, value: Buffer) => ({ row, family: Buffer.from('info'), qualifier: Buffer.from(qualifier), timestamp: 1, type: CellType.Put, value });
  const parsed = regionFromMetaRow([cell('regioninfo', Buffer.concat([Buffer.from('PBUF'), info])), cell('server', Buffer.from('host-1:16020'))]);
  expect(parsed).toMatchObject({ table: 'ns:t', encodedName: 'abc123', startKey: Buffer.from('a'), endKey: Buffer.from('b'), server: { host: 'host-1', port: 16020 } });
  // A table-state row has no regioninfo: not a region, and no exception.
  expect(regionFromMetaRow([{ ...cell('state', Buffer.from([8, 0])), family: Buffer.from('table') }])).toBeUndefined();
});

test('the region cache finds by row, replaces overlapping regions after a split, and forgets by server', () => {
  const cache = new RegionCache();
  cache.add(region('t', '', 'm'));
  cache.add(region('t', 'm', ''));
  expect(cache.find('t', Buffer.from('a'))?.startKey.toString()).toBe('');
  expect(cache.find('t', Buffer.from('z'))?.startKey.toString()).toBe('m');
  cache.add(region('t', 'm', 's')); // daughter of [m, '')
  expect(cache.size('t')).toBe(2);
  expect(cache.find('t', Buffer.from('z'))).toBeUndefined();
  expect(cache.findLast('t')).toBeUndefined();
  cache.clear({ server: 'localhost:16020' });
  expect(cache.size('t')).toBe(0);
});

test('table names: default namespace is implicit; illegal names are refused', () => {
  expect(parseTableName('events').full).toBe('events');
  expect(parseTableName('default:events').full).toBe('events');
  expect(parseTableName('ads:events').namespace).toBe('ads');
  expect(() => parseTableName('bad name')).toThrow(/not a valid HBase table name/);
});

test('scan ranges from options', () => {
  expect(scanRange({ prefix: 'ab' })).toMatchObject({ start: Buffer.from('ab'), stop: Buffer.from('ac'), includeStart: true });
  expect(scanRange({ prefix: 'ab', reversed: true })).toMatchObject({ start: Buffer.from('ac'), includeStart: false, stop: Buffer.from('ab'), includeStop: true });
});

test('family descriptors: the whole descriptor is sent, defaults filled; bad names are refused with the table named', () => {
  const schema = familySchema({ name: 'd', ttlSeconds: 86400, compression: 'GZ' }, 'events');
  const back = familyFromSchema(schema);
  expect(back).toEqual({ name: 'd', ttlSeconds: 86400, maxVersions: 1, minVersions: 0, compression: 'GZ', bloomFilter: 'ROW', blockSizeBytes: 65536, blockCache: true, inMemory: false, dataBlockEncoding: 'NONE', encryption: 'NONE' });
  expect(familyFromSchema(familySchema({ name: 'd' }, 'events')).ttlSeconds).toBeUndefined();
  // No encryption is the attribute's absence (HBase reads any ENCRYPTION value as a cipher name).
  const attributeNames = (s: typeof schema) => (s.attributes ?? []).map((pair) => Buffer.from(pair.first).toString());
  expect(attributeNames(schema)).not.toContain('ENCRYPTION');
  const encrypted = familySchema({ name: 'd', encryption: 'AES' }, 'events');
  expect(attributeNames(encrypted)).toContain('ENCRYPTION');
  expect(familyFromSchema(encrypted).encryption).toBe('AES');
  expect(() => validateFamilyName('a:b', 'events')).toThrow("column family name 'a:b' of table events contains ':'");
  expect(() => validateFamilyName('.x', 'events')).toThrow(/starts with a period/);
});
