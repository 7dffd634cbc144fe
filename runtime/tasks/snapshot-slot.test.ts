import { SnapshotSlot } from './task.js';

test("one snapshot of an engine's tasks at a time; only its holder gives the slot back", () => {
  const slot = new SnapshotSlot();
  expect(slot.take(1)).toBe(true);
  expect(slot.take(2)).toBe(false);
  slot.give(2);
  expect(slot.take(3)).toBe(false);
  slot.give(1);
  expect(slot.take(3)).toBe(true);
});

test('after a snapshot starts, the next waits out the gap, however many tasks are due', () => {
  const slot = new SnapshotSlot(10_000);
  expect(slot.take(1, 100_000)).toBe(true);
  slot.give(1);
  expect(slot.take(2, 105_000)).toBe(false);
  expect(slot.take(2, 110_000)).toBe(true);
  slot.give(2);
  expect(slot.take(3, 119_999)).toBe(false);
  expect(slot.take(3, 120_000)).toBe(true);
});
