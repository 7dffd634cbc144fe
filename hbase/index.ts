/**
 * adpipe's HBase module: a typed client for HBase 2.x over its native RPC (protobuf on TCP), for
 * the operator (table DDL) and the runtime (data). Import only from this file.
 *
 * Usage
 * ```ts
 * import { HBaseClient, isHBaseError } from '../hbase/index.js';
 *
 * const hbase = new HBaseClient({ zookeeperQuorum: 'zk1:2181' });   // one per process; lazy connect
 * // HBase >= 2.6 with TLS on its RPC ports: CA (and a client certificate for mutual TLS), PEM
 * // new HBaseClient({ zookeeperQuorum: 'zk1:2181', tls: { ca, cert, key } });
 *
 * // operator: DDL (each call waits for the master's procedure to finish)
 * if (!(await hbase.admin.tableExists('events'))) {
 *   await hbase.admin.createTable({
 *     name: 'events',
 *     families: [{ name: 'd', ttlSeconds: 30 * 86400, maxVersions: 1, compression: 'GZ', bloomFilter: 'ROW' }],
 *     splitKeys: ['4', '8', 'c'],                      // pre-split
 *   });
 * }
 * await hbase.admin.modifyFamily('events', { name: 'd', ttlSeconds: 7 * 86400 }); // WHOLE descriptor:
 *                                                      // omitted settings revert to HBase defaults
 * await hbase.admin.addFamily('events', { name: 'agg' });
 * const description = await hbase.admin.describeTable('events');   // undefined when missing
 * await hbase.admin.flushTable('events');                           // memstores → HFiles
 * await hbase.admin.deleteTable('events', { ifExists: true });      // disables first
 *
 * // runtime: data (strings are UTF-8; Buffers are raw bytes)
 * await hbase.putMany('events', [{ row: 'k1', cells: [{ family: 'd', qualifier: 'v', value: '…' }] }]);
 * const row = await hbase.get('events', { row: 'k1' });             // HBaseRow | undefined
 * row?.value('d', 'v');                                               // Buffer | undefined
 * for await (const r of hbase.scan('events', { prefix: 'k', limit: 100 })) console.log(r.row);
 * const [clicks] = await hbase.increment('events', { row: 'k1', columns: [{ family: 'd', qualifier: 'clicks', amount: 1 }] });
 * const firstWrite = await hbase.checkAndMutate('events', {              // put-if-absent (idempotent writes)
 *   row: 'id', family: 'd', qualifier: 'seen', put: [{ family: 'd', qualifier: 'seen', value: '1' }],
 * });
 * const applied = await hbase.checkAndMutateMany('events', [request1, request2]); // boolean[]: one
 *                                                      // conditional Multi RPC per region server
 * await hbase.delete('events', { row: 'k1' });
 * hbase.close();
 * ```
 *
 * Other admin calls: `listTables()`, `listRegions(table)`, `disableTable` / `enableTable`,
 * `splitRegion(table, key)`, `moveRegion(table, row, 'host:port'?)`, `reopenRegion(table, row)`.
 * Option `onRetry: (error) => …` reports every retried error (for metrics); behaviour is unchanged.
 *
 * Errors: every failure is an `HBaseError` with a stable `code` (TABLE_NOT_FOUND, TABLE_EXISTS,
 * NO_SUCH_FAMILY, INVALID_ARGUMENT, DEADLINE_EXCEEDED, ...), `retriable`, and `context`
 * (table / row / region / server). Region moves, splits and server restarts are retried inside each
 * call (backoff, bounded by `operationTimeoutMs`, default 60 s); a call fails only once its
 * deadline has passed (DEADLINE_EXCEEDED, retriable) or on an error retrying cannot fix.
 * Details: docs/hbase-client.md.
 */
export { HBaseClient } from './client.js';
export type { HBaseClientOptions, Put, CellInput, Get, Increment, Delete, CheckAndMutate } from './client.js';
export type { HBaseAdmin, TableSpec, TableDescription, RegionDescription } from './admin.js';
export type { FamilySpec, FamilyDescription, Compression, BloomFilter, DataBlockEncoding } from './schema.js';
export type { ScanOptions, ColumnSelector, TimeRange } from './scanner.js';
export type { ScanFilter, CompareOp } from './filters.js';
export { HBaseRow } from './row.js';
export { CellType, type Cell } from './cells.js';
export type { Bytes } from './bytes.js';
export type { TlsSettings } from './rpc-connection.js';
export { HBaseError, isHBaseError, type HBaseErrorCode, type HBaseErrorContext } from './errors.js';
