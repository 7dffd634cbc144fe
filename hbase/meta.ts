import { compareBytes, EMPTY, printable } from './bytes.js';
import type { Cell } from './cells.js';
import { HBaseError } from './errors.js';
import { decode, toNumber, type PbRegionInfo, type PbServerName, type PbTableName } from './proto.js';
import { stripHBaseZnodePrefix } from './zookeeper.js';

/**
 * Reading HBase's catalog: the znodes that name the master and the meta region's server, and the
 * rows of `hbase:meta` that describe a table's regions. Pure functions over bytes.
 */

export interface ServerAddress {
  host: string;
  port: number;
}

export interface RegionLocation {
  /** `namespace:table` as HBase prints it (no `default:` prefix). */
  table: string;
  /** The region name (= its row key in hbase:meta), which RPCs use to address the region. */
  name: Buffer;
  encodedName: string;
  startKey: Buffer;
  /** Empty: the last region of the table. */
  endKey: Buffer;
  server: ServerAddress | undefined;
  offline: boolean;
  split: boolean;
  info: PbRegionInfo;
}

export const META_TABLE = 'hbase:meta';
/** hbase:meta has one region whose name is fixed. */
export const META_REGION_NAME = Buffer.from('hbase:meta,,1');
const INFO = Buffer.from('info');
const REGIONINFO = Buffer.from('regioninfo');
const SERVER = Buffer.from('server');
const PBUF = Buffer.from('PBUF');

/** Validates and splits a table name: `name` (default namespace) or `namespace:name`. */
export function parseTableName(table: string): { namespace: string; qualifier: string; full: string } {
  const at = table.indexOf(':');
  const namespace = at < 0 ? 'default' : table.slice(0, at);
  const qualifier = at < 0 ? table : table.slice(at + 1);
  const legal = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/;
  if (!legal.test(qualifier) || !/^[a-zA-Z0-9_]+$/.test(namespace)) {
    throw new HBaseError('INVALID_ARGUMENT', `'${table}' is not a valid HBase table name (letters, digits, '_', '-', '.'; optional 'namespace:' prefix)`, {
      context: { table },
    });
  }
  return { namespace, qualifier, full: namespace === 'default' ? qualifier : `${namespace}:${qualifier}` };
}

export function tableNameProto(table: string): PbTableName {
  const { namespace, qualifier } = parseTableName(table);
  return { namespace: Buffer.from(namespace), qualifier: Buffer.from(qualifier) };
}

export function tableNameFromProto(name: PbTableName): string {
  const namespace = Buffer.from(name.namespace).toString();
  const qualifier = Buffer.from(name.qualifier).toString();
  return namespace === 'default' ? qualifier : `${namespace}:${qualifier}`;
}

/** Decodes the `/hbase/master` or `/hbase/meta-region-server` znode into the server's address. */
export function parseServerZnode(data: Buffer, kind: 'Master' | 'MetaRegionServer'): ServerAddress {
  const body = stripHBaseZnodePrefix(data);
  const decoded = decode<{ master?: PbServerName; server?: PbServerName }>(kind, body);
  const server = kind === 'Master' ? decoded.master : decoded.server;
  if (!server?.host_name || !server.port) throw new HBaseError('PROTOCOL', `the ${kind} znode names no server`, { retriable: true });
  return { host: server.host_name, port: server.port };
}

/**
 * Bounds of the reversed meta scan that finds the region holding `row` (or the last region): from just after the
 * region name the row would have, down to (exclusive) `table,,` — so the scan never leaves the
 * table, whatever other table names share its prefix (`events` vs `events_daily`).
 */
export function metaLookupBounds(table: string, row: Uint8Array, last = false): { start: Buffer; stop: Buffer; includeStart: boolean } {
  const name = Buffer.from(parseTableName(table).full);
  const stop = Buffer.concat([name, Buffer.from(',,')]);
  if (last) {
    // Any row of this table sorts below `table-` ('-' follows ','): start the reversed scan there.
    return { start: Buffer.concat([name, Buffer.from('-')]), stop, includeStart: false };
  }
  return { start: Buffer.concat([name, Buffer.from(','), row, Buffer.from(',99999999999999')]), stop, includeStart: true };
}

/** One meta row's cells → the region it describes; undefined for rows that are not regions. */
export function regionFromMetaRow(cells: readonly Cell[]): RegionLocation | undefined {
  let infoBytes: Buffer | undefined;
  let serverBytes: Buffer | undefined;
  for (const cell of cells) {
    if (!cell.family.equals(INFO)) continue;
    if (cell.qualifier.equals(REGIONINFO)) infoBytes = cell.value;
    else if (cell.qualifier.equals(SERVER)) serverBytes = cell.value;
  }
  const rowKey = cells[0]?.row;
  if (!infoBytes || !rowKey) return undefined;
  const pb = infoBytes.subarray(0, 4).equals(PBUF) ? infoBytes.subarray(4) : infoBytes;
  let info: PbRegionInfo;
  try {
    info = decode<PbRegionInfo>('RegionInfo', pb);
  } catch (error) {
    throw new HBaseError('PROTOCOL', `hbase:meta row ${printable(rowKey)} has an unreadable info:regioninfo`, { retriable: true, cause: error });
  }
  if ((info.replica_id ?? 0) !== 0) return undefined;
  return {
    table: tableNameFromProto(info.table_name),
    name: Buffer.from(rowKey),
    encodedName: info.region_encoded_name || encodedNameOf(rowKey),
    startKey: info.start_key ? Buffer.from(info.start_key) : EMPTY,
    endKey: info.end_key ? Buffer.from(info.end_key) : EMPTY,
    server: serverBytes ? parseHostPort(serverBytes.toString()) : undefined,
    offline: info.offline === true,
    split: info.split === true,
    info,
  };
}

/** Region names end in `.<encoded name>.`. */
function encodedNameOf(regionName: Buffer): string {
  const text = regionName.toString('latin1');
  const match = /\.([0-9a-f]+)\.$/.exec(text);
  return match?.[1] ?? text;
}

function parseHostPort(text: string): ServerAddress | undefined {
  const at = text.lastIndexOf(':');
  if (at <= 0) return undefined;
  const port = Number(text.slice(at + 1));
  return Number.isInteger(port) && port > 0 ? { host: text.slice(0, at), port } : undefined;
}

export function regionContains(region: Pick<RegionLocation, 'startKey' | 'endKey'>, row: Uint8Array): boolean {
  return compareBytes(region.startKey, row) <= 0 && (region.endKey.length === 0 || compareBytes(row, region.endKey) < 0);
}

/**
 * From the rows of the reversed meta scan (highest region name first), the region that holds
 * `row`: skipping split parents and offline regions, rows of other tables, and regions that do
 * not contain the row (region names do not sort exactly like start keys).
 */
export function pickRegion(table: string, row: Uint8Array, candidates: readonly RegionLocation[], last = false): RegionLocation | undefined {
  const full = parseTableName(table).full;
  for (const region of candidates) {
    if (region.table !== full || region.offline || region.split) continue;
    if (last ? region.endKey.length === 0 : regionContains(region, row)) return region;
  }
  return undefined;
}

export function regionId(info: PbRegionInfo): number {
  return toNumber(info.region_id);
}
