import { decodeCounted, isCountedQualifier, type EventKind } from '../storage/layout.js';

/**
 * Roll-ups of a campaign-hour row (decision 0048). A row holds one cell per counted event and
 * level (storage/layout.ts, countedQualifier); a query that sums them reads one cell per event. A
 * roll-up records the sums of the cells written before a time, and which events at which level it
 * counted, so that a query reads the sums plus the cells written since. Cells are never deleted:
 * a cell written again after the roll-up (a replay redoing its effects, a stale writer) or at a
 * higher level (an impression's bid request found later) is told apart from a new event by the
 * coverage, which is why the coverage keeps every counted event's key, level and value.
 *
 * Pure: this module decides; runtime/sinks/rollup.ts reads and writes.
 */

export interface CountedCell {
  qualifier: Buffer;
  value: Buffer;
}

/** The sum of alike counted events: same kind and dimensions. */
export interface RolledUpSum {
  kind: EventKind;
  country: string;
  deviceType: string;
  count: number;
  amount: number;
}

/** What a set of counted cells adds up to, each event once at the best level seen. */
export class Coverage {
  /** Event key (kind + id, the qualifier without its level byte) → the best level counted and its value. */
  private readonly counted = new Map<string, { level: number; value: Buffer }>();
  private readonly sums = new Map<string, RolledUpSum>();

  /** The coverage a roll-up stored: its sums, and the entries of its chunks in the order written. */
  static restore(sums: readonly RolledUpSum[], entries: Iterable<CountedCell>): Coverage {
    const coverage = new Coverage();
    for (const sum of sums) coverage.sums.set(sumKey(sum.kind, sum.country, sum.deviceType), { ...sum });
    for (const entry of entries) {
      const key = entry.qualifier.toString('latin1', 1);
      const level = entry.qualifier[0]! - 0x30;
      const known = coverage.counted.get(key);
      if (!known || level > known.level) coverage.counted.set(key, { level, value: entry.value });
    }
    return coverage;
  }

  /**
   * Counts cells the way a query does: an event not yet counted is added; one counted at a lower
   * level is moved to the higher one (its old contribution taken back); anything else (the same cell
   * again, a lower level) changes nothing. Returns the cells that changed the coverage, in
   * qualifier order: what a roll-up appends to its chunks.
   */
  add(cells: readonly CountedCell[]): CountedCell[] {
    const ordered = [...cells].filter((cell) => isCountedQualifier(cell.qualifier)).sort((a, b) => a.qualifier.compare(b.qualifier));
    const changed: CountedCell[] = [];
    for (const cell of ordered) {
      const key = cell.qualifier.toString('latin1', 1);
      const level = cell.qualifier[0]! - 0x30;
      const known = this.counted.get(key);
      if (known && known.level >= level) continue;
      if (known) this.contribute(key, known.value, -1);
      this.contribute(key, cell.value, +1);
      this.counted.set(key, { level, value: cell.value });
      changed.push(cell);
    }
    return changed;
  }

  /** The non-empty sums, in a stable order. */
  totals(): RolledUpSum[] {
    return [...this.sums.values()].filter((sum) => sum.count !== 0).sort((a, b) => compare(sumKey(a.kind, a.country, a.deviceType), sumKey(b.kind, b.country, b.deviceType)));
  }

  get events(): number {
    return this.counted.size;
  }

  private contribute(eventKey: string, value: Buffer, sign: 1 | -1): void {
    const kind = eventKey[0] as EventKind;
    const { amount, country, deviceType } = decodeCounted(value);
    const key = sumKey(kind, country, deviceType);
    let sum = this.sums.get(key);
    if (!sum) this.sums.set(key, (sum = { kind, country, deviceType, count: 0, amount: 0 }));
    sum.count += sign;
    sum.amount += sign * amount;
  }
}

function sumKey(kind: string, country: string, deviceType: string): string {
  return `${kind}\u0000${country}\u0000${deviceType}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// --- stored form ------------------------------------------------------------------------------

/** The roll-up's summary column: which generation, the time its coverage ends, its chunks, its sums. */
export interface RollupSummary {
  generation: number;
  /** Every counted cell written before this time (the store's clock, ms) is covered. */
  coveredBefore: number;
  /** Chunk columns `~c0` … `~c<chunks-1>` hold the coverage's entries. */
  chunks: number;
  sums: RolledUpSum[];
}

export function encodeSummary(summary: RollupSummary): Buffer {
  return Buffer.from(JSON.stringify(summary), 'utf8');
}

export function decodeSummary(value: Buffer): RollupSummary {
  const parsed = JSON.parse(value.toString('utf8')) as RollupSummary;
  if (!Number.isSafeInteger(parsed.generation) || !Number.isSafeInteger(parsed.coveredBefore) || !Number.isSafeInteger(parsed.chunks) || !Array.isArray(parsed.sums)) {
    throw new TypeError(`not a roll-up summary: ${value.toString('utf8').slice(0, 80)}`);
  }
  return parsed;
}

/** Chunks stay well under HBase's 10 MB cell limit (hbase.server.keyvalue.maxsize). */
export const CHUNK_BYTES = 2 * 1024 * 1024;

/** Entries as length-prefixed qualifier and value, split into chunks of at most CHUNK_BYTES. */
export function encodeChunks(entries: readonly CountedCell[]): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (const entry of entries) {
    const head = Buffer.allocUnsafe(6);
    head.writeUInt16BE(entry.qualifier.length, 0);
    head.writeUInt32BE(entry.value.length, 2);
    const entrySize = 6 + entry.qualifier.length + entry.value.length;
    if (size > 0 && size + entrySize > CHUNK_BYTES) {
      chunks.push(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
    parts.push(head, entry.qualifier, entry.value);
    size += entrySize;
  }
  if (size > 0) chunks.push(Buffer.concat(parts, size));
  return chunks;
}

export function* decodeChunk(chunk: Buffer): Generator<CountedCell> {
  let at = 0;
  while (at < chunk.length) {
    if (at + 6 > chunk.length) throw new RangeError(`roll-up chunk truncated at byte ${at} of ${chunk.length}`);
    const qualifierLength = chunk.readUInt16BE(at);
    const valueLength = chunk.readUInt32BE(at + 2);
    const qualifierAt = at + 6;
    const valueAt = qualifierAt + qualifierLength;
    at = valueAt + valueLength;
    if (at > chunk.length) throw new RangeError(`roll-up chunk entry overruns the chunk at byte ${qualifierAt}`);
    yield { qualifier: chunk.subarray(qualifierAt, valueAt), value: chunk.subarray(valueAt, at) };
  }
}
