import crypto from 'node:crypto';
import { HBaseAdmin } from './admin.js';
import { bufferToInt64, int64ToBuffer, printable, toBuffer, type Bytes } from './bytes.js';
import { CellType, type Cell, type CellToEncode, encodeCellBlock } from './cells.js';
import { Cluster, defaultUser, regionSpecifier, resultCells, type ClusterSettings } from './cluster.js';
import { HBaseError, remoteError } from './errors.js';
import { binaryComparator, compareCode, filterProto, nullComparator, type CompareOp, type ScanFilter } from './filters.js';
import { parseTableName, type RegionLocation, type ServerAddress } from './meta.js';
import { present, type PbAction, type PbCondition, type PbGet, type PbMultiResponse, type PbMutation, type PbResult } from './proto.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { HBaseRow } from './row.js';
import type { TlsSettings } from './rpc-connection.js';
import { columnsProto, contextualize, scanRows, timeRangeProto, type ColumnSelector, type ScanOptions, type TimeRange } from './scanner.js';

export interface HBaseClientOptions {
  /** ZooKeeper quorum, `host:port[,host:port...]`. */
  zookeeperQuorum: string;
  /** HBase's znode root (`zookeeper.znode.parent`), default `/hbase`. */
  znodeParent?: string;
  /** User name sent to HBase (SIMPLE authentication); default: the OS user. */
  user?: string;
  /** One RPC's time limit, default 10 000 ms. */
  rpcTimeoutMs?: number;
  /** One operation's time limit, retries included, default 60 000 ms. */
  operationTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * TLS to the master and region servers (HBase >= 2.6, `hbase.server.netty.tls.enabled`); a
   * certificate the CA does not vouch for fails at once with code TLS. ZooKeeper is still read in
   * plaintext (it holds locations, not data).
   */
  tls?: TlsSettings;
  /** First retry delay (doubles each attempt, jittered), default 100 ms. */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /**
   * Called with each error that is about to be retried (region moved or split, server restarting,
   * connection lost, ...): for metrics and logs. Must not throw.
   */
  onRetry?: (error: HBaseError) => void;
}

export interface CellInput {
  family: Bytes;
  qualifier: Bytes;
  value: Bytes;
  /** Milliseconds; default: the server's clock at write time. */
  timestamp?: number;
}

export interface Put {
  row: Bytes;
  cells: CellInput[];
}

export interface Get {
  row: Bytes;
  /** Default: every column of every family. */
  columns?: ColumnSelector[];
  maxVersions?: number;
  timeRange?: TimeRange;
  filter?: ScanFilter;
}

export interface Increment {
  row: Bytes;
  columns: { family: Bytes; qualifier: Bytes; amount: number | bigint }[];
}

export interface Delete {
  row: Bytes;
  /** Default: the whole row. A selector without qualifier deletes that family of the row. */
  columns?: ColumnSelector[];
}

export interface CheckAndMutate {
  row: Bytes;
  family: Bytes;
  qualifier: Bytes;
  /** How the current value compares to `value` (default EQUAL). */
  op?: CompareOp;
  /** Omitted: the condition is "the cell does not exist". */
  value?: Bytes;
  /** Exactly one of `put` / `delete`: what to do when the condition holds. */
  put?: CellInput[];
  delete?: ColumnSelector[] | 'row';
}

const MUTATE = { APPEND: 0, INCREMENT: 1, PUT: 2, DELETE: 3 } as const;
const DELETE_TYPE = { ONE_VERSION: 0, MULTIPLE_VERSIONS: 1, FAMILY: 2 } as const;

interface MultiItem {
  row: Buffer;
  action: (index: number) => PbAction;
  cells?: CellToEncode[];
  /** Makes the item its own RegionAction, applied only if the condition holds (HBase >= 2.4). */
  condition?: PbCondition;
}

interface RegionGroup {
  region: RegionLocation;
  indexes: number[];
  conditional: boolean;
}

/**
 * Typed, promise-based HBase 2.x client over the native RPC (see hbase/index.ts for the overview).
 * One instance per process is enough: it pools one connection per server and caches region
 * locations. `close()` when done.
 */
