import type { SourceRef } from '../model.js';

/** The claim value stored with an accepted record: which copy won (`partition:offset:index`). */
export function claimOf(ref: SourceRef): string {
  return `${ref.partition}:${ref.offset}:${ref.index}`;
}

export interface InBatch<T> {
  /** The first copy of each id in the batch, in batch order. */
  firsts: { id: string; item: T }[];
  /** Later copies of an id already in this batch: duplicates without asking the store. */
  repeats: T[];
}

/** Splits a batch's records into the first copy of each id and the copies after it (first wins). */
export function firstCopies<T>(items: readonly T[], idOf: (item: T) => string): InBatch<T> {
  const seen = new Set<string>();
  const firsts: { id: string; item: T }[] = [];
  const repeats: T[] = [];
  for (const item of items) {
    const id = idOf(item);
    if (seen.has(id)) repeats.push(item);
    else {
      seen.add(id);
      firsts.push({ id, item });
    }
  }
  return { firsts, repeats };
}

export type ClaimOutcome = 'accepted' | 'duplicate';

/**
 * After a conditional "claim if absent" did not apply: the stored claim names the copy that won.
 * The same copy means this is a replay (or a retry whose first answer was lost) of the accepted
 * record, which must redo its effects; any other copy means this one is a duplicate.
 */
export function classifyExistingClaim(stored: string | undefined, ours: string): ClaimOutcome {
  return stored === ours ? 'accepted' : 'duplicate';
}
