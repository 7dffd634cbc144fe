import crypto from 'node:crypto';
import { printable, toBuffer, type Bytes } from './bytes.js';
import type { Cluster } from './cluster.js';
import { HBaseError, remoteError } from './errors.js';
import { parseTableName, tableNameFromProto, tableNameProto, type RegionLocation } from './meta.js';
import { present, toNumber, type Int64, type MessageName, type PbProcedureResult, type PbTableName, type PbTableSchema } from './proto.js';
import { withRetries, type RetryPolicy } from './retry.js';
import { familyFromSchema, familySchema, type FamilyDescription, type FamilySpec } from './schema.js';

export interface TableSpec {
  /** `name` or `namespace:name`. */
  name: string;
  families: FamilySpec[];
  /** Pre-split: the table starts with one region per range between these keys. */
  splitKeys?: Bytes[];
  /** Region size that triggers an automatic split (HBase default 10 GiB). */
  maxFileSizeBytes?: number;
}

export interface TableDescription {
  name: string;
  enabled: boolean;
  families: FamilyDescription[];
  maxFileSizeBytes: number | undefined;
}

export interface RegionDescription {
  name: string;
  encodedName: string;
  startKey: Buffer;
  endKey: Buffer;
  server: string | undefined;
}

const PROCEDURE = { NOT_FOUND: 0, RUNNING: 1, FINISHED: 2 } as const;
const TABLE_STATE = ['ENABLED', 'DISABLED', 'DISABLING', 'ENABLING'] as const;

/**
 * Table DDL through the master's MasterService (found via the `/hbase/master` znode). Every
 * operation that the master runs as a procedure waits for that procedure to finish, so when a
 * method resolves the change is in effect. Obtained from `HBaseClient.admin`.
 */
export class HBaseAdmin {
  constructor(
    private readonly cluster: Cluster,
    private readonly policy: RetryPolicy,
  ) {}

  async tableExists(table: string): Promise<boolean> {
    return (await this.schema(table)) !== undefined;
  }

  /** Names of the user tables (optionally only those matching a Java regular expression). */
  async listTables(regex?: string): Promise<string[]> {
    const response = await this.masterCall<{ table_names?: PbTableName[] }>(
      'GetTableNames',
      'GetTableNamesRequest',
      { include_sys_tables: false, ...(regex ? { regex } : {}) },
      'GetTableNamesResponse',
      regex ?? '*',
    );
    return (response.table_names ?? []).map(tableNameFromProto);
  }

  /** The table's settings, or undefined when it does not exist. */
  async describeTable(table: string): Promise<TableDescription | undefined> {
    const schema = await this.schema(table);
    if (!schema) return undefined;
    const state = await this.masterCall<{ table_state: { state: number } }>('GetTableState', 'GetTableStateRequest', { table_name: tableNameProto(table) }, 'GetTableStateResponse', table);
    const maxFileSize = (schema.attributes ?? []).find((pair) => Buffer.from(pair.first).toString() === 'MAX_FILESIZE');
    return {
      name: parseTableName(table).full,
      enabled: TABLE_STATE[state.table_state.state] === 'ENABLED',
      families: (schema.column_families ?? []).map(familyFromSchema),
      maxFileSizeBytes: maxFileSize ? Number(Buffer.from(maxFileSize.second).toString()) : undefined,
    };
  }

  /** Creates the table and waits until its regions are online. TABLE_EXISTS if it exists. */
  async createTable(spec: TableSpec): Promise<void> {
    const full = parseTableName(spec.name).full;
    if (spec.families.length === 0) throw new HBaseError('INVALID_ARGUMENT', `table ${full} needs at least one column family`, { context: { table: full } });
    const families = spec.families.map((family) => familySchema(family, full));
    const schema: PbTableSchema = {
      table_name: tableNameProto(full),
      column_families: families,
      attributes: spec.maxFileSizeBytes ? [{ first: Buffer.from('MAX_FILESIZE'), second: Buffer.from(String(spec.maxFileSizeBytes)) }] : [],
    };
    const splitKeys = (spec.splitKeys ?? []).map(toBuffer).sort(Buffer.compare);
    await this.procedure('CreateTable', 'CreateTableRequest', { table_schema: schema, split_keys: splitKeys }, `create table ${full}`, full);
  }

  /** Adds a column family to an existing table. */
  async addFamily(table: string, family: FamilySpec): Promise<void> {
    const full = parseTableName(table).full;
    await this.procedure('AddColumn', 'ColumnRequest', { table_name: tableNameProto(full), column_families: familySchema(family, full) }, `add family ${family.name} to ${full}`, full);
  }

