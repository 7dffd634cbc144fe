import { Batcher } from './batch.js';

test('items submitted together go in one call, each gets its own outcome', async () => {
  const seen: number[][] = [];
  const batcher = new Batcher<number, number>(async (items) => {
    seen.push(items);
    return items.map((i) => (i === 3 ? { ok: false as const, error: new Error('bad 3') } : { ok: true as const, value: i * 10 }));
  }, { lingerMs: 5 });
  const results = await Promise.allSettled([1, 2, 3, 4].map((i) => batcher.submit(i)));
  expect(seen).toEqual([[1, 2, 3, 4]]);
  expect(batcher.calls).toBe(1);
  expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'error'))).toEqual([10, 20, 'error', 40]);
});

test('a failed call fails every item of its batch, and the next batch runs anew', async () => {
  let fail = true;
  const batcher = new Batcher<number, number>(async (items) => {
    if (fail) throw new Error('down');
    return items.map((i) => ({ ok: true as const, value: i }));
  }, { lingerMs: 1 });
  await expect(batcher.submit(1)).rejects.toThrow('down');
  fail = false;
  await expect(batcher.submit(2)).resolves.toBe(2);
});
