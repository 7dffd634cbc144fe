import { nextDriftCheck } from './pipeline.js';

test('drift checks fall on a shared grid, never sooner than a tenth of the interval', () => {
  expect(nextDriftCheck(1_000, 20_000)).toBe(19_000);
  expect(nextDriftCheck(19_500, 20_000)).toBe(20_500);
  expect(nextDriftCheck(40_000, 20_000)).toBe(20_000);
});
