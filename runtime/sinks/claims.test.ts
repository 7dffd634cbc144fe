import { DEFAULT_FAMILIES, fnv1a, stateRow } from '../storage/layout.js';
import { MemoryStore } from '../storage/memory-store.js';
import { Claims, claimRound, type ClaimRequest } from './claims.js';
import { GroupCommit } from './group-commit.js';

// Claims in state buckets against the in-memory store (atomic per row only, like HBase).

const settings = { saltBuckets: 2, families: DEFAULT_FAMILIES };
const request = (id: string, copy: string): ClaimRequest => ({ id, copy, fact: Buffer.from(`{"copy":"${copy}"}`) });

test('the first copy of an id wins; a replay of the winner is recognised; other copies are duplicates', async () => {
  const store = new MemoryStore();
  const first = await claimRound(store, settings, 'I', [request('a', '0:1:0'), request('b', '0:2:0'), request('a', '1:7:0')]);
  expect(first).toEqual([{ accepted: true, replayed: false }, { accepted: true, replayed: false }, { accepted: false, replayed: false }]);
  const again = await claimRound(store, settings, 'I', [request('a', '1:7:0'), request('a', '0:1:0'), request('c', '0:3:0')]);
  expect(again).toEqual([{ accepted: false, replayed: false }, { accepted: true, replayed: true }, { accepted: true, replayed: false }]);
  // The fact went with the claim, in the same row mutation.
  const [row] = await store.getMany([{ row: stateRow('I', 'a', 2), columns: [{ family: 's' }] }]);
  expect(row?.cells.map((cell) => `${cell.qualifier.toString()}=${cell.value.toString()}`)).toContain('f1:a={"copy":"0:1:0"}');
});

test('the same record twice in one round is the winner both times (the second a replay), not a duplicate', async () => {
  const store = new MemoryStore();
  const results = await claimRound(store, settings, 'I', [request('a', '0:1:0'), request('a', '1:9:0'), request('a', '0:1:0')]);
  expect(results).toEqual([{ accepted: true, replayed: false }, { accepted: false, replayed: false }, { accepted: true, replayed: true }]);
});

test('two writers claiming the same ids at once: every id is won by exactly one copy, the loser retries on a fresh version', async () => {
  const store = new MemoryStore();
  const ids = Array.from({ length: 200 }, (_, i) => `imp-${i}`);
  const [left, right] = await Promise.all([
    claimRound(store, settings, 'I', ids.map((id) => request(id, '0:1:0'))),
    claimRound(store, settings, 'I', [...ids].reverse().map((id) => request(id, '1:1:0'))),
  ]);
  const rightById = new Map([...ids].reverse().map((id, i) => [id, right[i]!]));
  ids.forEach((id, i) => expect(Number(left[i]!.accepted) + Number(rightById.get(id)!.accepted)).toBe(1));
});

test('a cut after any write, then a replay, still decides every id once and for the same copy', async () => {
  const requests = Array.from({ length: 60 }, (_, i) => request(`r-${i}`, `0:${i}:0`));
  for (let cut = 0; cut < 40; cut++) {
    const store = new MemoryStore();
    store.failAfter = cut;
    await claimRound(store, settings, 'R', requests).catch(() => undefined);
    store.failAfter = undefined;
    const results = await claimRound(store, settings, 'R', requests);
    expect(results.every((r) => r.accepted)).toBe(true);
  }
});

test('batches claiming at the same time share rounds (group commit) and each gets its own answers', async () => {
  const store = new MemoryStore();
  const claims = new Claims(store, settings);
  const before = store.writes;
  const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 50 }, (_, i) => request(`c-${i}`, `${b}:${i}:0`)));
  const answers = await Promise.all(batches.map((batch) => claims.claim('C', batch)));
  // Batch 0 went alone; batches 1-5 queued behind it and went as one round: all their copies are duplicates.
  expect(answers[0]!.every((a) => a.accepted && !a.replayed)).toBe(true);
  for (const answer of answers.slice(1)) expect(answer.every((a) => !a.accepted)).toBe(true);
  // 2 rounds x (at most) 2 x 16 bucket compare-and-sets, not one per claim.
  expect(store.writes - before).toBeLessThanOrEqual(2 * 32);
});

test('group commit: outputs go back to their submitters in order; an error reaches everyone of its group', async () => {
  const runs: number[][] = [];
  const group = new GroupCommit<number, number>(async (inputs) => {
    runs.push(inputs);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (inputs.includes(-1)) throw new Error('boom');
    return inputs.map((n) => n * 10);
  });
  const [a, b, c] = await Promise.all([group.submit([1]), group.submit([2, 3]), group.submit([4])]);
  expect([a, b, c]).toEqual([[10], [20, 30], [40]]);
  expect(runs).toEqual([[1], [2, 3, 4]]);
  const failing = await Promise.allSettled([group.submit([5]), group.submit([-1]), group.submit([6])]);
  expect(failing.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
});

test('fnv1a hashes the UTF-8 bytes, with or without the ASCII fast path', () => {
  expect(fnv1a('a')).toBe(0xe40c292c);
  expect(fnv1a('')).toBe(0x811c9dc5);
  // 'é' is two UTF-8 bytes (c3 a9): the result must be the byte-wise hash, as stored keys were.
  let expected = 0x811c9dc5;
  for (const byte of Buffer.from('ré-1', 'utf8')) expected = Math.imul(expected ^ byte, 0x01000193) >>> 0;
  expect(fnv1a('ré-1')).toBe(expected);
});
