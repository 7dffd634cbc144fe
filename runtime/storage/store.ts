/**
 * The storage operations the runtime needs, as a port: the HBase module implements them for real
 * (storage/hbase-store.ts), an in-memory map for unit tests of the exactly-once logic. Each
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

export interface StoreCheckAndPut {
  row: Buffer;
  check: ColumnRef & { qualifier: string };
  /** Absent: the check is "the cell does not exist". */
  expected?: Buffer;
  cells: StoreCell[];
}

export interface StoreGet {
  row: Buffer;
  columns?: ColumnRef[];
  /** Of the selected columns, only those whose qualifier starts with one of these (never empty). */
  qualifierPrefixes?: string[];
  /** Only cells written at or after this time (epoch ms, the store's clock). */
  writtenSince?: number;
}

export interface Store {
  putMany(puts: readonly StorePut[]): Promise<void>;
  /** One result per get, in order; undefined for a row without (selected) cells. */
  getMany(gets: readonly StoreGet[]): Promise<(StoreRow | undefined)[]>;
  /**
   * Writes `cells` if family:qualifier of `row` currently equals `expected` (absent when
   * `expected` is undefined). Returns whether it wrote.
   */
  checkAndPut(row: Buffer, check: ColumnRef & { qualifier: string }, expected: Buffer | undefined, cells: StoreCell[]): Promise<boolean>;
  /**
   * Many `checkAndPut`s in few round trips: each atomic on its own row, none with the others (a
   * failure may leave some applied). Whether each wrote, in order.
   */
  checkAndPutMany(items: readonly StoreCheckAndPut[]): Promise<boolean[]>;
  scan(range: { startRow: Buffer; stopRow: Buffer; columns?: ColumnRef[] }): AsyncIterable<StoreRow>;
  /** The keys of the rows in a range, in order, without reading their cells. */
  rowKeys(range: { startRow: Buffer; stopRow: Buffer }): AsyncIterable<Buffer>;
}

export function cellValue(row: StoreRow | undefined, family: string, qualifier: string): Buffer | undefined {
  if (!row) return undefined;
  for (const cell of row.cells) {
    if (cell.qualifier.length === qualifier.length && cell.qualifier.toString('utf8') === qualifier && cell.family.toString('utf8') === family) return cell.value;
  }
  return undefined;
}

/** The cells of one family of a row, by qualifier. */
export function cellsOf(row: StoreRow | undefined, family: string): Map<string, Buffer> {
  const cells = new Map<string, Buffer>();
  for (const cell of row?.cells ?? []) if (cell.family.toString('utf8') === family) cells.set(cell.qualifier.toString('utf8'), cell.value);
  return cells;
}

/** Groups values by the row they go to (rows compared by bytes), keeping first-seen order. */
export function groupByRow<T>(values: readonly T[], rowOf: (value: T) => Buffer): Map<string, { row: Buffer; members: T[] }> {
  const groups = new Map<string, { row: Buffer; members: T[] }>();
  for (const value of values) {
    const row = rowOf(value);
    const key = row.toString('latin1');
    const group = groups.get(key);
    if (group) group.members.push(value);
    else groups.set(key, { row, members: [value] });
  }
  return groups;
}
