import { partitionLags } from './lag.js';

test('lag per owned partition is high watermark minus committed offset; unowned partitions are left out', () => {
  const owned = { a: [0, 1], b: [2] };
  const highs = new Map([
    ['a', [{ partition: 0, high: '100', low: '0' }, { partition: 1, high: '50', low: '10' }, { partition: 2, high: '9', low: '0' }]],
    ['b', [{ partition: 2, high: '7', low: '0' }]],
  ]);
  const committed = new Map([['a', [{ partition: 0, offset: '90' }, { partition: 1, offset: '-1' }, { partition: 2, offset: '0' }]]]);
  const lags = partitionLags(owned, highs, committed);
  expect([...lags.values()]).toEqual([
    { topic: 'a', partition: 0, lag: 10 },
    { topic: 'a', partition: 1, lag: 40 }, // nothing committed: from the low watermark
    { topic: 'b', partition: 2, lag: 7 },
  ]);
});
