import { millisFromEnv } from './config.js';

test('durations from the environment: the default when unset or empty, a clear error for anything but whole milliseconds', () => {
  expect(millisFromEnv('ADPIPE_X_MS', 600_000, 0, {})).toBe(600_000);
  expect(millisFromEnv('ADPIPE_X_MS', 600_000, 0, { ADPIPE_X_MS: ' ' })).toBe(600_000);
  expect(millisFromEnv('ADPIPE_X_MS', 600_000, 0, { ADPIPE_X_MS: '2000' })).toBe(2000);
  expect(millisFromEnv('ADPIPE_X_MS', 600_000, 0, { ADPIPE_X_MS: '0' })).toBe(0);
  expect(() => millisFromEnv('ADPIPE_X_MS', 1, 0, { ADPIPE_X_MS: '10m' })).toThrow("ADPIPE_X_MS must be a whole number of milliseconds >= 0, not '10m'");
  expect(() => millisFromEnv('ADPIPE_X_MS', 1, 0, { ADPIPE_X_MS: '-5' })).toThrow(/>= 0/);
  expect(() => millisFromEnv('ADPIPE_X_MS', 1, 1, { ADPIPE_X_MS: '0' })).toThrow(/>= 1, not '0'/);
  expect(() => millisFromEnv('ADPIPE_X_MS', 1, 0, { ADPIPE_X_MS: '1.5' })).toThrow(/whole number/);
});
