/**
 * The storage operations the runtime needs, as a port: the HBase module implements them for real
 * (storage/hbase-store.ts), for the view of task-owned state (decision 0051). Each
 * operation is atomic per row and no more, as in HBase.
 */
export interface StoreCell {
  family: string;
  qualifier: string;
  value: Buffer;
  /**
   * The cell's version (epoch ms); absent: the store's clock. A read returns the highest version,
   * so a late write of an older version changes nothing.
   */
  timestamp?: number;
}

export interface StoreRowCell {
  family: Buffer;
  qualifier: Buffer;
  value: Buffer;
  /** When the store wrote it (epoch ms, the store's clock: HBase's region server sets it). */
  timestamp: number;
}

export interface StoreRow {
  row: Buffer;
  cells: readonly StoreRowCell[];
}

export interface ColumnRef {
  family: string;
  /** Omitted: the whole family. */
  qualifier?: string;
}

export interface StorePut {
  row: Buffer;
  cells: StoreCell[];
}

export interface StoreGet {
  row: Buffer;
  columns?: ColumnRef[];
}

export interface Store {
  putMany(puts: readonly StorePut[]): Promise<void>;
  /** One result per get, in order; undefined for a row without (selected) cells. */
  getMany(gets: readonly StoreGet[]): Promise<(StoreRow | undefined)[]>;
  scan(range: { startRow: Buffer; stopRow: Buffer; columns?: ColumnRef[] }): AsyncIterable<StoreRow>;
}

export function cellValue(row: StoreRow | undefined, family: string, qualifier: string): Buffer | undefined {
  if (!row) return undefined;
  for (const cell of row.cells) {
    if (cell.qualifier.length === qualifier.length && cell.qualifier.toString('utf8') === qualifier && cell.family.toString('utf8') === family) return cell.value;
  }
  return undefined;
}