export class HBaseClient {
  /** @internal shared with HBaseAdmin */
  readonly cluster: Cluster;
  private readonly policy: RetryPolicy;
  private adminInstance: HBaseAdmin | undefined;
  private readonly nonceGroup = BigInt.asUintN(63, crypto.randomBytes(8).readBigUInt64BE()).toString();

  constructor(options: HBaseClientOptions) {
    const settings: ClusterSettings = {
      zookeeperQuorum: options.zookeeperQuorum,
      znodeParent: options.znodeParent ?? '/hbase',
      user: options.user ?? defaultUser(),
      rpcTimeoutMs: options.rpcTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      operationTimeoutMs: options.operationTimeoutMs ?? 60_000,
      baseDelayMs: options.retryBaseDelayMs ?? 100,
      maxDelayMs: options.retryMaxDelayMs ?? 5_000,
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    };
    this.cluster = new Cluster(settings);
    this.policy = settings;
  }

  /** Table DDL (create / modify / delete / describe), sharing this client's connections. */
  get admin(): HBaseAdmin {
    this.adminInstance ??= new HBaseAdmin(this.cluster, this.policy);
    return this.adminInstance;
  }

  /** Writes one row's cells. */
  async put(table: string, put: Put): Promise<void> {
    await this.putMany(table, [put]);
  }

  /**
   * Writes many rows: one Multi RPC per region server per attempt; rows whose region moved or
   * split are located again and retried alone until the operation deadline.
   */
  async putMany(table: string, puts: readonly Put[]): Promise<void> {
    if (puts.length === 0) return;
    const items: MultiItem[] = puts.map((put) => {
      const row = toBuffer(put.row);
      const cells = putCells(row, put.cells);
      if (cells.length === 0) throw new HBaseError('INVALID_ARGUMENT', `a put needs at least one cell (table ${table}, row ${printable(row)})`, { context: { table } });
      return { row, cells, action: (index) => ({ index, mutation: { row, mutate_type: MUTATE.PUT, associated_cell_count: cells.length } }) };
    });
    await this.multi(table, items, `put of ${puts.length} row(s) into ${table}`);
  }

  /** Reads one row; undefined when it has no (selected) cells. */
  async get(table: string, get: Get): Promise<HBaseRow | undefined> {
    const [row] = await this.getMany(table, [get]);
    return row;
  }

  /** Reads many rows in one round trip per region server; results in the order of `gets`. */
  async getMany(table: string, gets: readonly Get[]): Promise<(HBaseRow | undefined)[]> {
    if (gets.length === 0) return [];
    const items: MultiItem[] = gets.map((get) => {
      const pb = getProto(get);
      return { row: Buffer.from(pb.row), action: (index) => ({ index, get: pb }) };
    });
    const results = await this.multi(table, items, `get of ${gets.length} row(s) from ${table}`);
    return results.map((cells) => (cells.length ? new HBaseRow(cells[0]!.row, cells) : undefined));
  }

  /** Streams rows in key order (reverse order when `reversed`); see ScanOptions. */
  scan(table: string, options: ScanOptions = {}): AsyncIterable<HBaseRow> {
    const full = parseTableName(table).full;
    return { [Symbol.asyncIterator]: () => scanRows(this.cluster, this.policy, full, options) };
  }

  /**
   * Adds to counters (8-byte big-endian cells) atomically; returns the new values in the order of
   * `columns`. Retries carry a nonce, so a retried increment is applied once.
   */
  async increment(table: string, increment: Increment): Promise<bigint[]> {
    const row = toBuffer(increment.row);
    const mutation: PbMutation = {
      row,
      mutate_type: MUTATE.INCREMENT,
      column_value: groupByFamily(increment.columns.map((c) => ({ family: toBuffer(c.family), qualifier: toBuffer(c.qualifier), value: int64ToBuffer(c.amount) }))),
      nonce: this.newNonce(),
    };
    const { cells } = await this.mutate(table, row, mutation, undefined, 'increment');
    return increment.columns.map((column) => {
      const family = toBuffer(column.family);
      const qualifier = toBuffer(column.qualifier);
      const cell = cells.find((c) => c.family.equals(family) && c.qualifier.equals(qualifier));
      if (!cell) throw new HBaseError('PROTOCOL', `increment of ${table} row ${printable(row)} returned no value for ${family}:${qualifier}`, { context: { table } });
      return bufferToInt64(cell.value);
    });
  }

