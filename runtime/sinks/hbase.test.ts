import type { SourceName } from '../../api/runtime-config.js';
import type { BidRequest, Click, Conversion, Impression, Item, RecordOf } from '../model.js';
import { campaignPerformance, performanceQuery, pipelineStats } from '../query/performance.js';
import { DEFAULT_FAMILIES, ROLLUP, countedQualifier, hourKey } from '../storage/layout.js';
import { rollupOf } from '../storage/rollups.js';
import { MemoryStore } from '../storage/memory-store.js';
import type { Store } from '../storage/store.js';
import { HBaseSink } from './hbase.js';
import { DEFAULT_ROLLUP_POLICY, HourRollups, oldestCells } from './rollup.js';

// The exactly-once logic against an in-memory store that, like HBase, is atomic per row only.

const H = 3_600_000;
const T0 = Date.parse('2026-11-27T20:00:00Z');
const rules = { attributionWindowMs: 24 * H, conversionWindowMs: 7 * 24 * H, latenessMs: 24 * H };
const settings = { saltBuckets: 4, families: DEFAULT_FAMILIES, rules };

interface Batch<S extends SourceName = SourceName> {
  source: S;
  partition: number;
  items: Item<RecordOf[S]>[];
}

let offsets: Record<string, number> = {};
function batch<S extends SourceName>(source: S, records: (RecordOf[S] | 'bad')[], partition = 0, arrivalMs = T0): Batch<S> {
  const items = records.map((record): Item<RecordOf[S]> => {
    const key = `${source}/${partition}`;
    const offset = String((offsets[key] = (offsets[key] ?? -1) + 1));
    const ref = { partition, offset, index: 0, arrivalMs };
    return record === 'bad' ? { ok: false, reason: 'json.parse', raw: Buffer.from('x'), ref } : { ok: true, record, ref };
  });
  return { source, partition, items };
}

const bid = (request_id: string, country: string, device_type = 'MOBILE'): BidRequest => ({
  request_id, ts: T0, exchange: 'adx', publisher_id: 'p', site_domain: null, app_bundle: null, device_type, country, user_id: null, floor_price_micros: 1,
});
const imp = (impression_id: string, request_id: string, ts: number, price_micros = 1000, campaign_id = 'cmp-1'): Impression => ({
  impression_id, request_id, campaign_id, creative_id: null, user_id: null, ts, price_micros,
});
const click = (click_id: string, impression_id: string, ts: number): Click => ({ click_id, impression_id, ts, user_id: null });
const conv = (conversion_id: string, click_id: string, ts: number, value_micros = 5000): Conversion => ({ conversion_id, click_id, ts, type: 'purchase', value_micros });

function scenario(): Batch[] {
  offsets = {};
  return [
    batch('bidRequests', [bid('r1', 'DE'), bid('r2', 'FR', 'DESKTOP')]),
    batch('impressions', [imp('i1', 'r1', T0 + 60_000), imp('i2', 'r2', T0 + 2 * H), imp('i3', 'r-missing', T0 + 3 * H, 500), 'bad']),
    batch('clicks', [click('c1', 'i1', T0 + 120_000), click('c2', 'i2', T0 + 2 * H + 1), click('c-late', 'i1', T0 + 25 * H), click('c-orphan', 'nope', T0)]),
    batch('conversions', [conv('v1', 'c1', T0 + 5 * H), conv('v2', 'c2', T0 + 8 * 24 * H), conv('v3', 'c-late', T0 + 26 * H)]),
    batch('impressions', [imp('i1', 'r1', T0 + 60_000)], 1),
  ];
}

/** The same events, each source arriving before what it joins with. */
function reversed(): Batch[] {
  offsets = {};
  return [
    batch('conversions', [conv('v1', 'c1', T0 + 5 * H), conv('v2', 'c2', T0 + 8 * 24 * H), conv('v3', 'c-late', T0 + 26 * H)]),
    batch('clicks', [click('c1', 'i1', T0 + 120_000), click('c2', 'i2', T0 + 2 * H + 1), click('c-late', 'i1', T0 + 25 * H), click('c-orphan', 'nope', T0)]),
    batch('impressions', [imp('i1', 'r1', T0 + 60_000), imp('i2', 'r2', T0 + 2 * H), imp('i3', 'r-missing', T0 + 3 * H, 500), 'bad']),
    batch('impressions', [imp('i1', 'r1', T0 + 60_000)], 1),
    batch('bidRequests', [bid('r1', 'DE'), bid('r2', 'FR', 'DESKTOP')]),
  ];
}

const lastOffset = (b: Batch) => b.items[b.items.length - 1]!.ref.offset;

async function run(store: MemoryStore, batches: Batch[]): Promise<void> {
  const sink = new HBaseSink(store, settings);
  for (const b of batches) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
}

