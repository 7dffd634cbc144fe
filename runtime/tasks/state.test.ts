import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SOURCE_NAMES, type SourceName } from '../../api/runtime-config.js';
import { generate } from '../../generator/index.js';
import { decodersFor } from '../decode/index.js';
import { kafkaMessages } from '../e2e/harness.js';
import type { InMessage, Item, RecordOf } from '../model.js';
import { Aggregation } from '../stages/aggregate.js';
import { HOUR_MS } from '../storage/layout.js';
import { FrameWriter, readFrame, routingKey, type TaskRecord } from './records.js';
import { fingerprint as fp } from './fingerprint.js';
import { routeBatch, taskOf, type RoutedBatch } from './route.js';
import { fnv1a } from '../storage/layout.js';
import { pipelineStatsOf, TaskState } from './state.js';
import { eachViewContribution } from './sums.js';

// The task state machine against the generator's ground truth, without Kafka or HBase: sources are
// split over partitions, tasks exchange records through in-memory logs (the internal topic's
// partitions) in a random interleaving, and some tasks are rebuilt from a snapshot plus their log
// on the way. The answers must equal expected.json whatever the order.

const RULES = { attributionWindowMs: 24 * HOUR_MS, conversionWindowMs: 7 * 24 * HOUR_MS, latenessMs: 24 * HOUR_MS };
const SOURCES = {
  bidRequests: { topic: 'b', avro: {} },
  impressions: { topic: 'i', fieldMapping: {} },
  clicks: { topic: 'c', csv: { header: false, delimiter: ',' }, fieldMapping: {} },
  conversions: { topic: 'v', csv: { header: false, delimiter: ',' }, fieldMapping: {} },
};

const set = generate({ seed: 23, impressions: 800 });
const all = kafkaMessages(set.messages);
const decoders = decodersFor(SOURCES);

/** A small deterministic random source, so a failing interleaving can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

interface Chunk {
  source: SourceName;
  partition: number;
  items: Item<RecordOf[SourceName]>[];
  lastOffset: number;
}

async function sourceChunks(partitions: number, chunkSize: number): Promise<Chunk[]> {
  const now = Date.now();
  const chunks: Chunk[] = [];
  for (const source of SOURCE_NAMES) {
    const byPartition: InMessage[][] = Array.from({ length: partitions }, () => []);
    all[source].forEach((message, i) => {
      const partition = message.key ? fnv1a(message.key) % partitions : i % partitions;
      const list = byPartition[partition]!;
      list.push({ partition, offset: String(list.length), timestamp: String(now + i), value: message.value });
    });
    for (const [partition, messages] of byPartition.entries()) {
      for (let at = 0; at < messages.length; at += chunkSize) {
        const slice = messages.slice(at, at + chunkSize);
        const decode = decoders[source] as (m: readonly InMessage[], nowMs: number) => Promise<Item<RecordOf[SourceName]>[]>;
        chunks.push({ source, partition, items: await decode(slice, now + 10_000_000), lastOffset: Number(slice[slice.length - 1]!.offset) });
      }
    }
  }
  return chunks;
}

interface SimTask {
  state: TaskState;
  /** The task's partition of the internal topic, as frames (one per send batch). */
  log: Buffer[];
  position: number;
  snapshot?: { bytes: Buffer; position: number };
  /** What the task has written to HBase: each changed campaign-hour's sums, after every step. */
  view: Map<string, Buffer>;
}

