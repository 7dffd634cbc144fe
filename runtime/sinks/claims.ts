import { classifyExistingClaim } from '../stages/dedup.js';
import { STATE_COLUMN, claimQualifier, factQualifier, stateRow, type FactKind, type Families } from '../storage/layout.js';
import { cellsOf, groupByRow, type Store, type StoreCell, type StoreCheckAndPut } from '../storage/store.js';
import { GroupCommit } from './group-commit.js';

/** One copy of an id asking to be the accepted one: `copy` is its `partition:offset:index`. */
export interface ClaimRequest {
  id: string;
  copy: string;
  /** Written with the claim, in the same atomic row mutation. */
  fact: Buffer;
}

export interface ClaimResult {
  accepted: boolean;
  /** Accepted before (a replay, or a retry whose first answer was lost): its effects must be redone. */
  replayed: boolean;
}

export interface ClaimSettings {
  saltBuckets: number;
  families: Families;
}

/**
 * First-copy-wins claims in state-bucket rows (decision 0046). A round reads each touched bucket's
 * version and the stored claims of its ids, then writes every unclaimed id's claim and fact with
 * one compare-and-set per bucket on that version; a bucket whose compare-and-set failed (another
 * writer claimed there meanwhile) is read and tried again with the ids still unclaimed.
 *
 * The batches a worker processes at the same time queue per fact kind and go as one round
 * (group commit): they would otherwise race each other for the same bucket versions, and a round
 * costs about the same for one batch as for several.
 */
export class Claims {
  private readonly queues = new Map<FactKind, GroupCommit<ClaimRequest, ClaimResult>>();

  constructor(
    private readonly store: Store,
    private readonly settings: ClaimSettings,
  ) {}

  claim(kind: FactKind, requests: ClaimRequest[]): Promise<ClaimResult[]> {
    if (requests.length === 0) return Promise.resolve([]);
    let queue = this.queues.get(kind);
    if (!queue) this.queues.set(kind, (queue = new GroupCommit((all) => claimRound(this.store, this.settings, kind, all))));
    return queue.submit(requests);
  }
}

/** Claims `requests` (several copies of one id allowed: the first in order wins) until every id is decided. */
export async function claimRound(store: Store, settings: ClaimSettings, kind: FactKind, requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
  const { families, saltBuckets } = settings;
  const results = requests.map((): ClaimResult => ({ accepted: false, replayed: false }));
  const copiesOf = new Map<string, number[]>();
  requests.forEach((request, index) => {
    const copies = copiesOf.get(request.id);
    if (copies) copies.push(index);
    else copiesOf.set(request.id, [index]);
  });
  let undecided = [...groupByRow([...copiesOf.keys()], (id) => stateRow(kind, id, saltBuckets)).values()];
  while (undecided.length) {
    const current = await store.getMany(
      undecided.map(({ row, members }) => ({
        row,
        columns: [{ family: families.dedup, qualifier: STATE_COLUMN.version }, ...members.map((id) => ({ family: families.dedup, qualifier: claimQualifier(id) }))],
      })),
    );
    const attempts: { row: Buffer; members: string[] }[] = [];
    const writes: StoreCheckAndPut[] = [];
    undecided.forEach(({ row, members }, i) => {
      const stored = cellsOf(current[i], families.dedup);
      const fresh: string[] = [];
      for (const id of members) {
        const claim = stored.get(claimQualifier(id))?.toString('utf8');
        if (claim === undefined) {
          fresh.push(id);
          continue;
        }
        for (const index of copiesOf.get(id)!) {
          if (classifyExistingClaim(claim, requests[index]!.copy) === 'accepted') results[index] = { accepted: true, replayed: true };
        }
      }
      if (fresh.length === 0) return;
      const version = stored.get(STATE_COLUMN.version);
      const cells: StoreCell[] = [{ family: families.dedup, qualifier: STATE_COLUMN.version, value: Buffer.from(String(Number(version?.toString() ?? '0') + 1)) }];
      for (const id of fresh) {
        const first = requests[copiesOf.get(id)![0]!]!;
        cells.push({ family: families.dedup, qualifier: claimQualifier(id), value: Buffer.from(first.copy) });
        cells.push({ family: families.state, qualifier: factQualifier(id), value: first.fact });
      }
      attempts.push({ row, members: fresh });
      writes.push({ row, check: { family: families.dedup, qualifier: STATE_COLUMN.version }, ...(version ? { expected: version } : {}), cells });
    });
    const applied = writes.length ? await store.checkAndPutMany(writes) : [];
    undecided = [];
    attempts.forEach((attempt, i) => {
      if (!applied[i]) undecided.push(attempt);
      else {
        for (const id of attempt.members) {
          const [first, ...others] = copiesOf.get(id)!;
          results[first!] = { accepted: true, replayed: false };
          // The same record twice in one round (a partition's batch still running when its
          // offsets are handed out again): the second is a replay of the winner, not a duplicate.
          for (const index of others) if (requests[index]!.copy === requests[first!]!.copy) results[index] = { accepted: true, replayed: true };
        }
      }
    });
  }
  return results;
}
