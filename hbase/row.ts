import { toBuffer, type Bytes } from './bytes.js';
import type { Cell } from './cells.js';

/** One row as read: its key and its cells in HBase order (family, qualifier, newest first). */
export class HBaseRow {
  constructor(
    readonly row: Buffer,
    readonly cells: readonly Cell[],
  ) {}

  /** The newest value of family:qualifier, or undefined when the row has no such cell. */
  value(family: Bytes, qualifier: Bytes): Buffer | undefined {
    return this.cell(family, qualifier)?.value;
  }

  cell(family: Bytes, qualifier: Bytes): Cell | undefined {
    const f = toBuffer(family);
    const q = toBuffer(qualifier);
    return this.cells.find((cell) => cell.family.equals(f) && cell.qualifier.equals(q));
  }

  /** The row's latest values as `{ "family:qualifier": value }` (UTF-8 names). */
  toRecord(): Record<string, Buffer> {
    const record: Record<string, Buffer> = {};
    for (const cell of this.cells) {
      const key = `${cell.family.toString()}:${cell.qualifier.toString()}`;
      if (!(key in record)) record[key] = cell.value;
    }
    return record;
  }
}