async function simulate(seed: number, taskCount: number, partitions: number, options: { rebuilds: boolean }): Promise<{ tasks: SimTask[]; invalidSent: number }> {
  const random = rng(seed);
  const tasks: SimTask[] = Array.from({ length: taskCount }, () => ({ state: new TaskState(RULES), log: [], position: 0, view: new Map<string, Buffer>() }));
  const pending = (await sourceChunks(partitions, 37)).map((chunk) => ({ ...chunk, task: chunk.partition % taskCount }));
  let invalidSent = 0;
  // Sends of one step are framed per destination, like one transaction's output.
  const step = (work: (send: (record: Exclude<TaskRecord, { kind: 'P' }>) => void) => void) => {
    const frames = new Map<number, FrameWriter>();
    work((record) => {
      const to = taskOf(routingKey(record), taskCount);
      let frame = frames.get(to);
      if (!frame) frames.set(to, (frame = new FrameWriter()));
      frame.write(record);
    });
    for (const [to, frame] of frames) tasks[to]!.log.push(frame.take());
  };
  for (;;) {
    const readable = tasks.filter((t) => t.position < t.log.length);
    if (pending.length === 0 && readable.length === 0) break;
    if (pending.length > 0 && (readable.length === 0 || random() < 0.4)) {
      // The next chunk of a random source partition: partitions progress independently, each in order.
      const heads = pending.flatMap((c, i) => (pending.findIndex((o) => o.source === c.source && o.partition === c.partition) === i ? [i] : []));
      const chunk = pending.splice(heads[Math.floor(random() * heads.length)]!, 1)[0]!;
      const task = tasks[chunk.task]!;
      let routed: RoutedBatch | undefined;
      step((send) => void (routed = routeBatch(chunk.source, chunk.partition, chunk.items, chunk.lastOffset, undefined, taskCount, (to, record) => {
        expect(to).toBe(taskOf(routingKey(record), taskCount));
        send(record);
      })));
      invalidSent += routed!.invalid.length;
      const own = new FrameWriter();
      own.write(routed!.progress);
      task.log.push(own.take());
      continue;
    }
    const task = readable[Math.floor(random() * readable.length)]!;
    const frame = task.log[task.position++]!;
    step((send) => readFrame(frame, (record) => task.state.apply(record, send)));
    writeView(task);
    if (options.rebuilds && random() < 0.05) task.snapshot = { bytes: task.state.encode(), position: task.position };
    if (options.rebuilds && random() < 0.03) {
      // A new owner: the latest snapshot, then the log after it with its sends discarded (they were
      // committed by the owner before).
      const rebuilt = new TaskState(RULES);
      if (task.snapshot) rebuilt.decodeInto(task.snapshot.bytes);
      for (let at = task.snapshot?.position ?? 0; at < task.position; at++) readFrame(task.log[at]!, (record) => rebuilt.apply(record, () => undefined));
      task.state = rebuilt;
      // Only what the replay touched is written again: the rest was written before the snapshot.
      writeView(task);
    }
  }
  return { tasks, invalidSent };
}

function writeView(task: SimTask): void {
  for (const key of task.state.takeDirty()) task.view.set(key, task.state.sums.get(key)!.encodeForView());
}

function answer(tasks: SimTask[], query: (typeof set.expected.queries)[number]['query']) {
  const aggregation = new Aggregation({ campaignId: query.campaign_id, from: query.from, to: query.to, granularity: query.granularity, ...(query.by ? { by: query.by } : {}) }, Date.parse(query.from), Date.parse(query.to));
  // Read from what the tasks wrote to the view, as the query API does.
  for (const { view } of tasks) {
    for (const [key, bytes] of view) {
      const [campaignId, hour] = key.split('\u0000');
      if (campaignId === query.campaign_id) eachViewContribution(Number(hour), bytes, (contribution) => aggregation.add(contribution));
    }
  }
  return aggregation.response();
}

test.each([
  [1, 4, 3],
  [2, 3, 6],
  [3, 1, 2],
  [4, 6, 6],
])('interleaving %i with %i tasks over %i source partitions equals the ground truth', async (seed, taskCount, partitions) => {
  const { tasks, invalidSent } = await simulate(seed, taskCount, partitions, { rebuilds: false });
  expect(pipelineStatsOf(tasks.map((t) => t.state.stats))).toEqual(set.expected.stats);
  expect(invalidSent).toBe(SOURCE_NAMES.reduce((sum, s) => sum + set.expected.stats.invalid[s], 0));
  for (const { query, response } of set.expected.queries) expect(answer(tasks, query)).toEqual(response);
});

