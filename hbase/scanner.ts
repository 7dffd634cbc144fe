import { compareBytes, EMPTY, prefixUpperBound, printable, toBuffer, type Bytes } from './bytes.js';
import { type Cluster, regionSpecifier, scanResultCells } from './cluster.js';
import { HBaseError } from './errors.js';
import { filterProto, type ScanFilter } from './filters.js';
import type { RegionLocation } from './meta.js';
import { present, type PbColumn, type PbScan, type PbScanResponse, type PbScanRequest, type Int64 } from './proto.js';
import { backoffDelay, type RetryPolicy } from './retry.js';
import { HBaseRow } from './row.js';

/** Which columns an operation reads: a whole family (no qualifier) or one column. */
export interface ColumnSelector {
  family: Bytes;
  qualifier?: Bytes;
}

export interface TimeRange {
  /** Inclusive, milliseconds. */
  from?: number;
  /** Exclusive, milliseconds. */
  to?: number;
}

export interface ScanOptions {
  /** First row (inclusive). For a reversed scan: the highest row (inclusive). */
  startRow?: Bytes;
  /** Row to stop before (exclusive). For a reversed scan: the lowest bound (exclusive). */
  stopRow?: Bytes;
  /** Only rows starting with this prefix (sets the row range; combine with `reversed` freely). */
  prefix?: Bytes;
  reversed?: boolean;
  /** Stop after this many rows. */
  limit?: number;
  columns?: ColumnSelector[];
  filter?: ScanFilter;
  maxVersions?: number;
  timeRange?: TimeRange;
  /** Rows fetched per round trip (default 1000; the server also caps each batch at ~2 MB). */
  batchRows?: number;
}

export function columnsProto(columns: readonly ColumnSelector[] | undefined): PbColumn[] | undefined {
  if (!columns?.length) return undefined;
  const byFamily = new Map<string, { family: Buffer; qualifiers: Buffer[]; whole: boolean }>();
  for (const column of columns) {
    const family = toBuffer(column.family);
    const key = family.toString('hex');
    const entry = byFamily.get(key) ?? { family, qualifiers: [], whole: false };
    if (column.qualifier === undefined) entry.whole = true;
    else entry.qualifiers.push(toBuffer(column.qualifier));
    byFamily.set(key, entry);
  }
  return [...byFamily.values()].map((entry) => (entry.whole ? { family: entry.family } : { family: entry.family, qualifier: entry.qualifiers }));
}

export function timeRangeProto(range: TimeRange | undefined): { from?: number; to?: string } | undefined {
  if (!range) return undefined;
  return { from: range.from ?? 0, to: range.to === undefined ? '9223372036854775807' : String(range.to) };
}

interface ScanRange {
  start: Buffer;
  includeStart: boolean;
  stop: Buffer;
  includeStop: boolean;
  reversed: boolean;
}

/** The row range a scan covers, from its options (pure). */
export function scanRange(options: ScanOptions): ScanRange {
  const reversed = options.reversed ?? false;
  if (options.prefix !== undefined) {
    const prefix = toBuffer(options.prefix);
    const upper = prefixUpperBound(prefix);
    if (!reversed) return { start: prefix, includeStart: true, stop: upper, includeStop: false, reversed };
    // Reversed: from just below the prefix's upper bound down to the prefix itself (inclusive).
    return { start: upper, includeStart: false, stop: prefix, includeStop: true, reversed };
  }
  return {
    start: options.startRow === undefined ? EMPTY : toBuffer(options.startRow),
    includeStart: true,
    stop: options.stopRow === undefined ? EMPTY : toBuffer(options.stopRow),
    includeStop: false,
    reversed,
  };
}

/** True when, after `region`, the scan has nothing left to read. */
function lastRegionOfScan(region: RegionLocation, range: ScanRange): boolean {
  if (!range.reversed) {
    return region.endKey.length === 0 || (range.stop.length > 0 && compareBytes(region.endKey, range.stop) >= 0 && !(range.includeStop && region.endKey.equals(range.stop)));
  }
  return region.startKey.length === 0 || (range.stop.length > 0 && compareBytes(region.startKey, range.stop) <= 0);
}

/**
 * Streams a scan region by region. Each region is read in batches through one server-side scanner;
 * when a scanner dies (lease expired, region moved or split, server restarted) the scan reopens
 * after the last row it returned, so every row comes exactly once. Breaking out of the loop closes
 * the open scanner.
 */