  /**
   * Replaces a family's settings with `family` — the whole descriptor: a field left out goes back to
   * HBase's default (read `describeTable` first to change one setting).
   */
  async modifyFamily(table: string, family: FamilySpec): Promise<void> {
    const full = parseTableName(table).full;
    await this.procedure('ModifyColumn', 'ColumnRequest', { table_name: tableNameProto(full), column_families: familySchema(family, full) }, `modify family ${family.name} of ${full}`, full);
  }

  async disableTable(table: string): Promise<void> {
    const full = parseTableName(table).full;
    await this.procedure('DisableTable', 'TableNameRequest', { table_name: tableNameProto(full) }, `disable table ${full}`, full);
  }

  async enableTable(table: string): Promise<void> {
    const full = parseTableName(table).full;
    await this.procedure('EnableTable', 'TableNameRequest', { table_name: tableNameProto(full) }, `enable table ${full}`, full);
  }

  /** Disables (when enabled) and deletes the table. With `ifExists`, a missing table is not an error. */
  async deleteTable(table: string, options: { ifExists?: boolean } = {}): Promise<void> {
    const full = parseTableName(table).full;
    const description = await this.describeTable(full);
    if (!description) {
      if (options.ifExists) return;
      throw new HBaseError('TABLE_NOT_FOUND', `cannot delete table ${full}: it does not exist`, { context: { table: full } });
    }
    if (description.enabled) {
      try {
        await this.disableTable(full);
      } catch (error) {
        if (!(error instanceof HBaseError && error.code === 'TABLE_NOT_ENABLED')) throw error;
      }
    }
    await this.procedure('DeleteTable', 'TableNameRequest', { table_name: tableNameProto(full) }, `delete table ${full}`, full);
    this.cluster.cache.clear({ table: full });
  }

  /** The table's regions as hbase:meta lists them now (not cached). */
  async listRegions(table: string): Promise<RegionDescription[]> {
    const full = parseTableName(table).full;
    this.cluster.cache.clear({ table: full });
    const regions: RegionDescription[] = [];
    let row: Buffer = Buffer.alloc(0);
    for (;;) {
      const region = await withRetries(`locate regions of ${full}`, this.policy, () => this.cluster.locate(full, row));
      regions.push(describeRegion(region));
      if (region.endKey.length === 0) return regions;
      row = region.endKey;
    }
  }

  /** Splits the region holding `splitKey` at that key and waits for the daughters to be online. */
  async splitRegion(table: string, splitKey: Bytes): Promise<void> {
    const full = parseTableName(table).full;
    const key = toBuffer(splitKey);
    this.cluster.cache.clear({ table: full });
    const region = await withRetries(`locate ${full} row ${printable(key)}`, this.policy, () => this.cluster.locate(full, key));
    await this.procedure('SplitRegion', 'SplitTableRegionRequest', { region_info: region.info, split_row: key }, `split ${full} at ${printable(key)}`, full);
    this.cluster.cache.clear({ table: full });
  }

  /**
   * Moves the region holding `row` to `destination` (`host:port`), or to a server the master
   * picks. On a one-server cluster there is nowhere to move to; use `reopenRegion`.
   */
  async moveRegion(table: string, row: Bytes, destination?: string): Promise<void> {
    const full = parseTableName(table).full;
    const region = await this.freshRegion(full, toBuffer(row));
    const dest = destination ? parseServer(destination) : undefined;
    // MoveRegion addresses the region by its encoded name (the master reads the value as such).
    await this.masterCall('MoveRegion', 'RegionRequest', { region: { type: 2, value: Buffer.from(region.encodedName) }, ...(dest ? { dest_server_name: dest } : {}) }, 'Empty', full);
    this.cluster.cache.clear({ table: full });
  }

  /**
   * Flushes every region of the table: memstores are written to HFiles on the region servers
   * (AdminService.FlushRegion, one call per region). Resolves when each flush is done.
   */
  async flushTable(table: string): Promise<void> {
    const full = parseTableName(table).full;
    this.cluster.cache.clear({ table: full });
    let row: Buffer = Buffer.alloc(0);
    for (;;) {
      const region = await withRetries(`locate regions of ${full}`, this.policy, () => this.cluster.locate(full, row));
      await withRetries(`flush region ${region.encodedName} of ${full}`, this.policy, async ({ remainingMs }) => {
        const current = await this.cluster.locate(full, region.startKey);
        if (!current.server) throw new HBaseError('REGION_UNAVAILABLE', `region ${current.encodedName} of ${full} is not assigned`, { retriable: true, context: { table: full } });
        try {
          await this.cluster.call(current.server, 'AdminService', 'FlushRegion', 'FlushRegionRequest', { region: { type: 1, value: current.name } }, 'FlushRegionResponse', {
            timeoutMs: Math.min(this.cluster.settings.rpcTimeoutMs, remainingMs),
          });
        } catch (error) {
          this.cluster.invalidate(error, current);
          throw error instanceof HBaseError ? error.withContext({ table: full, region: current.encodedName }) : error;
        }
      });
      if (region.endKey.length === 0) return;
      row = region.endKey;
    }
  }

