import { WorkQueue } from './queue.js';

// Pure tests of the queue's contract, with a fake timer so backoff is observable without sleeping.
function fakeTimers() {
  const timers: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  return {
    timers,
    setTimer: (fn: () => void, ms: number) => {
      const t = { fn, ms, cancelled: false };
      timers.push(t);
      return { cancel: () => (t.cancelled = true) };
    },
    fire() {
      for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
    },
  };
}

test('a key added many times is queued once', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('a');
  q.add('b');
  expect(q.depth).toBe(2);
  expect(await q.get()).toBe('a');
  expect(await q.get()).toBe('b');
});

test('a key is never handed out twice at once: an add while processing is processed after done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const first = await q.get();
  q.add('a');
  expect(q.depth).toBe(0);
  q.done(first!);
  expect(q.depth).toBe(1);
  expect(await q.get()).toBe('a');
});

test('failures back off exponentially per key, capped, and forget resets', () => {
  const timers = fakeTimers();
  const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, setTimer: timers.setTimer });
  expect(q.addRateLimited('a')).toBe(100);
  expect(q.addRateLimited('a')).toBe(200);
  expect(q.addRateLimited('a')).toBe(400);
  expect(q.addRateLimited('a')).toBe(800);
  expect(q.addRateLimited('a')).toBe(1000);
  expect(q.addRateLimited('b')).toBe(100);
  q.forget('a');
  expect(q.backoffOf('a')).toBe(100);
});

test('a delayed key waits once; an immediate add cancels the wait', async () => {
  const timers = fakeTimers();
  const q = new WorkQueue({ setTimer: timers.setTimer });
  q.addAfter('a', 5000);
  q.addAfter('a', 10_000);
  expect(q.delayed).toBe(1);
  expect(q.depth).toBe(0);
  q.add('a');
  expect(q.delayed).toBe(0);
  expect(q.depth).toBe(1);
  timers.fire();
  expect(q.depth).toBe(1);
});

test('shutdown releases waiting workers', async () => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.shutdown();
  expect(await waiting).toBeUndefined();
});
