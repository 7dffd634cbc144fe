import { Coverage, encodeChunks, encodeSummary, type RollupSummary } from '../stages/rollup.js';
import { COUNTED_PREFIXES, ROLLUP, chunkQualifier } from '../storage/layout.js';
import { restoreCoverage, rollupOf } from '../storage/rollups.js';
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
 * up meanwhile (try again).
 */
export type RollupOutcome = 'rolled' | 'covered' | 'early' | 'conflict';

/**
 * Rolls up one campaign-hour row (decision 0048): covers every counted cell stamped more than
 * `marginMs` before the store's clock, in one compare-and-set on the generation column that
 * writes the new sums and appends the newly covered events as chunks. Nothing is deleted, so a
 * query that read the previous summary still adds up (its cells and chunks are all still there).
 * Cells stamped up to `marginMs` before the previous coverage's end are read again: one that
 * became readable late is counted now, and one already covered changes nothing. A conflict means
 * another worker rolled the row up at the same time; its roll-up covers the same cells.
 */
export async function rollUpHourRow(store: Store, row: Buffer, family: string, marginMs: number): Promise<RollupOutcome> {
  // The store's clock, from a cell stamped on the row's own region server.
  await store.putMany([{ row, cells: [{ family, qualifier: ROLLUP.clock, value: Buffer.alloc(0) }] }]);
  const [head] = await store.getMany([{ row, columns: [{ family, qualifier: ROLLUP.clock }, { family, qualifier: ROLLUP.generation }, { family, qualifier: ROLLUP.summary }] }]);
  const clock = head?.cells.find((cell) => cell.qualifier.toString('utf8') === ROLLUP.clock)?.timestamp;
  if (clock === undefined) throw new Error(`the roll-up clock cell of row ${row.toString('hex')} was not read back`);
  const { summary, generation } = rollupOf(head, family);
  const coveredBefore = clock - marginMs;
  if (summary && coveredBefore <= summary.coveredBefore) return 'covered';
  const since = summary ? summary.coveredBefore - marginMs : undefined;
  const [counted] = await store.getMany([{ row, columns: [{ family }], qualifierPrefixes: COUNTED_PREFIXES, ...(since === undefined ? {} : { writtenSince: since }) }]);
  const due = (counted?.cells ?? []).filter((cell) => cell.timestamp < coveredBefore);
  if (!summary && due.length === 0) return 'early';
  const coverage = summary ? await restoreCoverage(store, row, family, summary) : new Coverage();
  const chunks = encodeChunks(coverage.add(due));
  const previousChunks = summary?.chunks ?? 0;
  const next: RollupSummary = { generation: (summary?.generation ?? 0) + 1, coveredBefore, chunks: previousChunks + chunks.length, sums: coverage.totals() };
  const cells: StoreCell[] = [
    { family, qualifier: ROLLUP.generation, value: Buffer.from(String(next.generation), 'utf8') },
    { family, qualifier: ROLLUP.summary, value: encodeSummary(next) },
    ...chunks.map((value, index) => ({ family, qualifier: chunkQualifier(previousChunks + index), value })),
  ];
  return (await store.checkAndPut(row, { family, qualifier: ROLLUP.generation }, generation, cells)) ? 'rolled' : 'conflict';
}

export interface RollupPolicy {
  /** How far behind the store's clock a roll-up stays (DEFAULT_ROLLUP_MARGIN_MS). */
  marginMs: number;
  /** A row is rolled up once its hour has been over this long, and nobody wrote to it for `marginMs`. */
  afterHourMs: number;
}

export const DEFAULT_ROLLUP_POLICY: RollupPolicy = { marginMs: DEFAULT_ROLLUP_MARGIN_MS, afterHourMs: 15 * 60_000 };

const HOUR_MS = 3_600_000;

/**
 * The campaign-hour rows this worker has written to and not yet rolled up, and when each is due.
 * In memory: after a restart a row is rolled up once it is written to again (until then queries
 * read its cells, as before any roll-up).
 */
export class HourRollups {
  private readonly dirty = new Map<string, { row: Buffer; hourIndex: number; lastWriteMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly family: string,
    private readonly policy: RollupPolicy = DEFAULT_ROLLUP_POLICY,
  ) {}

  written(rows: Iterable<{ row: Buffer; hourIndex: number }>, nowMs = Date.now()): void {
    for (const { row, hourIndex } of rows) this.dirty.set(row.toString('latin1'), { row, hourIndex, lastWriteMs: nowMs });
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Rolls up every row that is due, one after another; a row that fails or conflicts stays due. */
  async runDue(nowMs = Date.now(), onOutcome?: (outcome: RollupOutcome | 'failed', error?: unknown) => void): Promise<void> {
    for (const [key, entry] of [...this.dirty]) {
      const due = (entry.hourIndex + 1) * HOUR_MS + this.policy.afterHourMs <= nowMs && entry.lastWriteMs + this.policy.marginMs <= nowMs;
      if (!due) continue;
      let outcome: RollupOutcome;
      try {
        outcome = await rollUpHourRow(this.store, entry.row, this.family, this.policy.marginMs);
      } catch (error) {
        onOutcome?.('failed', error);
        continue;
      }
      onOutcome?.(outcome);
      // Written to again meanwhile: due again later.
      if ((outcome === 'rolled' || outcome === 'covered') && this.dirty.get(key) === entry) this.dirty.delete(key);
    }
  }
}
