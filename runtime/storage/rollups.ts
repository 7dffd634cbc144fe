import { Coverage, decodeChunk, decodeSummary, type CountedCell, type RollupSummary } from '../stages/rollup.js';
import { ROLLUP, chunkQualifier } from './layout.js';
import { cellValue, type Store, type StoreRow } from './store.js';

/** A campaign-hour row's roll-up (decision 0048), as queries and the next roll-up read it. */
export interface RowRollup {
  summary: RollupSummary | undefined;
  /** The generation column's value as stored (the compare-and-set of the next roll-up checks it). */
  generation: Buffer | undefined;
  /** When counted cells were last written to the row (`#w`, the store's clock). */
  lastWrite: number | undefined;
}

/** The roll-up columns of a row as read (absent ones are undefined). */
export function rollupOf(row: StoreRow | undefined, family: string): RowRollup {
  const summary = cellValue(row, family, ROLLUP.summary);
  const lastWrite = row?.cells.find((cell) => cell.qualifier.toString('utf8') === ROLLUP.written && cell.family.toString('utf8') === family)?.timestamp;
  return { summary: summary ? decodeSummary(summary) : undefined, generation: cellValue(row, family, ROLLUP.generation), lastWrite };
}

/** Whether a coverage ending at `coveredBefore` counts the row's last write: then its summary is the whole answer. */
export function settled(rollup: RowRollup, coveredBefore = rollup.summary?.coveredBefore): boolean {
  return coveredBefore !== undefined && rollup.lastWrite !== undefined && rollup.lastWrite < coveredBefore;
}

/** The coverage a summary describes, from its chunk columns; undefined once one of them has expired. */
export async function restoreCoverage(store: Store, row: Buffer, family: string, summary: RollupSummary): Promise<Coverage | undefined> {
  if (summary.chunks === 0) return Coverage.restore(summary.sums, []);
  const [stored] = await store.getMany([{ row, columns: Array.from({ length: summary.chunks }, (_, index) => ({ family, qualifier: chunkQualifier(index) })) }]);
  const entries: CountedCell[] = [];
  for (let index = 0; index < summary.chunks; index++) {
    const chunk = cellValue(stored, family, chunkQualifier(index));
    if (!chunk) return undefined; // expired (TTL): the summary no longer says which events it counts
    for (const entry of decodeChunk(chunk)) entries.push(entry);
  }
  return Coverage.restore(summary.sums, entries);
}
