import type { HBaseClient } from '../../hbase/client.js';
import type { ColumnRef, Store, StoreGet, StorePut, StoreRow } from './store.js';

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
      gets.map(({ row, columns }) => ({ row, ...(columns ? { columns } : {}) })),
    );
  }

  scan(range: { startRow: Buffer; stopRow: Buffer; columns?: ColumnRef[] }): AsyncIterable<StoreRow> {
    return this.client.scan(this.table, { startRow: range.startRow, stopRow: range.stopRow, ...(range.columns ? { columns: range.columns } : {}) });
  }
}
