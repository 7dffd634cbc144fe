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
