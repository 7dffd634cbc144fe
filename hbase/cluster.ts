import os from 'node:os';
import { printable, toBuffer } from './bytes.js';
import { decodeCellBlock, type Cell } from './cells.js';
import { HBaseError, needsRelocation } from './errors.js';
import { META_REGION_NAME, metaLookupBounds, parseServerZnode, parseTableName, pickRegion, regionFromMetaRow, type RegionLocation, type ServerAddress } from './meta.js';
import type { MessageName, PbRegionSpecifier, PbResult, PbScanResponse } from './proto.js';
import { RegionCache } from './region-cache.js';
import type { RetryPolicy } from './retry.js';
import { RpcConnection, type ServiceName, type TlsSettings } from './rpc-connection.js';
import { getZnodeData } from './zookeeper.js';

/**
 * What every operation needs: where things are (ZooKeeper → meta → regions, cached) and one pooled
 * connection per server and service. Owned by one HBaseClient; nothing here is global.
 */

export interface ClusterSettings extends RetryPolicy {
  zookeeperQuorum: string;
  znodeParent: string;
  user: string;
  rpcTimeoutMs: number;
  connectTimeoutMs: number;
  tls?: TlsSettings;
}

export const REGION_NAME_SPECIFIER = 1;
const HIGH_QOS = 200;

export function regionSpecifier(region: RegionLocation | Buffer): PbRegionSpecifier {
  return { type: REGION_NAME_SPECIFIER, value: Buffer.isBuffer(region) ? region : region.name };
}

export function defaultUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'adpipe';
  }
}

export class Cluster {
  readonly cache = new RegionCache();
  private readonly connections = new Map<string, Promise<RpcConnection>>();
  private metaServer: ServerAddress | undefined;
  private closed = false;

  constructor(readonly settings: ClusterSettings) {}

  /** Sends one RPC to a server; the connection is opened on first use and reused after. */
  async call<T>(
    server: ServerAddress,
    service: ServiceName,
    method: string,
    requestType: MessageName,
    request: object,
    responseType: MessageName,
    options: { timeoutMs?: number; cellBlock?: Buffer; priority?: number } = {},
  ): Promise<{ response: T; cellBlock?: Buffer }> {
    const connection = await this.connection(server, service);
    return connection.call<T>(method, requestType, request, responseType, {
      timeoutMs: options.timeoutMs ?? this.settings.rpcTimeoutMs,
      ...(options.cellBlock ? { cellBlock: options.cellBlock } : {}),
      ...(options.priority ? { priority: options.priority } : {}),
    });
  }