  /** Deletes a row, some families of it, or some columns (all versions). */
  async delete(table: string, del: Delete): Promise<void> {
    const row = toBuffer(del.row);
    await this.mutate(table, row, deleteProto(row, del.columns), undefined, 'delete');
  }

  /**
   * Applies `put` or `delete` only if the cell compares to `value` as `op` says (or is absent
   * when `value` is omitted), atomically on the row. Returns whether it was applied.
   */
  async checkAndMutate(table: string, request: CheckAndMutate): Promise<boolean> {
    const { row, condition, mutation } = conditionalMutation(table, request);
    const { processed } = await this.mutate(table, row, mutation, condition, 'checkAndMutate');
    return processed;
  }

  /**
   * Many `checkAndMutate`s in one Multi RPC per region server per attempt (each one its own
   * conditional RegionAction, atomic on its row); returns whether each was applied, in order.
   * Only the items that failed (region moved, server restarting, ...) are retried. A retried item
   * whose first attempt was applied but whose answer was lost reports false, as `checkAndMutate`
   * does: read the row to tell.
   */
  async checkAndMutateMany(table: string, requests: readonly CheckAndMutate[]): Promise<boolean[]> {
    if (requests.length === 0) return [];
    const items: MultiItem[] = requests.map((request) => {
      if (!request.put || request.delete) {
        const { row, condition, mutation } = conditionalMutation(table, request);
        return { row, condition, action: (index) => ({ index, mutation }) };
      }
      // A put's cells travel in the cell block, as putMany's do (the server reads a conditional
      // RegionAction's mutations from it the same way): no protobuf message per cell.
      const row = toBuffer(request.row);
      const condition = conditionProto(row, request);
      const cells = putCells(row, request.put);
      return { row, condition, cells, action: (index) => ({ index, mutation: { row, mutate_type: MUTATE.PUT, associated_cell_count: cells.length } }) };
    });
    const processed: boolean[] = new Array<boolean>(requests.length).fill(false);
    await this.multi(table, items, `checkAndMutate of ${requests.length} row(s) on ${table}`, processed);
    return processed;
  }

  /** Closes every connection; pending calls fail with CLOSED. */
  close(): void {
    this.cluster.close();
  }

  private newNonce(): string {
    return BigInt.asUintN(63, crypto.randomBytes(8).readBigUInt64BE()).toString();
  }

  private async mutate(table: string, row: Buffer, mutation: PbMutation, condition: PbCondition | undefined, what: string): Promise<{ cells: Cell[]; processed: boolean }> {
    const full = parseTableName(table).full;
    return withRetries(`${what} on ${full} row ${printable(row)}`, this.policy, async ({ remainingMs }) => {
      const region = await this.cluster.locate(full, row, { timeoutMs: remainingMs });
      try {
        const { response, cellBlock } = await this.cluster.call<{ result?: PbResult; processed?: boolean }>(
          region.server!,
          'ClientService',
          'Mutate',
          'MutateRequest',
          { region: regionSpecifier(region), mutation, ...(condition ? { condition } : {}), nonce_group: this.nonceGroup },
          'MutateResponse',
          { timeoutMs: Math.min(this.cluster.settings.rpcTimeoutMs, remainingMs) },
        );
        const [cells] = resultCells([response.result], cellBlock);
        return { cells: cells ?? [], processed: response.processed ?? false };
      } catch (error) {
        this.cluster.invalidate(error, region);
        throw contextualize(error, full, row, region);
      }
    });
  }