test.each([5, 6, 7])('tasks rebuilt from snapshots and their logs on the way (seed %i) still equal the ground truth', async (seed) => {
  const { tasks } = await simulate(seed, 4, 3, { rebuilds: true });
  expect(pipelineStatsOf(tasks.map((t) => t.state.stats))).toEqual(set.expected.stats);
  for (const { query, response } of set.expected.queries) expect(answer(tasks, query)).toEqual(response);
});

test('a snapshot round-trips the whole state', async () => {
  const { tasks } = await simulate(8, 3, 3, { rebuilds: false });
  for (const { state } of tasks) {
    const copy = new TaskState(RULES);
    copy.decodeInto(state.encode());
    expect(copy.encode().equals(state.encode())).toBe(true);
    expect(copy.liveIds).toBe(state.liveIds);
    // A snapshot takes it in pieces of a fixed size (the last one shorter), the same bytes in all.
    const whole = state.encode();
    const pieces = [...state.encodeChunks(1000)];
    expect(pieces.slice(0, -1).every((piece) => piece.length === 1000)).toBe(true);
    expect(pieces.at(-1)!.length).toBeLessThanOrEqual(1000);
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
  }
});

test('a snapshot of version 2 (entries one by one, before decision 0076) still restores the same state', () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'snapshot-v2.json'), 'utf8')) as { liveIds: number; stats: unknown; watermarkMs: number; appliedThrough: [string, number][]; sums: Record<string, string> };
  const state = new TaskState(RULES);
  state.decodeInto(fs.readFileSync(path.join(dir, 'snapshot-v2.bin')));
  expect(state.liveIds).toBe(expected.liveIds);
  expect(state.stats).toEqual(expected.stats);
  expect(state.watermarkMs).toBe(expected.watermarkMs);
  expect([...state.appliedThrough]).toEqual(expected.appliedThrough);
  expect(Object.fromEntries([...state.sums].map(([key, sums]) => [key, sums.encode().toString('base64')]))).toEqual(expected.sums);
  // Written again it is a version 3 snapshot of the same state.
  const again = new TaskState(RULES);
  again.decodeInto(state.encode());
  expect(again.encode().equals(state.encode())).toBe(true);
  expect(again.liveIds).toBe(expected.liveIds);
});

test('offsets applied before are skipped, and a progress record counts once however often it is read', () => {
  const state = new TaskState(RULES);
  state.apply({ kind: 'P', source: 2, partition: 1, throughOffset: 10, invalid: 3 }, () => undefined);
  state.apply({ kind: 'P', source: 2, partition: 1, throughOffset: 10, invalid: 3 }, () => undefined);
  expect(state.stats.invalid).toEqual([0, 0, 3, 0]);
  expect(state.applied(2, 1, 10)).toBe(true);
  expect(state.applied(2, 1, 11)).toBe(false);
  expect(state.applied(2, 0, 0)).toBe(false);
});

