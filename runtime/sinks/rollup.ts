import { Coverage, encodeChunks, encodeSummary, type RollupSummary } from '../stages/rollup.js';
import { COUNTED_PREFIXES, ROLLUP, chunkQualifier } from '../storage/layout.js';
import { restoreCoverage, rollupOf, settled } from '../storage/rollups.js';
import type { Store, StoreCell } from '../storage/store.js';

/**
 * How far behind the store's clock a roll-up stays. A cell becomes readable a little after the
 * store stamps it (its WAL sync; HBase waits up to 5 min for one by default) and region servers'
 * clocks differ by up to 30 s (the master refuses more): a roll-up that covered cells up to "now"
 * could miss one stamped earlier but readable later, and no query would ever count it.
 */
export const DEFAULT_ROLLUP_MARGIN_MS = 10 * 60_000;

/**
 * `rolled`: a new generation was written; `covered`: a roll-up at least as recent is there (another
 * worker's); `early`: nothing is old enough to cover yet; `conflict`: another worker rolled the row
 * up meanwhile (try again). `settled`: the row's last write is covered, so queries read only the
 * summary; until then the row stays due.
 */
export interface RollupResult {
  outcome: 'rolled' | 'covered' | 'early' | 'conflict';
  settled: boolean;
}

export type RollupOutcome = RollupResult['outcome'];

/**
 * Rolls up one campaign-hour row (decision 0048): covers every counted cell stamped more than
 * `marginMs` before the store's clock, in one compare-and-set on the generation column that
 * writes the new sums and appends the newly covered events as chunks. Nothing is deleted, so a
 * query that read the previous summary still adds up (its cells and chunks are all still there).
 * Cells stamped up to `marginMs` before the previous coverage's end are read again: one that
 * became readable late is counted now, and one already covered changes nothing. A summary whose
 * chunks have expired (TTL) is started over from the cells still there.
 */
export async function rollUpHourRow(store: Store, row: Buffer, family: string, marginMs: number, maxCells = DEFAULT_MAX_CELLS_PER_ROLLUP): Promise<RollupResult> {
  // The store's clock, from a cell stamped on the row's own region server.
  await store.putMany([{ row, cells: [{ family, qualifier: ROLLUP.clock, value: Buffer.alloc(0) }] }]);
  const [head] = await store.getMany([{ row, columns: [ROLLUP.clock, ROLLUP.generation, ROLLUP.summary, ROLLUP.written].map((qualifier) => ({ family, qualifier })) }]);
  const clock = head?.cells.find((cell) => cell.qualifier.toString('utf8') === ROLLUP.clock)?.timestamp;
  if (clock === undefined) throw new Error(`the roll-up clock cell of row ${row.toString('hex')} was not read back`);
  const rollup = rollupOf(head, family);
  const { summary, generation } = rollup;
  const coveredBefore = clock - marginMs;
  if (summary && coveredBefore <= summary.coveredBefore) return { outcome: 'covered', settled: settled(rollup) };
  const previous = summary ? await restoreCoverage(store, row, family, summary) : undefined;
  const since = previous && summary ? summary.coveredBefore - marginMs : undefined;
  const [counted] = await store.getMany([{ row, columns: [{ family }], qualifierPrefixes: COUNTED_PREFIXES, ...(since === undefined ? {} : { writtenSince: since }) }]);
  const { due, coveredBefore: coverUntil } = oldestCells(counted?.cells ?? [], coveredBefore, maxCells, previous && summary ? summary.coveredBefore : undefined);
  if (!summary && due.length === 0) return { outcome: 'early', settled: false };
  const coverage = previous ?? new Coverage();
  const chunks = encodeChunks(coverage.add(due));
  const previousChunks = previous && summary ? summary.chunks : 0;
  const next: RollupSummary = { generation: (summary?.generation ?? 0) + 1, coveredBefore: coverUntil, chunks: previousChunks + chunks.length, sums: coverage.totals() };
  const cells: StoreCell[] = [
    { family, qualifier: ROLLUP.generation, value: Buffer.from(String(next.generation), 'utf8') },
    { family, qualifier: ROLLUP.summary, value: encodeSummary(next) },
    ...chunks.map((value, index) => ({ family, qualifier: chunkQualifier(previousChunks + index), value })),
  ];
  const applied = await store.checkAndPut(row, { family, qualifier: ROLLUP.generation }, generation, cells);
  return applied ? { outcome: 'rolled', settled: settled(rollup, coverUntil) } : { outcome: 'conflict', settled: false };
}