  /**
   * Runs actions as Multi RPCs grouped by server and region; returns each action's cells. Only the
   * actions that failed are retried.
   */
  private async multi(table: string, items: readonly MultiItem[], what: string, processed?: boolean[]): Promise<Cell[][]> {
    const full = parseTableName(table).full;
    const results: Cell[][] = new Array<Cell[]>(items.length);
    let pending = items.map((_, index) => index);
    await withRetries(what, this.policy, async ({ remainingMs }) => {
      const byServer = new Map<string, { server: ServerAddress; regions: Map<string, RegionGroup> }>();
      for (const index of pending) {
        const item = items[index]!;
        // Cache hits (nearly every row) stay synchronous: no promise per row on the hot path.
        let region = this.cluster.cache.find(full, item.row);
        if (!region) {
          try {
            region = await this.cluster.locate(full, item.row, { timeoutMs: remainingMs });
          } catch (error) {
            throw contextualize(error, full, item.row, undefined);
          }
        }
        const serverKey = `${region.server!.host}:${region.server!.port}`;
        const forServer = byServer.get(serverKey) ?? { server: region.server!, regions: new Map() };
        byServer.set(serverKey, forServer);
        // A condition covers its whole RegionAction, so each conditional item gets its own.
        const regionKey = item.condition ? `${index}\u0000${region.name.toString('latin1')}` : region.name.toString('latin1');
        const forRegion = forServer.regions.get(regionKey) ?? { region, indexes: [], conditional: item.condition !== undefined };
        forServer.regions.set(regionKey, forRegion);
        forRegion.indexes.push(index);
      }
      const failed: { index: number; error: HBaseError; region: RegionLocation }[] = [];
      const timeoutMs = Math.min(this.cluster.settings.rpcTimeoutMs, remainingMs);
      await Promise.all(
        [...byServer.values()].map(async ({ server, regions }) => {
          const regionActions = [];
          const cells: CellToEncode[] = [];
          const order: RegionGroup[] = [];
          for (const entry of regions.values()) {
            order.push(entry);
            const condition = entry.conditional ? items[entry.indexes[0]!]!.condition : undefined;
            regionActions.push({ region: regionSpecifier(entry.region), action: entry.indexes.map((index) => items[index]!.action(index)), ...(condition ? { condition } : {}) });
            for (const index of entry.indexes) if (items[index]!.cells) cells.push(...items[index]!.cells!);
          }
          try {
            const { response, cellBlock } = await this.cluster.call<PbMultiResponse>(
              server,
              'ClientService',
              'Multi',
              'MultiRequest',
              { regionAction: regionActions, nonceGroup: this.nonceGroup },
              'MultiResponse',
              { timeoutMs, ...(cells.length ? { cellBlock: encodeCellBlock(cells) } : {}) },
            );
            collectMultiResults(response, cellBlock, order, server, results, failed, processed);
          } catch (error) {
            if (!(error instanceof HBaseError)) throw error;
            for (const entry of order) for (const index of entry.indexes) failed.push({ index, error, region: entry.region });
          }
        }),
      );
      if (failed.length === 0) return;
      for (const failure of failed) this.cluster.invalidate(failure.error, failure.region);
      pending = failed.map((failure) => failure.index);
      const fatal = failed.find((failure) => !failure.error.retriable) ?? failed[0]!;
      throw contextualize(fatal.error, full, items[fatal.index]!.row, fatal.region);
    });
    return results;
  }
}

function collectMultiResults(
  response: PbMultiResponse,
  cellBlock: Buffer | undefined,
  order: readonly RegionGroup[],
  server: ServerAddress,
  results: Cell[][],
  failed: { index: number; error: HBaseError; region: RegionLocation }[],
  processed: boolean[] | undefined,
): void {
  const serverName = `${server.host}:${server.port}`;
  const regionResults = response.regionActionResult ?? [];
  const ok: { index: number; result: PbResult | undefined }[] = [];
  order.forEach((entry, position) => {
    const regionResult = regionResults[position];
    const regionError = regionResult?.exception ?? (regionResult ? undefined : { name: 'org.apache.hadoop.hbase.client.NoServerForRegionException', value: Buffer.from('no result for region') });
    if (regionError) {
      const error = remoteError(regionError.name, Buffer.from(regionError.value ?? []).toString(), { server: serverName });
      for (const index of entry.indexes) failed.push({ index, error, region: entry.region });
      return;
    }
    if (entry.conditional) {
      // The server numbers a conditional RegionAction's results from 0 whatever the action's
      // index, and may send none: the RegionAction's `processed` is the answer.
      const index = entry.indexes[0]!;
      const outcome = regionResult!.resultOrException?.[0];
      if (outcome?.exception) {
        failed.push({ index, error: remoteError(outcome.exception.name, Buffer.from(outcome.exception.value ?? []).toString(), { server: serverName }), region: entry.region });
        return;
      }
      if (processed) processed[index] = regionResult!.processed === true;
      ok.push({ index, result: outcome?.result });
      return;
    }
    const seen = new Set<number>();
    for (const item of regionResult!.resultOrException ?? []) {
      const index = present(item, 'index') ? item.index! : -1;
      seen.add(index);
      if (item.exception) {
        failed.push({ index, error: remoteError(item.exception.name, Buffer.from(item.exception.value ?? []).toString(), { server: serverName }), region: entry.region });
      } else {
        ok.push({ index, result: item.result });
      }
    }
    for (const index of entry.indexes) {
      if (!seen.has(index)) failed.push({ index, error: new HBaseError('PROTOCOL', `Multi response from ${serverName} lacks action ${index}`, { retriable: true }), region: entry.region });
    }
  });
  // Result cells in a cell block are in response order, whatever failed around them.
  const cells = resultCells(
    ok.map((entry) => entry.result),
    cellBlock,
  );
  ok.forEach((entry, position) => {
    results[entry.index] = cells[position] ?? [];
  });
}