test('a late bid request moves the impression, its click and conversion to the enriched dimensions', () => {
  const state = new TaskState(RULES);
  const sent: TaskRecord[] = [];
  const send = (r: TaskRecord) => void sent.push({ ...r }); // the state reuses what it sends
  const t0 = Date.UTC(2026, 0, 1, 10);
  state.apply({ kind: 'I', impressionId: fp('i1'), requestId: fp('r1'), campaignId: 'c1', ts: t0, priceMicros: 500, arrivalMs: 1000 }, send);
  state.apply({ kind: 'K', impressionId: fp('i1'), clickId: fp('k1'), ts: t0 + 60_000, arrivalMs: 1001 }, send);
  state.apply({ kind: 'X', impressionId: fp('i1'), clickId: fp('k1'), conversionId: fp('v1'), ts: t0 + HOUR_MS, valueMicros: 9000, arrivalMs: 1002 }, send);
  const cells = () => [...state.sums.values()].flatMap((s) => [...s.values()]).map((c) => `${c.kind} ${c.country}/${c.deviceType} ${c.count} ${c.amount}`).sort();
  expect(cells()).toEqual(['c unknown/unknown 1 0', 'i unknown/unknown 1 500', 'v unknown/unknown 1 9000']);
  expect(sent).toEqual([{ kind: 'Q', requestId: fp('r1'), impressionId: fp('i1'), arrivalMs: 1000 }]);
  // Dimensions for another copy's request id change nothing.
  state.apply({ kind: 'D', impressionId: fp('i1'), requestId: fp('r-other'), country: 'FR', deviceType: 'tv' }, send);
  expect(cells()).toEqual(['c unknown/unknown 1 0', 'i unknown/unknown 1 500', 'v unknown/unknown 1 9000']);
  state.apply({ kind: 'D', impressionId: fp('i1'), requestId: fp('r1'), country: 'DE', deviceType: 'mobile' }, send);
  expect(cells()).toEqual(['c DE/mobile 1 0', 'i DE/mobile 1 500', 'v DE/mobile 1 9000']);
  expect(state.takeDirty().size).toBe(2);
});

test('state older than the lateness bound plus the grace is forgotten, younger state is kept', () => {
  const state = new TaskState({ ...RULES, latenessMs: 1000 });
  const send = () => undefined;
  state.apply({ kind: 'V', conversionId: fp('old'), clickId: fp('k'), ts: 0, valueMicros: 1, arrivalMs: 1_000 }, send);
  state.apply({ kind: 'B', requestId: fp('old'), country: 'DE', deviceType: 'tv', arrivalMs: 1_100 }, send);
  state.apply({ kind: 'V', conversionId: fp('young'), clickId: fp('k'), ts: 0, valueMicros: 1, arrivalMs: 5_000 }, send);
  expect(state.evict(500)).toBe(2); // cutoff 5000 - 1000 - 500 = 3500
  const has = (id: string) => state.conversions.findId(fp(id)) >= 0;
  expect([state.conversions.size, has('young'), has('old')]).toEqual([1, true, false]);
  expect(state.bids.size).toBe(0);
  // Forgotten means forgotten: the old conversion id counts as new again.
  state.apply({ kind: 'V', conversionId: fp('old'), clickId: fp('k'), ts: 0, valueMicros: 1, arrivalMs: 5_001 }, send);
  expect(state.stats.accepted[3]).toBe(3);
});

test('frames carry fingerprints of ids of any text and values of any text (ASCII, accents, astral characters), and read back every field', () => {
  const records: TaskRecord[] = [
    { kind: 'I', impressionId: fp('imp-1'), requestId: fp('réq-é'), campaignId: 'cmp-😀', ts: 1_700_000_000_123, priceMicros: 42, arrivalMs: 5 },
    { kind: 'X', impressionId: fp('i'), clickId: fp('k-ü'), conversionId: fp(''), ts: 1, valueMicros: 0, arrivalMs: 2 },
    { kind: 'P', source: 3, partition: 7, throughOffset: 123_456_789_012, invalid: 2 },
    { kind: 'I', impressionId: fp('imp-2'), requestId: fp('req-2'), campaignId: 'cmp-2', ts: 7, priceMicros: 0, arrivalMs: 6 },
  ];
  const frame = new FrameWriter();
  for (const record of records) frame.write(record);
  const read: TaskRecord[] = [];
  // The reader reuses one record per kind (the second impression overwrites the first): keepers copy.
  readFrame(frame.take(), (record) => void read.push({ ...record }));
  expect(read).toEqual(records);
});