  /** Closes and re-opens the region holding `row` (what clients see during a move). */
  async reopenRegion(table: string, row: Bytes): Promise<void> {
    const full = parseTableName(table).full;
    const region = await this.freshRegion(full, toBuffer(row));
    await this.masterCall('UnassignRegion', 'RegionRequest', { region: { type: 1, value: region.name } }, 'Empty', full);
    await this.masterCall('AssignRegion', 'RegionRequest', { region: { type: 1, value: region.name } }, 'Empty', full);
  }

  private async freshRegion(table: string, row: Buffer): Promise<RegionLocation> {
    this.cluster.cache.clear({ table });
    return withRetries(`locate ${table} row ${printable(row)}`, this.policy, () => this.cluster.locate(table, row));
  }

  private async schema(table: string): Promise<PbTableSchema | undefined> {
    const response = await this.masterCall<{ table_schema?: PbTableSchema[] }>(
      'GetTableDescriptors',
      'GetTableDescriptorsRequest',
      { table_names: [tableNameProto(table)], include_sys_tables: true },
      'GetTableDescriptorsResponse',
      table,
    );
    return response.table_schema?.[0];
  }

  private masterCall<T>(method: string, requestType: MessageName, request: object, responseType: MessageName, table: string): Promise<T> {
    return withRetries(`${method} for ${table}`, this.policy, async ({ remainingMs }) => {
      const master = await this.cluster.masterAddress();
      try {
        const { response } = await this.cluster.call<T>(master, 'MasterService', method, requestType, request, responseType, {
          timeoutMs: Math.min(this.cluster.settings.rpcTimeoutMs, remainingMs),
        });
        return response;
      } catch (error) {
        throw error instanceof HBaseError ? error.withContext({ table }) : error;
      }
    });
  }

  /** Submits a procedure (with a nonce, so a retried submit is not run twice) and waits for it. */
  private async procedure(method: string, requestType: MessageName, request: object, what: string, table: string): Promise<void> {
    const nonce = { nonce_group: randomUint63(), nonce: randomUint63() };
    const response = await this.masterCall<{ proc_id?: Int64 }>(method, requestType, { ...request, ...nonce }, 'ProcIdResponse', table);
    if (!present(response, 'proc_id') || response.proc_id === undefined) return; // a master that ran it synchronously
    await this.waitProcedure(response.proc_id, what, table);
  }

  private async waitProcedure(procId: Int64, what: string, table: string): Promise<void> {
    const deadline = Date.now() + this.policy.operationTimeoutMs;
    for (let poll = 0; ; poll++) {
      const result = await this.masterCall<PbProcedureResult>('getProcedureResult', 'GetProcedureResultRequest', { proc_id: procId }, 'GetProcedureResultResponse', table);
      // NOT_FOUND: finished and already evicted from the master's completed-procedure cache.
      if (result.state === PROCEDURE.NOT_FOUND) return;
      if (result.state === PROCEDURE.FINISHED) {
        const failure = result.exception?.generic_exception;
        if (!result.exception) return;
        const remote = remoteError(failure?.class_name ?? 'unknown', failure?.message ?? result.exception.source ?? '', {});
        throw new HBaseError(remote.code === 'REMOTE' ? 'PROCEDURE_FAILED' : remote.code, `${what} failed (procedure ${toNumber(procId)}): ${remote.message}`, {
          context: { ...remote.context, table },
          cause: remote,
        });
      }
      if (Date.now() > deadline) {
        throw new HBaseError('DEADLINE_EXCEEDED', `${what} still running after ${this.policy.operationTimeoutMs} ms (procedure ${toNumber(procId)})`, {
          retriable: true,
          context: { table },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** poll)));
    }
  }
}

function randomUint63(): string {
  return BigInt.asUintN(63, crypto.randomBytes(8).readBigUInt64BE()).toString();
}

function parseServer(text: string): { host_name: string; port: number; start_code?: number } {
  const [host, port, startCode] = text.split(/[:,]/);
  if (!host || !port) throw new HBaseError('INVALID_ARGUMENT', `server '${text}' is not host:port`);
  return { host_name: host, port: Number(port), ...(startCode ? { start_code: Number(startCode) } : {}) };
}

function describeRegion(region: RegionLocation): RegionDescription {
  return {
    name: region.name.toString('latin1'),
    encodedName: region.encodedName,
    startKey: region.startKey,
    endKey: region.endKey,
    server: region.server ? `${region.server.host}:${region.server.port}` : undefined,
  };
}
