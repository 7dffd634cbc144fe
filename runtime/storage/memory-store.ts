import type { ColumnRef, Store, StoreCell, StoreCheckAndPut, StoreGet, StorePut, StoreRow } from './store.js';

/**
 * An in-memory Store for unit tests: rows sorted by unsigned bytes, atomic per row. `failAfter`
 * makes the n-th next write throw, to cut a batch at any point as a `kill -9` would.
 */
export class MemoryStore implements Store {
  private readonly rows = new Map<string, Map<string, { value: Buffer; timestamp: number }>>();
  private lastTimestamp = 0;
  writes = 0;
  failAfter: number | undefined;

  private write(): void {
    this.writes += 1;
    if (this.failAfter !== undefined && this.writes > this.failAfter) throw Object.assign(new Error('injected store failure'), { retriable: true });
  }

  /** The write time of the next mutation: the wall clock, but never the same or earlier twice. */
  private clock(): number {
    this.lastTimestamp = Math.max(Date.now(), this.lastTimestamp + 1);
    return this.lastTimestamp;
  }

  private apply(row: Buffer, cells: readonly StoreCell[]): void {
    const key = row.toString('hex');
    let columns = this.rows.get(key);
    if (!columns) this.rows.set(key, (columns = new Map()));
    const now = this.clock();
    for (const cell of cells) {
      const name = `${cell.family}\u0000${cell.qualifier}`;
      const timestamp = cell.timestamp ?? now;
      const stored = columns.get(name);
      if (stored && stored.timestamp > timestamp) continue; // an older version than the one stored
      columns.set(name, { value: Buffer.from(cell.value), timestamp });
    }
  }

  private read(row: Buffer, columns?: ColumnRef[], prefixes?: string[], writtenSince?: number): StoreRow | undefined {
    const stored = this.rows.get(row.toString('hex'));
    if (!stored) return undefined;
    const cells = [...stored.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, { value, timestamp }]) => {
        const [family, qualifier] = name.split('\u0000') as [string, string];
        return { family: Buffer.from(family), qualifier: Buffer.from(qualifier), value, timestamp };
      })
      .filter((cell) => !columns || columns.some((c) => c.family === cell.family.toString() && (c.qualifier === undefined || c.qualifier === cell.qualifier.toString())))
      .filter((cell) => !prefixes || prefixes.some((p) => cell.qualifier.toString().startsWith(p)))
      .filter((cell) => writtenSince === undefined || cell.timestamp >= writtenSince);
    return cells.length ? { row: Buffer.from(row), cells } : undefined;
  }

  async putMany(puts: readonly StorePut[]): Promise<void> {
    for (const put of puts) {
      this.write();
      this.apply(put.row, put.cells);
    }
  }

  async getMany(gets: readonly StoreGet[]): Promise<(StoreRow | undefined)[]> {
    return gets.map((get) => this.read(get.row, get.columns, get.qualifierPrefixes, get.writtenSince));
  }

  async checkAndPut(row: Buffer, check: ColumnRef & { qualifier: string }, expected: Buffer | undefined, cells: StoreCell[]): Promise<boolean> {
    this.write();
    const current = this.rows.get(row.toString('hex'))?.get(`${check.family}\u0000${check.qualifier}`)?.value;
    const holds = expected === undefined ? current === undefined : current !== undefined && current.equals(expected);
    if (holds) this.apply(row, cells);
    return holds;
  }

  /** One write per item, in order, so `failAfter` can cut between any two (as a lost Multi RPC may). */
  async checkAndPutMany(items: readonly StoreCheckAndPut[]): Promise<boolean[]> {
    const results: boolean[] = [];
    for (const item of items) results.push(await this.checkAndPut(item.row, item.check, item.expected, item.cells));
    return results;
  }

  async *rowKeys(range: { startRow: Buffer; stopRow: Buffer }): AsyncIterable<Buffer> {
    for await (const row of this.scan(range)) yield row.row;
  }

  async *scan(range: { startRow: Buffer; stopRow: Buffer; columns?: ColumnRef[] }): AsyncIterable<StoreRow> {
    const keys = [...this.rows.keys()].map((hex) => Buffer.from(hex, 'hex')).sort(Buffer.compare);
    for (const key of keys) {
      if (Buffer.compare(key, range.startRow) < 0 || Buffer.compare(key, range.stopRow) >= 0) continue;
      const row = this.read(key, range.columns);
      if (row) yield row;
    }
  }
}