/**
 * At most this many cells are covered by one roll-up: its mutation (~64 B per event in chunks)
 * stays far below HBase's 256 MB request limit; a bigger hour is covered over several roll-ups.
 */
export const DEFAULT_MAX_CELLS_PER_ROLLUP = 250_000;

/**
 * The cells to cover: those stamped before `before`, but of those stamped at or after `from` (the
 * previous coverage's end) only the oldest `max`, with the time that ends them. At least the cells
 * of the oldest new stamp are taken, so every roll-up moves forward.
 */
export function oldestCells<C extends { timestamp: number }>(cells: readonly C[], before: number, max: number, from = Number.NEGATIVE_INFINITY): { due: C[]; coveredBefore: number } {
  const due = cells.filter((cell) => cell.timestamp < before);
  const fresh = due.filter((cell) => cell.timestamp >= from).sort((a, b) => a.timestamp - b.timestamp);
  if (fresh.length <= max) return { due, coveredBefore: before };
  const cut = fresh[max]!.timestamp > fresh[0]!.timestamp ? fresh[max]!.timestamp : fresh[0]!.timestamp + 1;
  return { due: due.filter((cell) => cell.timestamp < cut), coveredBefore: cut };
}

export interface RollupPolicy {
  /** How far behind the store's clock a roll-up stays (DEFAULT_ROLLUP_MARGIN_MS). */
  marginMs: number;
  /** A row is rolled up once its hour has been over this long. */
  afterHourMs: number;
  /** Cells one roll-up covers at most (DEFAULT_MAX_CELLS_PER_ROLLUP). */
  maxCells?: number;
  /** How often a worker looks for rows that are due. */
  intervalMs: number;
}

export const DEFAULT_ROLLUP_POLICY: RollupPolicy = { marginMs: DEFAULT_ROLLUP_MARGIN_MS, afterHourMs: 15 * 60_000, intervalMs: 60_000 };

const HOUR_MS = 3_600_000;

/**
 * The campaign-hour rows this worker has written to and whose last write no roll-up covers yet.
 * In memory: after a restart a row is rolled up once it is written to again (until then queries
 * read its cells, as before any roll-up).
 */
export class HourRollups {
  private readonly dirty = new Map<string, { row: Buffer; hourIndex: number }>();

  constructor(
    private readonly store: Store,
    private readonly family: string,
    private readonly policy: RollupPolicy = DEFAULT_ROLLUP_POLICY,
  ) {}

  written(rows: Iterable<{ row: Buffer; hourIndex: number }>): void {
    for (const { row, hourIndex } of rows) this.dirty.set(row.toString('latin1'), { row, hourIndex });
  }

  get pending(): number {
    return this.dirty.size;
  }

  /**
   * Rolls up every row whose hour is over, one after another, until `stopping()`; a row stays due
   * until a roll-up covers its last write (a failure, a conflict, or a write within the margin).
   */
  async runDue(nowMs = Date.now(), onOutcome?: (outcome: RollupOutcome | 'failed', error?: unknown) => void, stopping: () => boolean = () => false): Promise<void> {
    for (const [key, entry] of [...this.dirty]) {
      if (stopping()) return;
      if ((entry.hourIndex + 1) * HOUR_MS + this.policy.afterHourMs > nowMs) continue;
      let result: RollupResult;
      try {
        result = await rollUpHourRow(this.store, entry.row, this.family, this.policy.marginMs, this.policy.maxCells);
      } catch (error) {
        onOutcome?.('failed', error);
        continue;
      }
      onOutcome?.(result.outcome);
      if (result.settled) this.dirty.delete(key);
    }
  }
}