async function answers(store: MemoryStore) {
  const q = (granularity: string, by?: string) => campaignPerformance(store, settings, performanceQuery('cmp-1', { from: '2026-11-27T00:00:00Z', to: '2026-12-06T00:00:00Z', granularity, by: by ?? null }));
  return { hour: await q('hour'), day: await q('day'), country: await q('hour', 'country'), device: await q('day', 'device_type'), stats: await pipelineStats(store, settings) };
}

test('enrichment, attribution windows and dedup give the contract counters', async () => {
  const store = new MemoryStore();
  await run(store, scenario());
  const { hour, country, stats, day } = await answers(store);
  expect(hour.rows.map((r) => [r.start, r.impressions, r.clicks, r.conversions, r.spend_micros, r.revenue_micros])).toEqual([
    ['2026-11-27T20:00:00Z', 1, 1, 0, 1000, 0],
    ['2026-11-27T22:00:00Z', 1, 1, 0, 1000, 0],
    ['2026-11-27T23:00:00Z', 1, 0, 0, 500, 0],
    ['2026-11-28T01:00:00Z', 0, 0, 1, 0, 5000],
  ]);
  expect(hour.rows[0]).toMatchObject({ dimension: null, ctr: 1, cvr: 0, cpc_micros: 1000, cpa_micros: null, roas: 0 });
  expect(hour.totals).toEqual({ impressions: 3, clicks: 2, conversions: 1, spend_micros: 2500, revenue_micros: 5000 });
  expect(country.rows.map((r) => [r.start, r.dimension, r.impressions, r.clicks, r.conversions])).toEqual([
    ['2026-11-27T20:00:00Z', 'DE', 1, 1, 0],
    ['2026-11-27T22:00:00Z', 'FR', 1, 1, 0],
    ['2026-11-27T23:00:00Z', 'unknown', 1, 0, 0],
    ['2026-11-28T01:00:00Z', 'DE', 0, 0, 1],
  ]);
  expect(day.rows.map((r) => [r.start, r.impressions, r.conversions])).toEqual([
    ['2026-11-27T00:00:00Z', 3, 0],
    ['2026-11-28T00:00:00Z', 0, 1],
  ]);
  expect(stats).toEqual({
    accepted: { bidRequests: 2, impressions: 3, clicks: 4, conversions: 3 },
    invalid: { bidRequests: 0, impressions: 1, clicks: 0, conversions: 0 },
    duplicates: { bidRequests: 0, impressions: 1, clicks: 0, conversions: 0 },
    unattributed_clicks: 2,
    unattributed_conversions: 2,
  });
});

test('any arrival order gives the same answers', async () => {
  const inOrder = new MemoryStore();
  await run(inOrder, scenario());
  const backwards = new MemoryStore();
  await run(backwards, reversed());
  expect(await answers(backwards)).toEqual(await answers(inOrder));
});

test('partners arriving further apart than the lateness bound are not joined', async () => {
  offsets = {};
  const store = new MemoryStore();
  await run(store, [batch('impressions', [imp('i1', 'r1', T0)], 0, T0), batch('clicks', [click('c1', 'i1', T0 + 1000)], 0, T0 + 25 * H)]);
  const { stats, hour } = await answers(store);
  expect(stats.unattributed_clicks).toBe(1);
  expect(hour.totals.clicks).toBe(0);
});

test('a crash after any write, then a replay from the last commit, leaves every answer exact', async () => {
  const clean = new MemoryStore();
  await run(clean, scenario());
  const expected = await answers(clean);
  const totalWrites = clean.writes;
  for (let cut = 0; cut < totalWrites; cut += 1) {
    const store = new MemoryStore();
    const batches = scenario();
    store.failAfter = cut;
    const sink = new HBaseSink(store, settings);
    for (const b of batches) {
      try {
        await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
      } catch {
        // The worker died mid-batch; its successor replays the uncommitted batch.
        store.failAfter = undefined;
        await new HBaseSink(store, settings).applyBatch(b.source, b.partition, b.items, lastOffset(b));
      }
    }
    expect(await answers(store)).toEqual(expected);
  }
});

test('replaying every offset from the beginning, or two workers on one partition, changes nothing', async () => {
  const store = new MemoryStore();
  const batches = scenario();
  await run(store, batches);
  const expected = await answers(store);
  await run(store, batches);
  const sinkA = new HBaseSink(store, settings);
  const sinkB = new HBaseSink(store, settings);
  await Promise.all(batches.map((b) => Promise.all([sinkA.applyBatch(b.source, b.partition, b.items, lastOffset(b)), sinkB.applyBatch(b.source, b.partition, b.items, lastOffset(b))])));
  expect(await answers(store)).toEqual(expected);
});

