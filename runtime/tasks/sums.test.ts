import { aggregate, Aggregation, type EventContribution, type PerformanceQuery } from '../stages/aggregate.js';
import { HOUR_MS, type EventKind } from '../storage/layout.js';
import { ByteReader } from './bytes.js';
import { eachContribution, eachViewContribution, HourSums } from './sums.js';

/** The reference: the cells of decoded sums, as contributions. */
const contributionsOf = (hourIndex: number, sums: HourSums[]): EventContribution[] =>
  sums.flatMap((hour) => [...hour.values()].map(({ kind, country, deviceType, count, amount }) => ({ hourIndex, kind, amount, country, deviceType, count })));

const KINDS: EventKind[] = ['i', 'c', 'v'];
const COUNTRIES = ['US', 'DE', 'unknown', 'FR', 'Ü-land'];
const DEVICES = ['mobile', 'desktop', 'unknown'];

/** Partial sums as tasks make them: adds, and moves between dimensions that leave some cells at zero. */
function randomSums(seed: number): HourSums {
  let x = seed;
  const next = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
  const sums = new HourSums();
  for (let i = 0; i < 200; i++) {
    const kind = KINDS[next(3)]!;
    const country = COUNTRIES[next(COUNTRIES.length)]!;
    const device = DEVICES[next(DEVICES.length)]!;
    const amount = kind === 'c' ? 0 : next(5000);
    sums.add(kind, country, device, 1, amount);
    // An enrichment moves the contribution from unknown to its dimensions: the unknown cell may empty.
    if (next(4) === 0) {
      sums.add(kind, country, device, -1, -amount);
      sums.add(kind, 'unknown', 'unknown', 1, amount);
    }
  }
  return sums;
}

test('contributions read straight from the encoded sums equal those of the decoded sums', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = randomSums(seed).encode();
    const streamed: EventContribution[] = [];
    eachContribution(7, bytes, (c) => void streamed.push({ ...c }));
    expect(streamed).toEqual(contributionsOf(7, [HourSums.read(new ByteReader(bytes))]));
  }
});

test("the view's encoding gives the contributions of the decoded sums, in a third of the bytes or less", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const sums = randomSums(seed);
    const streamed: EventContribution[] = [];
    eachViewContribution(7, sums.encodeForView(), (c) => void streamed.push({ ...c }));
    expect(streamed).toEqual(contributionsOf(7, [sums]));
    expect(sums.encodeForView().length * 3).toBeLessThanOrEqual(sums.encode().length);
  }
});

test("the view's encoding keeps counts and amounts that are not whole and non-negative, as doubles", () => {
  const sums = new HourSums();
  sums.add('v', 'US', 'mobile', 2, 1.5);
  sums.add('i', 'DE', 'desktop', -1, 30);
  sums.add('c', 'DE', 'mobile', 1, 2 ** 53);
  sums.add('i', 'US', 'mobile', 3, 4_000_000_000);
  const streamed: EventContribution[] = [];
  eachViewContribution(1, sums.encodeForView(), (c) => void streamed.push({ ...c }));
  expect(streamed).toEqual(contributionsOf(1, [sums]));
});

test('a corrupt view cell is refused, never read as other dimensions', () => {
  const bytes = new HourSums();
  bytes.add('i', 'US', 'mobile', 1, 10);
  const cell = bytes.encodeForView();
  // The cell's country place (after the table of two strings, the cell count and the head byte) points past the table.
  const corrupt = Buffer.from(cell);
  corrupt[1 + 2 + 2 + 2 + 6 + 1 + 1] = 9;
  expect(() => eachViewContribution(0, corrupt, () => undefined)).toThrow(/corrupt/);
  expect(() => eachViewContribution(0, cell.subarray(0, cell.length - 1), () => undefined)).toThrow(/past the end/);
});

test('a cell that sums to nothing gives no contribution (no row of zeros)', () => {
  const sums = new HourSums();
  sums.add('i', 'US', 'mobile', 1, 10);
  sums.add('i', 'DE', 'mobile', 1, 20);
  sums.add('i', 'DE', 'mobile', -1, -20);
  const streamed: EventContribution[] = [];
  eachContribution(0, sums.encode(), (c) => void streamed.push({ ...c }));
  expect(streamed).toEqual([{ hourIndex: 0, kind: 'i', country: 'US', deviceType: 'mobile', count: 1, amount: 10 }]);
});

test.each([
  ['hour', undefined],
  ['day', 'country'],
  ['hour', 'device_type'],
] as const)('a query summed as the scan reads (one reused contribution) answers as the list did: %s by %s', (granularity, by) => {
  const hours = Array.from({ length: 60 }, (_, h) => ({ hourIndex: 490_000 + h, tasks: [randomSums(h * 3 + 1), randomSums(h * 3 + 2)] }));
  const from = new Date(490_010 * HOUR_MS).toISOString();
  const to = new Date(490_050 * HOUR_MS).toISOString();
  const query: PerformanceQuery = { campaignId: 'cmp-1', from, to, granularity, ...(by ? { by } : {}) };
  const listed = aggregate(hours.flatMap(({ hourIndex, tasks }) => contributionsOf(hourIndex, tasks)), query, Date.parse(from), Date.parse(to));
  const streaming = new Aggregation(query, Date.parse(from), Date.parse(to));
  for (const { hourIndex, tasks } of hours) for (const sums of tasks) eachContribution(hourIndex, sums.encode(), (c) => streaming.add(c));
  const answer = streaming.response();
  expect(JSON.stringify(answer)).toBe(JSON.stringify(listed));
  expect(answer.rows.length).toBeGreaterThanOrEqual(10);
});
