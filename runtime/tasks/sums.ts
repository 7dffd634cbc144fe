import type { EventKind } from '../storage/layout.js';
import type { EventContribution } from '../stages/aggregate.js';
import { ByteReader, ByteWriter } from './bytes.js';

/**
 * One task's partial sums of one campaign-hour: count and amount per event kind × country × device
 * type. The task keeps them in memory and writes them whole (never as increments) to the
 * campaign-hour row, one column per task, so a rewrite of the same sums is harmless and a query
 * adds up one cell per task (decision 0051).
 */
export interface SumCell {
  kind: EventKind;
  country: string;
  deviceType: string;
  count: number;
  amount: number;
}

/** A cell with the keys it is filed under, so a cell that sums to nothing can be dropped from both maps. */
interface KeyedCell extends SumCell {
  key: string;
  numberKey: number | undefined;
}

export class HourSums {
  private readonly cells = new Map<string, KeyedCell>();
  /** The same cells by a number the caller derives from interned dimensions (`addByNumber`). */
  private readonly byNumber = new Map<number, KeyedCell>();

  add(kind: EventKind, country: string, deviceType: string, count: number, amount: number): void {
    this.addTo(`${kind}${country}\u0000${deviceType}`, kind, country, deviceType, count, amount, undefined);
  }

  /**
   * `add` for the task's hot path: `key` stands for (kind, country, deviceType) one to one, so the
   * cell is found without building its string key, which cost a string and its hash per event.
   */
  addByNumber(key: number, kind: EventKind, country: string, deviceType: string, count: number, amount: number): void {
    const cell = this.byNumber.get(key);
    if (cell) this.change(cell, count, amount);
    else this.addTo(`${kind}${country}\u0000${deviceType}`, kind, country, deviceType, count, amount, key);
  }

  private addTo(key: string, kind: EventKind, country: string, deviceType: string, count: number, amount: number, numberKey: number | undefined): void {
    let cell = this.cells.get(key);
    if (!cell) {
      cell = { kind, country, deviceType, count: 0, amount: 0, key, numberKey: undefined };
      this.cells.set(key, cell);
    }
    if (numberKey !== undefined) {
      cell.numberKey = numberKey;
      this.byNumber.set(numberKey, cell);
    }
    this.change(cell, count, amount);
  }

  private change(cell: KeyedCell, count: number, amount: number): void {
    cell.count += count;
    cell.amount += amount;
    // A contribution moved to other dimensions leaves nothing behind.
    if (cell.count === 0 && cell.amount === 0) {
      this.cells.delete(cell.key);
      if (cell.numberKey !== undefined) this.byNumber.delete(cell.numberKey);
    }
  }

  get size(): number {
    return this.cells.size;
  }

  values(): IterableIterator<SumCell> {
    return this.cells.values();
  }

  /** Appends the sums to `out` (a snapshot writes every hour's sums into one buffer). */
  writeTo(out: ByteWriter): void {
    out.number(this.cells.size);
    for (const cell of this.cells.values()) {
      out.byte(cell.kind.charCodeAt(0));
      out.string(cell.country);
      out.string(cell.deviceType);
      out.number(cell.count);
      out.number(cell.amount);
    }
  }

  encode(): Buffer {
    const out = new ByteWriter(32 + this.cells.size * 48);
    this.writeTo(out);
    return out.bytes();
  }

  /**
   * The view's encoding (column `q<task>`, decision 0148): each dimension value once, then per cell
   * its kind, the values' places in that list, count and amount as varints (doubles in the rare
   * cell whose numbers are not whole and non-negative). A third the size of `encode`, which the
   * snapshots keep: a query reads one such cell per task and hour of its range.
   */
  encodeForView(): Buffer {
    const places = new Map<string, number>();
    const place = (text: string): number => {
      let at = places.get(text);
      if (at === undefined) places.set(text, (at = places.size));
      return at;
    };
    for (const cell of this.cells.values()) {
      place(cell.country);
      place(cell.deviceType);
    }
    const out = new ByteWriter(16 + places.size * 16 + this.cells.size * 12);
    out.uvarint(places.size);
    for (const text of places.keys()) out.string(text);
    out.uvarint(this.cells.size);
    for (const cell of this.cells.values()) {
      const whole = isCount(cell.count) && isCount(cell.amount);
      out.byte(KIND_CODES.indexOf(cell.kind) | (whole ? 0 : DOUBLES));
      out.uvarint(places.get(cell.country)!);
      out.uvarint(places.get(cell.deviceType)!);
      if (whole) {
        out.uvarint(cell.count);
        out.uvarint(cell.amount);
      } else {
        out.number(cell.count);
        out.number(cell.amount);
      }
    }
    return out.bytes();
  }

  static read(reader: ByteReader): HourSums {
    const sums = new HourSums();
    const n = reader.number();
    for (let i = 0; i < n; i++) {
      const kind = String.fromCharCode(reader.byte()) as EventKind;
      sums.add(kind, reader.string(), reader.string(), reader.number(), reader.number());
    }
    return sums;
  }
}

const KIND_CODES: readonly EventKind[] = ['i', 'c', 'v'];
/** Set in a view cell's head byte when its count and amount are doubles. */
const DOUBLES = 0x80;
const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * The contributions of a view cell (`HourSums#encodeForView`) into `each`, one reused object; the
 * dimension values are read once per cell, not once per contribution.
 */
export function eachViewContribution(hourIndex: number, bytes: Buffer, each: (contribution: EventContribution) => void): void {
  const reader = new ByteReader(bytes);
  const places: string[] = [];
  for (let i = reader.uvarint(); i > 0; i--) places.push(reader.string());
  const contribution: EventContribution = { hourIndex, kind: 'i', amount: 0, country: '', deviceType: '', count: 0 };
  for (let n = reader.uvarint(); n > 0; n--) {
    const head = reader.byte();
    const kind = KIND_CODES[head & ~DOUBLES];
    const country = places[reader.uvarint()];
    const deviceType = places[reader.uvarint()];
    if (kind === undefined || country === undefined || deviceType === undefined) throw new RangeError(`a view cell of partial sums is corrupt at byte ${reader.at}`);
    contribution.kind = kind;
    contribution.country = country;
    contribution.deviceType = deviceType;
    if (head & DOUBLES) {
      contribution.count = reader.number();
      contribution.amount = reader.number();
    } else {
      contribution.count = reader.uvarint();
      contribution.amount = reader.uvarint();
    }
    if (contribution.count === 0 && contribution.amount === 0) continue;
    each(contribution);
  }
}

/**
 * The contributions of one task's encoded partial sums of a campaign-hour (`HourSums#encode`),
 * read straight from the bytes into `each`, one reused object: the cells `HourSums.read` would
 * give, without building the sums' maps. Views written before decision 0148 hold these (column
 * `p<task>`); the snapshots still do.
 */
export function eachContribution(hourIndex: number, bytes: Buffer, each: (contribution: EventContribution) => void): void {
  const reader = new ByteReader(bytes);
  const contribution: EventContribution = { hourIndex, kind: 'i', amount: 0, country: '', deviceType: '', count: 0 };
  const n = reader.number();
  for (let i = 0; i < n; i++) {
    contribution.kind = String.fromCharCode(reader.byte()) as EventKind;
    contribution.country = reader.string();
    contribution.deviceType = reader.string();
    contribution.count = reader.number();
    contribution.amount = reader.number();
    // As `HourSums` would: a cell that sums to nothing is no contribution (it is never written so).
    if (contribution.count === 0 && contribution.amount === 0) continue;
    each(contribution);
  }
}
