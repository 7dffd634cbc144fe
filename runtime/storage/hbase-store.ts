import type { HBaseClient } from '../../hbase/client.js';
import type { ColumnRef, Store, StoreCell, StoreCheckAndPut, StoreGet, StorePut, StoreRow } from './store.js';

/** The Store port over the HBase module, bound to one table. */
export class HBaseStore implements Store {
  constructor(
    private readonly client: HBaseClient,
    readonly table: string,
  ) {}

  async putMany(puts: readonly StorePut[]): Promise<void> {
    await this.client.putMany(this.table, puts);
  }

  async getMany(gets: readonly StoreGet[]): Promise<(StoreRow | undefined)[]> {
    return this.client.getMany(
      this.table,
      gets.map(({ row, columns, qualifierPrefixes, writtenSince }) => ({
        row,
        ...(columns ? { columns } : {}),
        ...(writtenSince !== undefined ? { timeRange: { from: writtenSince } } : {}),
        ...(qualifierPrefixes ? { filter: { type: 'columnPrefixes' as const, prefixes: qualifierPrefixes } } : {}),
      })),
    );
  }

  async checkAndPut(row: Buffer, check: ColumnRef & { qualifier: string }, expected: Buffer | undefined, cells: StoreCell[]): Promise<boolean> {
    return this.client.checkAndMutate(this.table, { row, family: check.family, qualifier: check.qualifier, ...(expected === undefined ? {} : { value: expected }), put: cells });
  }

  async checkAndPutMany(items: readonly StoreCheckAndPut[]): Promise<boolean[]> {
    return this.client.checkAndMutateMany(
      this.table,
      items.map(({ row, check, expected, cells }) => ({ row, family: check.family, qualifier: check.qualifier, ...(expected === undefined ? {} : { value: expected }), put: cells })),
    );
  }

  scan(range: { startRow: Buffer; stopRow: Buffer; columns?: ColumnRef[] }): AsyncIterable<StoreRow> {
    return this.client.scan(this.table, { startRow: range.startRow, stopRow: range.stopRow, ...(range.columns ? { columns: range.columns } : {}) });
  }

  async *rowKeys(range: { startRow: Buffer; stopRow: Buffer }): AsyncIterable<Buffer> {
    // One key per row, without its value: a rolled-up row's first column is a large chunk.
    const filter = { type: 'list' as const, operator: 'all' as const, filters: [{ type: 'firstKeyOnly' as const }, { type: 'keyOnly' as const }] };
    for await (const row of this.client.scan(this.table, { startRow: range.startRow, stopRow: range.stopRow, filter })) yield row.row;
  }
}