export async function* scanRows(cluster: Cluster, policy: RetryPolicy, table: string, options: ScanOptions): AsyncGenerator<HBaseRow, void, undefined> {
  const range = scanRange(options);
  const batch = Math.max(1, options.batchRows ?? 1000);
  const baseScan: PbScan = {
    column: columnsProto(options.columns),
    filter: options.filter ? filterProto(options.filter) : undefined,
    max_versions: options.maxVersions ?? 1,
    time_range: timeRangeProto(options.timeRange),
    reversed: range.reversed,
    caching: batch,
    max_result_size: 2 * 1024 * 1024,
    cache_blocks: true,
  };
  let remaining = options.limit ?? Infinity;
  let cursor = range.start; // next row to read from
  let cursorInclusive = range.includeStart;
  let failures = 0;
  let failureDeadline = 0;

  while (remaining > 0) {
    let region: RegionLocation | undefined;
    let scannerId: Int64 | undefined;
    try {
      region = await locateForScan(cluster, table, cursor, cursorInclusive, range.reversed);
      const open: PbScanRequest = {
        region: regionSpecifier(region),
        scan: {
          ...baseScan,
          start_row: cursor,
          include_start_row: cursorInclusive,
          stop_row: range.stop,
          include_stop_row: range.includeStop,
        },
        number_of_rows: Math.min(batch, remaining),
        client_handles_partials: false,
        client_handles_heartbeats: false,
        ...(Number.isFinite(remaining) ? { limit_of_rows: remaining } : {}),
      };
      let seq = 0;
      let request: PbScanRequest = open;
      let regionDone = false;
      let scanDone = false;
      for (;;) {
        const { response, cellBlock } = await cluster.call<PbScanResponse>(region.server!, 'ClientService', 'Scan', 'ScanRequest', request, 'ScanResponse');
        if (present(response, 'scanner_id')) scannerId = response.scanner_id;
        const rows = scanResultCells(response, cellBlock);
        failures = 0;
        for (const cells of rows) {
          if (!cells.length || remaining <= 0) continue;
          const row = new HBaseRow(cells[0]!.row, cells);
          cursor = row.row;
          cursorInclusive = false;
          remaining--;
          yield row;
        }
        if (present(response, 'more_results') && response.more_results === false) {
          scannerId = undefined; // the server closed it
          scanDone = true;
          break;
        }
        const moreInRegion = present(response, 'more_results_in_region') ? response.more_results_in_region : rows.length > 0;
        if (!moreInRegion) {
          scannerId = undefined;
          regionDone = true;
          break;
        }
        if (remaining <= 0) {
          scanDone = true; // the finally block closes the still-open scanner
          break;
        }
        request = { scanner_id: scannerId, number_of_rows: Math.min(batch, remaining), next_call_seq: seq++, close_scanner: false };
      }
      if (scanDone || (regionDone && lastRegionOfScan(region, range))) return;
      // Next region: forward from its end key (inclusive); reversed from just below its start key.
      cursor = range.reversed ? region.startKey : region.endKey;
      cursorInclusive = !range.reversed;
    } catch (error) {
      if (!(error instanceof HBaseError) || !error.retriable) throw contextualize(error, table, cursor, region);
      cluster.invalidate(error, region);
      if (failures === 0) failureDeadline = Date.now() + policy.operationTimeoutMs;
      const delay = backoffDelay(failures++, policy);
      if (Date.now() + delay >= failureDeadline) {
        throw new HBaseError('DEADLINE_EXCEEDED', `scan of ${table} made no progress for ${policy.operationTimeoutMs} ms; last error: ${error.message}`, {
          retriable: true,
          context: { ...error.context, table, row: printable(cursor) },
          cause: error,
        });
      }
      scannerId = undefined;
      policy.onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    } finally {
      if (scannerId !== undefined && region?.server) {
        // Left early (break / error in the consumer): release the server-side scanner.
        const id = scannerId;
        cluster.call(region.server, 'ClientService', 'Scan', 'ScanRequest', { scanner_id: id, number_of_rows: 0, close_scanner: true }, 'ScanResponse').catch(() => undefined);
      }
    }
  }
}

async function locateForScan(cluster: Cluster, table: string, cursor: Buffer, inclusive: boolean, reversed: boolean): Promise<RegionLocation> {
  if (!reversed) return cluster.locate(table, cursor);
  if (cursor.length === 0) return cluster.locate(table, cursor, { last: true });
  const region = await cluster.locate(table, cursor);
  // Reading below `cursor` (exclusive) when it is exactly a region's start: that is the region before.
  if (!inclusive && region.startKey.equals(cursor)) return cluster.locateBefore(table, cursor);
  return region;
}

export function contextualize(error: unknown, table: string, row: Uint8Array | undefined, region: RegionLocation | undefined): unknown {
  if (!(error instanceof HBaseError)) return error;
  return error.withContext({ table, ...(row ? { row: printable(row) } : {}), ...(region ? { region: region.encodedName } : {}) });
}