test('concurrent batches of partners on different workers still meet', async () => {
  offsets = {};
  for (let round = 0; round < 20; round++) {
    const store = new MemoryStore();
    const parts = [
      batch('bidRequests', [bid(`r${round}`, 'IT')]),
      batch('impressions', [imp(`i${round}`, `r${round}`, T0)]),
      batch('clicks', [click(`c${round}`, `i${round}`, T0 + 10)]),
      batch('conversions', [conv(`v${round}`, `c${round}`, T0 + 20)]),
    ];
    await Promise.all(parts.map((b) => new HBaseSink(store, settings).applyBatch(b.source, b.partition, b.items, lastOffset(b))));
    const { country } = await answers(store);
    expect(country.rows.map((r) => [r.dimension, r.impressions, r.clicks, r.conversions])).toEqual([['IT', 1, 1, 1]]);
  }
});

// --- roll-ups (decision 0048) --------------------------------------------------------------------

/** A sink whose hour rows are rolled up on demand, covering everything written so far (margin 0). */
function rollingSink(store: Store, marginMs = 0) {
  const rollups = new HourRollups(store, settings.families.aggregates, { ...DEFAULT_ROLLUP_POLICY, marginMs, afterHourMs: 0 });
  const sink = new HBaseSink(store, settings, (rows) => rollups.written(rows));
  const outcomes: string[] = [];
  const rollUp = () => rollups.runDue(Number.MAX_SAFE_INTEGER, (outcome) => outcomes.push(outcome));
  return { sink, rollUp, outcomes };
}

test('roll-ups between any two batches, then a replay of everything, leave every answer exact', async () => {
  for (const order of [scenario, reversed]) {
    const expected = await (async () => {
      const clean = new MemoryStore();
      await run(clean, order());
      return answers(clean);
    })();
    const count = order().length;
    for (let cut = 0; cut <= count; cut++) {
      const store = new MemoryStore();
      const batches = order();
      const { sink, rollUp, outcomes } = rollingSink(store);
      for (const [index, b] of batches.entries()) {
        if (index === cut) await rollUp();
        await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
      }
      await rollUp();
      expect(outcomes).toContain('rolled');
      expect(await answers(store)).toEqual(expected);
      // A replay rewrites every counted cell after the roll-up: the summary already counts them.
      for (const b of batches) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
      expect(await answers(store)).toEqual(expected);
      await rollUp();
      expect(await answers(store)).toEqual(expected);
    }
  }
});

test('a rolled-up row counts what is written after it once: new events, upgrades, and not the same event again', async () => {
  offsets = {};
  const store = new MemoryStore();
  const { sink, rollUp } = rollingSink(store);
  await sink.applyBatch('impressions', 0, batch('impressions', [imp('i1', 'r1', T0), imp('i2', 'r2', T0)]).items, '1');
  await rollUp();
  const row = hourKey('cmp-1', Math.floor(T0 / H), settings.saltBuckets);
  const family = settings.families.aggregates;
  // A stale writer rewrites i1 at level 1 with another amount: the summary's level-1 count stands.
  // (Written as the sink writes: with the row's last-write column.)
  await store.putMany([{ row, cells: [{ family, qualifier: countedQualifier(false, 'i', 'i1'), value: Buffer.from('999\tunknown\tunknown') }, { family, qualifier: ROLLUP.written, value: Buffer.alloc(0) }] }]);
  let { country } = await answers(store);
  expect(country.rows.map((r) => [r.dimension, r.impressions, r.spend_micros])).toEqual([['unknown', 2, 2000]]);
  // The bid request of i1 arrives: i1 moves from unknown to DE; a new impression i3 is added.
  await sink.applyBatch('bidRequests', 0, batch('bidRequests', [bid('r1', 'DE')]).items, '0');
  await sink.applyBatch('impressions', 0, batch('impressions', [imp('i3', 'r9', T0)]).items, '2');
  ({ country } = await answers(store));
  expect(country.rows.map((r) => [r.dimension, r.impressions, r.spend_micros])).toEqual([['DE', 1, 1000], ['unknown', 2, 2000]]);
  await rollUp();
  ({ country } = await answers(store));
  expect(country.rows.map((r) => [r.dimension, r.impressions, r.spend_micros])).toEqual([['DE', 1, 1000], ['unknown', 2, 2000]]);
  // Nothing written since the last roll-up: the query reads its summary, not one cell per event.
  const read: string[] = [];
  const getMany = store.getMany.bind(store);
  store.getMany = async (gets) => {
    const rows = await getMany(gets);
    for (const got of rows) for (const cell of got?.cells ?? []) read.push(cell.qualifier.toString('utf8'));
    return rows;
  };
  await answers(store);
  expect(read.filter((qualifier) => /^[12]/.test(qualifier))).toEqual([]);
  store.getMany = getMany;
  const summary = rollupOf((await store.getMany([{ row, columns: [{ family }] }]))[0], family).summary!;
  expect(summary).toMatchObject({ generation: 2, chunks: 2 });
  expect(summary.sums.find((sum) => sum.country === 'unknown')).toMatchObject({ kind: 'i', count: 2, amount: 2000 });
});