function conditionalMutation(table: string, request: CheckAndMutate): { row: Buffer; condition: PbCondition; mutation: PbMutation } {
  const row = toBuffer(request.row);
  if ((request.put === undefined) === (request.delete === undefined)) {
    throw new HBaseError('INVALID_ARGUMENT', `checkAndMutate on ${table} row ${printable(row)} needs exactly one of put / delete`, { context: { table } });
  }
  const condition = conditionProto(row, request);
  const mutation: PbMutation = request.put
    ? {
        row,
        mutate_type: MUTATE.PUT,
        column_value: groupByFamily(request.put.map((c) => ({ family: toBuffer(c.family), qualifier: toBuffer(c.qualifier), value: toBuffer(c.value), timestamp: c.timestamp }))),
      }
    : deleteProto(row, request.delete === 'row' ? undefined : request.delete);
  return { row, condition, mutation };
}

/** A put's cells as they go into a cell block. */
function putCells(row: Buffer, cells: readonly CellInput[]): CellToEncode[] {
  return cells.map((cell) => ({ row, family: toBuffer(cell.family), qualifier: toBuffer(cell.qualifier), value: toBuffer(cell.value), timestamp: cell.timestamp, type: CellType.Put }));
}

function conditionProto(row: Buffer, request: CheckAndMutate): PbCondition {
  return {
    row,
    family: toBuffer(request.family),
    qualifier: toBuffer(request.qualifier),
    compare_type: compareCode(request.op ?? 'EQUAL'),
    comparator: request.value === undefined ? nullComparator() : binaryComparator(request.value),
  };
}

function getProto(get: Get): PbGet {
  return {
    row: toBuffer(get.row),
    column: columnsProto(get.columns),
    max_versions: get.maxVersions ?? 1,
    time_range: timeRangeProto(get.timeRange),
    filter: get.filter ? filterProto(get.filter) : undefined,
  };
}

function groupByFamily(cells: { family: Buffer; qualifier: Buffer; value?: Buffer; timestamp?: number; deleteType?: number }[]): PbMutation['column_value'] {
  const byFamily = new Map<string, { family: Buffer; qualifier_value: { qualifier: Buffer; value?: Buffer; timestamp?: number; delete_type?: number }[] }>();
  for (const cell of cells) {
    const key = cell.family.toString('hex');
    const entry = byFamily.get(key) ?? { family: cell.family, qualifier_value: [] };
    byFamily.set(key, entry);
    entry.qualifier_value.push({
      qualifier: cell.qualifier,
      ...(cell.value ? { value: cell.value } : {}),
      ...(cell.timestamp !== undefined ? { timestamp: cell.timestamp } : {}),
      ...(cell.deleteType !== undefined ? { delete_type: cell.deleteType } : {}),
    });
  }
  return [...byFamily.values()];
}

function deleteProto(row: Buffer, columns: readonly ColumnSelector[] | undefined): PbMutation {
  if (!columns?.length) return { row, mutate_type: MUTATE.DELETE };
  return {
    row,
    mutate_type: MUTATE.DELETE,
    column_value: groupByFamily(
      columns.map((column) =>
        column.qualifier === undefined
          ? { family: toBuffer(column.family), qualifier: Buffer.alloc(0), deleteType: DELETE_TYPE.FAMILY }
          : { family: toBuffer(column.family), qualifier: toBuffer(column.qualifier), deleteType: DELETE_TYPE.MULTIPLE_VERSIONS },
      ),
    ),
  };
}
