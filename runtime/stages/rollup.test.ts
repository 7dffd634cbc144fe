import { countedQualifier, encodeCounted, type EventKind } from '../storage/layout.js';
import { CHUNK_BYTES, Coverage, decodeChunk, decodeSummary, encodeChunks, encodeSummary } from './rollup.js';

const cell = (enriched: boolean, kind: EventKind, id: string, amount: number, country: string) => ({
  qualifier: Buffer.from(countedQualifier(enriched, kind, id), 'utf8'),
  value: encodeCounted({ kind, campaignId: 'c', hourIndex: 1, eventId: id, amount, country, deviceType: 'phone', enriched }),
});

test('coverage: each event once at its best level; what changed is what a roll-up appends', () => {
  const coverage = new Coverage();
  const first = coverage.add([cell(false, 'i', 'a', 10, 'unknown'), cell(false, 'i', 'b', 20, 'unknown'), cell(true, 'c', 'x', 0, 'DE')]);
  expect(first).toHaveLength(3);
  // a again at level 1 (a replay), then at level 2 (its bid request found); b at level 1 with another value (a stale writer)
  const second = coverage.add([cell(false, 'i', 'a', 10, 'unknown'), cell(true, 'i', 'a', 10, 'FR'), cell(false, 'i', 'b', 999, 'unknown'), cell(false, 'c', 'x', 0, 'unknown')]);
  expect(second.map((c) => c.qualifier.toString())).toEqual(['2ia']);
  expect(coverage.totals()).toEqual([
    { kind: 'c', country: 'DE', deviceType: 'phone', count: 1, amount: 0 },
    { kind: 'i', country: 'FR', deviceType: 'phone', count: 1, amount: 10 },
    { kind: 'i', country: 'unknown', deviceType: 'phone', count: 1, amount: 20 },
  ]);
  expect(coverage.events).toBe(3);
  // Restored from what a roll-up stored (its sums and its chunks' entries), it decides the same way.
  const restored = Coverage.restore(coverage.totals(), [...first, ...second]);
  expect(restored.add([cell(true, 'i', 'a', 10, 'FR'), cell(true, 'i', 'b', 20, 'PL'), cell(false, 'v', 'new', 5, 'unknown')]).map((c) => c.qualifier.toString())).toEqual(['1vnew', '2ib']);
  expect(restored.totals().map((s) => [s.kind, s.country, s.count, s.amount])).toEqual([
    ['c', 'DE', 1, 0],
    ['i', 'FR', 1, 10],
    ['i', 'PL', 1, 20],
    ['v', 'unknown', 1, 5],
  ]);
});

test('chunks: entries round-trip, split below the cell size limit; summaries round-trip and are checked', () => {
  const entries = Array.from({ length: 50_000 }, (_, i) => cell(i % 2 === 0, 'i', `imp-${i}-é-${'x'.repeat(i % 80)}`, i, 'DE'));
  const chunks = encodeChunks(entries);
  expect(chunks.length).toBeGreaterThan(1);
  for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(CHUNK_BYTES);
  const back = chunks.flatMap((chunk) => [...decodeChunk(chunk)]);
  expect(back.map((e) => e.qualifier.toString() + e.value.toString())).toEqual(entries.map((e) => e.qualifier.toString() + e.value.toString()));
  expect(encodeChunks([])).toEqual([]);
  expect(() => [...decodeChunk(chunks[0]!.subarray(0, chunks[0]!.length - 1))]).toThrow(/overruns/);
  const summary = { generation: 3, coveredBefore: 1_764_300_000_000, chunks: 2, sums: [{ kind: 'i' as const, country: 'DE', deviceType: 'phone', count: 2, amount: 7 }] };
  expect(decodeSummary(encodeSummary(summary))).toEqual(summary);
  expect(() => decodeSummary(Buffer.from('{"generation":"x"}'))).toThrow(/not a roll-up summary/);
});