test('a roll-up leaves the cells of its last margin to the next one; queries in between add them up once', async () => {
  const expected = await (async () => {
    const clean = new MemoryStore();
    await run(clean, scenario());
    return answers(clean);
  })();
  const store = new MemoryStore();
  const batches = scenario();
  const { sink, rollUp, outcomes } = rollingSink(store, 150);
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  for (const b of batches.slice(0, 3)) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
  await sleep(200);
  for (const b of batches.slice(3)) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
  await rollUp(); // covers the first three batches only: the rest is within the margin
  expect(outcomes).toContain('rolled');
  expect(await answers(store)).toEqual(expected);
  for (const b of batches) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b)); // a replay, within the margin
  expect(await answers(store)).toEqual(expected);
  await sleep(200);
  await rollUp();
  expect(await answers(store)).toEqual(expected);
});

test('a summary whose chunks expired is not trusted: queries count the cells, the next roll-up starts over', async () => {
  const store = new MemoryStore();
  const batches = scenario();
  const { sink, rollUp } = rollingSink(store);
  for (const b of batches.slice(0, 2)) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
  await rollUp();
  // HBase's TTL drops the first roll-up's chunks (and, in real life, the cells they covered).
  const getMany = store.getMany.bind(store);
  store.getMany = async (gets) => (await getMany(gets)).map((row) => (row ? { ...row, cells: row.cells.filter((cell) => cell.qualifier.toString() !== '~c0') } : row));
  for (const b of batches.slice(2)) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
  const expected = await (async () => {
    const clean = new MemoryStore();
    await run(clean, scenario());
    return answers(clean);
  })();
  expect(await answers(store)).toEqual(expected);
  await rollUp();
  expect(await answers(store)).toEqual(expected);
});

test('an hour bigger than one roll-up may cover is covered over several, exact at every step', async () => {
  // Impressions of one hour, one batch each (one cell stamp each), then the usual scenario.
  const batches = () => {
    const more = [1, 2, 3, 4].map((n) => batch('impressions', [imp(`extra-${n}`, 'r1', T0 + 600_000 * n, 100 * n)], 2));
    return [...scenario(), ...more];
  };
  const expected = await (async () => {
    const clean = new MemoryStore();
    await run(clean, batches());
    return answers(clean);
  })();
  const store = new MemoryStore();
  const rollups = new HourRollups(store, settings.families.aggregates, { ...DEFAULT_ROLLUP_POLICY, marginMs: 0, afterHourMs: 0, maxCells: 1 });
  const sink = new HBaseSink(store, settings, (rows) => rollups.written(rows));
  for (const b of batches()) await sink.applyBatch(b.source, b.partition, b.items, lastOffset(b));
  let rounds = 0;
  while (rollups.pending > 0 && rounds < 10) {
    await rollups.runDue(Number.MAX_SAFE_INTEGER);
    rounds++;
    expect(await answers(store)).toEqual(expected);
  }
  expect(rollups.pending).toBe(0);
  expect(rounds).toBeGreaterThanOrEqual(4); // one cell stamp per roll-up: the hour of the extra impressions took several
});

test('oldestCells: the oldest cells up to the limit, never splitting a stamp, always moving forward', () => {
  const cells = [5, 1, 3, 3, 9, 2].map((timestamp) => ({ timestamp }));
  expect(oldestCells(cells, 10, 10)).toEqual({ due: cells, coveredBefore: 10 });
  expect(oldestCells(cells, 4, 10).due.map((c) => c.timestamp)).toEqual([1, 3, 3, 2]);
  expect(oldestCells(cells, 10, 2)).toEqual({ due: [{ timestamp: 1 }, { timestamp: 2 }], coveredBefore: 3 });
  expect(oldestCells(cells, 10, 3)).toEqual({ due: [{ timestamp: 1 }, { timestamp: 2 }], coveredBefore: 3 }); // 3 and 3 go together
  expect(oldestCells([{ timestamp: 7 }, { timestamp: 7 }], 10, 1)).toEqual({ due: [{ timestamp: 7 }, { timestamp: 7 }], coveredBefore: 8 });
  // Cells before the previous coverage's end are re-read, not limited: the coverage still moves on.
  expect(oldestCells(cells, 10, 1, 3)).toEqual({ due: [{ timestamp: 1 }, { timestamp: 3 }, { timestamp: 3 }, { timestamp: 2 }], coveredBefore: 4 });
});
