import { FINGERPRINT_BYTES, fingerprint, fingerprintHi, fingerprintLo, fingerprintOf } from './fingerprint.js';
import { IdTable } from './id-table.js';

/** A small deterministic random source, so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

test('a fingerprint is 12 bytes whose halves give it back, and equal ids give equal fingerprints', () => {
  for (const id of ['', 'a', 'ab', 'imp-000001', 'réq-é', 'cmp-😀', 'x'.repeat(300)]) {
    const fp = fingerprint(id);
    expect(fp.length).toBe(FINGERPRINT_BYTES);
    expect([...fp].every((c) => c.charCodeAt(0) <= 255)).toBe(true);
    expect(fingerprintOf(fingerprintHi(fp), fingerprintLo(fp))).toBe(fp);
    expect(fingerprint(id.slice())).toBe(fp);
    expect(fingerprintHi(fp)).toBeLessThan(2 ** 48);
    expect(fingerprintLo(fp)).toBeLessThan(2 ** 48);
  }
});

test('500,000 similar ids have distinct fingerprints, and their halves spread evenly over 6 tasks', () => {
  const seen = new Set<string>();
  const perTask = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 500_000; i++) {
    const fp = fingerprint(`imp-${i.toString().padStart(8, '0')}`);
    seen.add(fp);
    perTask[fingerprintHi(fp) % 6]!++;
  }
  expect(seen.size).toBe(500_000);
  for (const n of perTask) expect(Math.abs(n - 500_000 / 6)).toBeLessThan(1500);
  // A one-character change moves about half of the 96 bits.
  let flipped = 0;
  for (let i = 0; i < 1000; i++) {
    const a = fingerprint(`id-${i}`);
    const b = fingerprint(`id-${i}x`);
    for (let k = 0; k < 12; k++) flipped += (a.charCodeAt(k) ^ b.charCodeAt(k)).toString(2).replace(/0/g, '').length;
  }
  expect(flipped / 1000).toBeGreaterThan(40);
  expect(flipped / 1000).toBeLessThan(56);
});

test('an id table agrees with a Map through inserts, touches, growth and eviction from the oldest', () => {
  const random = rng(11);
  const table = new IdTable((n) => ({ value: new Float64Array(n) }), 8);
  const model = new Map<string, { last: number; value: number }>();
  let clock = 0;
  for (let step = 0; step < 60_000; step++) {
    clock += 1;
    const id = fingerprint(`id-${Math.floor(random() * 5000)}`);
    const hi = fingerprintHi(id);
    const lo = fingerprintLo(id);
    const at = table.find(hi, lo);
    expect(at >= 0).toBe(model.has(id));
    if (at < 0) {
      const placed = table.insert(hi, lo, clock);
      expect(table.columns.value[placed]).toBe(0); // a reused position starts from zero
      table.columns.value[placed] = step;
      model.set(id, { last: clock, value: step });
    } else {
      expect(table.columns.value[at]).toBe(model.get(id)!.value);
      expect(table.fingerprintAt(at)).toBe(id);
      table.touch(at, clock);
      model.get(id)!.last = clock;
    }
    if (step % 997 === 0) {
      const cutoff = clock - 1500;
      const evicted: string[] = [];
      table.evictBefore(cutoff, (k) => void evicted.push(table.fingerprintAt(k)));
      // What the model evicts: from the oldest inserted while older than the cutoff.
      const expected: string[] = [];
      for (const [key, entry] of model) {
        if (entry.last >= cutoff) break;
        expected.push(key);
        model.delete(key);
      }
      expect(evicted).toEqual(expected);
    }
    expect(table.size).toBe(model.size);
  }
  const order: string[] = [];
  for (const at of table.positions()) order.push(table.fingerprintAt(at));
  expect(order).toEqual([...model.keys()]);
});

test('an id table copied as raw columns (its ring wrapped) loads into an empty one with the same entries, in order', () => {
  const make = (n: number) => ({ flags: new Uint8Array(n), ts: new Float64Array(n), campaign: new Int32Array(n) });
  const table = new IdTable(make, 8);
  // Evicting from the oldest end and inserting more leaves the live entries wrapped around the ring's end.
  for (let i = 0; i < 6; i++) table.insert(i, i * 3, i);
  table.evictBefore(4);
  for (let i = 6; i < 10; i++) {
    const at = table.insert(i, i * 3, i);
    table.columns.ts[at] = i * 1000 + 0.5;
    table.columns.campaign[at] = -i;
    table.columns.flags[at] = i;
  }
  const views = [...table.liveBytes()];
  expect(views.length).toBeGreaterThan(6); // two views for some columns: the ring wraps
  const bytes = Buffer.concat(views);
  let at = 0;
  const copy = new IdTable(make, 2);
  copy.load(table.size, (n) => bytes.subarray(at, (at += n)));
  expect(at).toBe(bytes.length);
  expect(copy.size).toBe(6);
  const entries = (t: IdTable<ReturnType<typeof make>>) => [...t.positions()].map((p) => [t.fingerprintAt(p), t.lastArrival(p), t.columns.ts[p], t.columns.campaign[p], t.columns.flags[p]]);
  expect(entries(copy)).toEqual(entries(table));
  for (let i = 4; i < 10; i++) expect(copy.find(i, i * 3)).toBeGreaterThanOrEqual(0);
  expect(copy.find(3, 9)).toBe(-1);
  expect(() => copy.load(1, () => Buffer.alloc(100))).toThrow('empty');
});
