import { newClusterId } from './kafka.js';

test("cluster ids are Kafka's form and never start with '-' (kafka-storage would read one as an option)", () => {
  const ids = Array.from({ length: 5000 }, () => newClusterId());
  for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  expect(new Set(ids).size).toBe(ids.length);
});