  private connection(server: ServerAddress, service: ServiceName): Promise<RpcConnection> {
    if (this.closed) throw new HBaseError('CLOSED', 'the HBase client is closed');
    const key = `${service}@${server.host}:${server.port}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = RpcConnection.open({
        host: server.host,
        port: server.port,
        service,
        user: this.settings.user,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        ...(this.settings.tls ? { tls: this.settings.tls } : {}),
      });
      this.connections.set(key, connection);
      connection.then(
        (open) => open.whenClosed(() => this.connections.get(key) === connection && this.connections.delete(key)),
        () => this.connections.get(key) === connection && this.connections.delete(key),
      );
    }
    return connection;
  }

  async masterAddress(): Promise<ServerAddress> {
    const data = await this.znode('master');
    if (!data?.length) throw new HBaseError('SERVER_BUSY', `no active HBase master is registered in ZooKeeper (${this.settings.zookeeperQuorum}${this.settings.znodeParent}/master)`, { retriable: true });
    return parseServerZnode(data, 'Master');
  }

  private async metaAddress(): Promise<ServerAddress> {
    if (this.metaServer) return this.metaServer;
    const data = await this.znode('meta-region-server');
    if (!data?.length) throw new HBaseError('REGION_UNAVAILABLE', 'hbase:meta is not assigned to any region server yet', { retriable: true, context: { table: 'hbase:meta' } });
    this.metaServer = parseServerZnode(data, 'MetaRegionServer');
    return this.metaServer;
  }

  private async znode(name: string): Promise<Buffer | undefined> {
    try {
      return await getZnodeData(this.settings.zookeeperQuorum, `${this.settings.znodeParent}/${name}`, this.settings.connectTimeoutMs);
    } catch (error) {
      throw new HBaseError('CONNECTION', `could not read ${this.settings.znodeParent}/${name} from ZooKeeper ${this.settings.zookeeperQuorum}: ${(error as Error).message}`, {
        retriable: true,
        cause: error,
      });
    }
  }

  /**
   * The region holding `row` (or the table's last region), from the cache or from hbase:meta by a
   * reversed scan bounded to the table. Throws TABLE_NOT_FOUND when meta has no region of the
   * table and a retriable REGION_UNAVAILABLE while the region is offline, split or unassigned.
   */
  async locate(table: string, row: Uint8Array, options: { last?: boolean; timeoutMs?: number } = {}): Promise<RegionLocation> {
    const full = parseTableName(table).full;
    const cached = options.last ? this.cache.findLast(full) : this.cache.find(full, row);
    if (cached) return cached;
    const candidates = await this.scanMeta(full, row, options.last ?? false, options.timeoutMs);
    const region = pickRegion(full, row, candidates, options.last ?? false);
    const where = options.last ? 'the last region' : `row ${printable(row)}`;
    if (!region) {
      if (!candidates.some((candidate) => candidate.table === full)) {
        throw new HBaseError('TABLE_NOT_FOUND', `table ${full} does not exist (no region in hbase:meta)`, { context: { table: full } });
      }
      throw new HBaseError('REGION_UNAVAILABLE', `no online region of table ${full} holds ${where} yet (split or assignment in progress)`, {
        retriable: true,
        context: { table: full, row: printable(row) },
      });
    }
    if (!region.server) {
      throw new HBaseError('REGION_UNAVAILABLE', `region ${region.encodedName} of table ${full} (${where}) is not assigned to a server`, {
        retriable: true,
        context: { table: full, region: region.encodedName },
      });
    }
    // The other regions the scan returned are current too: cache them (fewer meta lookups).
    for (const candidate of candidates) {
      if (candidate !== region && candidate.table === full && candidate.server && !candidate.offline && !candidate.split) this.cache.add(candidate);
    }
    this.cache.add(region);
    return region;
  }

  /** The region whose end key is `key`: the one before it, for reversed scans. */
  async locateBefore(table: string, key: Uint8Array, timeoutMs?: number): Promise<RegionLocation> {
    const full = parseTableName(table).full;
    const name = Buffer.from(full);
    const start = Buffer.concat([name, Buffer.from(','), key, Buffer.from(',')]);
    const candidates = await this.metaScan(start, Buffer.concat([name, Buffer.from(',,')]), false, timeoutMs);
    const region = candidates.find((c) => c.table === full && !c.offline && !c.split && c.endKey.equals(Buffer.from(key)));
    if (!region?.server) {
      throw new HBaseError('REGION_UNAVAILABLE', `no online region of table ${full} ends at ${printable(key)} yet`, { retriable: true, context: { table: full } });
    }
    this.cache.add(region);
    return region;
  }

  private scanMeta(table: string, row: Uint8Array, last: boolean, timeoutMs?: number): Promise<RegionLocation[]> {
    const bounds = metaLookupBounds(table, row, last);
    return this.metaScan(bounds.start, bounds.stop, bounds.includeStart, timeoutMs);
  }

  private async metaScan(start: Buffer, stop: Buffer, includeStart: boolean, timeoutMs?: number): Promise<RegionLocation[]> {
    const server = await this.metaAddress();
    try {
      const { response, cellBlock } = await this.call<PbScanResponse>(
        server,
        'ClientService',
        'Scan',
        'ScanRequest',
        {
          region: regionSpecifier(META_REGION_NAME),
          scan: { start_row: start, stop_row: stop, reversed: true, include_start_row: includeStart, caching: 10, column: [{ family: toBuffer('info') }] },
          number_of_rows: 10,
          close_scanner: true,
        },
        'ScanResponse',
        { priority: HIGH_QOS, ...(timeoutMs ? { timeoutMs: Math.min(timeoutMs, this.settings.rpcTimeoutMs) } : {}) },
      );
      const regions: RegionLocation[] = [];
      for (const cells of scanResultCells(response, cellBlock)) {
        const region = regionFromMetaRow(cells);
        if (region) regions.push(region);
      }
      return regions;
    } catch (error) {
      // Meta moved (or its server restarted): read its location from ZooKeeper next time.
      if (needsRelocation(error)) this.metaServer = undefined;
      throw error;
    }
  }

  /** After a failed call: forget what the failure says is stale. */
  invalidate(error: unknown, region: RegionLocation | undefined): void {
    if (!needsRelocation(error)) return;
    if (region) this.cache.remove(region);
    if (error instanceof HBaseError && (error.code === 'CONNECTION' || error.code === 'TIMEOUT') && error.context.server) {
      this.cache.clear({ server: error.context.server });
    }
  }

  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) connection.then((open) => open.close(), () => undefined);
    this.connections.clear();
  }
}

/** The cells of each Result, whether the server put them in the message or in the cell block. */
export function resultCells(results: readonly (PbResult | undefined)[], cellBlock: Buffer | undefined): Cell[][] {
  const blockCells = cellBlock ? decodeCellBlock(cellBlock) : [];
  let next = 0;
  return results.map((result) => {
    if (!result) return [];
    if (result.cell?.length) return result.cell.map(pbCell);
    const count = result.associated_cell_count ?? 0;
    const cells = blockCells.slice(next, next + count);
    next += count;
    return cells;
  });
}

export function scanResultCells(response: PbScanResponse, cellBlock: Buffer | undefined): Cell[][] {
  if (response.cells_per_result?.length) {
    const blockCells = cellBlock ? decodeCellBlock(cellBlock) : [];
    let next = 0;
    return response.cells_per_result.map((count) => {
      const cells = blockCells.slice(next, next + count);
      next += count;
      return cells;
    });
  }
  return resultCells(response.results ?? [], cellBlock);
}

function pbCell(cell: NonNullable<PbResult['cell']>[number]): Cell {
  const view = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.alloc(0));
  return {
    row: view(cell.row),
    family: view(cell.family),
    qualifier: view(cell.qualifier),
    timestamp: cell.timestamp === undefined ? 0 : Number(cell.timestamp.toString()),
    type: (cell.cell_type ?? 4) as Cell['type'],
    value: view(cell.value),
  };
}
