import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, installCrd, kafka, kubectl, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { cli } from './test-support.js';
import { COMMANDS } from './commands/index.js';

// The CLI through main(), as a person would call it: exit codes, help at every level, errors that say what to fix.


let dir: string;
beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-cli-'))));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('adpipe', () => {
  it('prints help at every level with exit 0, and exit 2 without a command', async () => {
    const root = await cli('--help');
    expect(root.code).toBe(0);
    for (const c of COMMANDS) expect(root.stdout).toContain(c.name);
    for (const c of COMMANDS) {
      const help = await cli(c.name, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: adpipe ${c.name} `));
    }
    expect((await cli()).code).toBe(2);
  });

  it.each([
    [['frob'], /unknown command 'frob'/],
    [['generate', '--seed', '1', '--impressions', '5'], /--out is required/],
    [['generate', '--seed', 'x', '--impressions', '5', '--out', '/tmp/x'], /--seed must be an integer/],
    [['generate', '--seed', '1', '--impressions', '5', '--out', '/tmp/x', '--bogus'], /Unknown option '--bogus'/],
    [['produce', '--dir', '/tmp/x'], /--brokers is required/],
    [['produce', '--brokers', 'h:1'], /either --dir DIR or --source SOURCE --file PATH/],
    [['produce', '--brokers', 'h:1', '--source', 'views', '--file', 'package.json'], /--source 'views'/],
  ])('exits 2 on %j', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Run 'adpipe .*--help' for usage/);
  });

  it('generates a set and reports it', async () => {
    const out = path.join(dir, 'set');
    const r = await cli('generate', '--seed', '3', '--impressions', '200', '--out', out, '--base-time', '2026-02-01');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/impressions\s+\S+impressions\.jsonl/);
    const expected = JSON.parse(fs.readFileSync(path.join(out, 'expected.json'), 'utf8')) as { generator: { baseTime: number } };
    expect(expected.generator.baseTime).toBe(Date.UTC(2026, 1, 1));
    const json = await cli('generate', '--seed', '3', '--impressions', '200', '--out', out, '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ messages: { impressions: expect.any(Number) } });
  });

  it('exits 1 with the error code when the work fails (a base time too recent, a missing topic)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const recent = await cli('generate', '--seed', '1', '--impressions', '5', '--out', path.join(dir, 'recent'), '--base-time', today);
    expect(recent.code).toBe(1);
    expect(recent.stderr).toMatch(/\[GEN_BASE_TOO_RECENT\].*pick a base time/);

    const missing = await cli('produce', '--dir', path.join(dir, 'set'), '--brokers', stack().kafka.bootstrap, '--topics', `impressions=${uniqueName('absent')}`, '--sources', 'impressions', '-q');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\[PRODUCE_TOPIC\].*--create-topics/);
  });

  it('produces a file into Kafka and prints the summary', async () => {
    const topic = uniqueName('cli-imps');
    const file = path.join(dir, 'imps.jsonl');
    fs.writeFileSync(file, '{"impression_id":"a"}\n{"impression_id":"b"}\n');
    try {
      const r = await cli('produce', '--source', 'impressions', '--file', file, '--topic', topic, '--brokers', stack().kafka.bootstrap, '--create-topics', '--partitions', '2', '-o', 'json');
      expect(r.stderr).toMatch(/2 msgs/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ sources: { impressions: { topic, messages: 2 } }, total: { messages: 2 } });
    } finally {
      const admin = kafka().admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('inspects a pipeline\'s dead letters with their headers and replays the chosen ones to their source topic', async () => {
    await installCrd();
    const namespace = uniqueName('cli-dlq');
    const [dlq, source] = [uniqueName('dlq'), uniqueName('src')];
    const admin = kafka().admin();
    await admin.connect();
    try {
      await kubectl('create', 'namespace', namespace);
      const manifest = path.join(dir, 'p.json');
      // Only the object is read (no operator runs here): its brokers and its dead-letter topic.
      fs.writeFileSync(manifest, JSON.stringify({ apiVersion: 'adpipe.io/v1alpha1', kind: 'AdPipeline', metadata: { name: 'p', namespace }, spec: { kafka: { bootstrapServers: [stack().kafka.bootstrap] }, hbase: { zookeeperQuorum: 'zk:2181' }, sources: { impressions: { topic: source } }, deadLetter: { topic: dlq } } }));
      await kubectl('apply', '-f', manifest);
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: dlq }, { topic: source }] });
      const producer = kafka().producer();
      await producer.connect();
      const origin = (reason: string, offset: string, code?: string) => ({ 'adpipe-source': 'impressions', 'adpipe-reason': reason, 'adpipe-topic': source, 'adpipe-partition': '0', 'adpipe-offset': offset, ...(code ? { 'adpipe-error-code': code } : {}) });
      await producer.send({ topic: dlq, messages: [{ value: '{"bad json', headers: origin('json.parse', '3') }, { value: '{"impression_id":"i1"}', headers: origin('processing.failed', '7', 'INJECTED_FAULT') }] });
      await producer.disconnect();
      const select = ['--pipeline', `${namespace}/p`, '--kubeconfig', stack().kube.kubeconfig, '-q'];

      const all = await cli('dlq', 'inspect', ...select, '-o', 'json');
      expect(all.code).toBe(0);
      const letters = all.stdout.trim().split('\n').map((line) => JSON.parse(line) as { headers: Record<string, string>; value: string });
      expect(letters.map((l) => l.headers['adpipe-reason'])).toEqual(['json.parse', 'processing.failed']);
      expect(letters[1]!.headers).toMatchObject({ 'adpipe-error-code': 'INJECTED_FAULT', 'adpipe-topic': source, 'adpipe-offset': '7' });
      expect((await cli('dlq', 'inspect', ...select)).stdout).toMatch(/processing\.failed\s+INJECTED_FAULT\s+\S+\/0\/7/);

      const replayed = await cli('dlq', 'replay', ...select, '--reason', 'processing.failed');
      expect(replayed).toMatchObject({ code: 0, stdout: `replayed 1 dead letters to ${source}\n` });
      const consumer = kafka().consumer({ groupId: uniqueName('cli-dlq-check') });
      const got: { value: string; from: string }[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: source, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void got.push({ value: message.value!.toString(), from: message.headers?.['adpipe-replayed-from']?.toString() ?? '' }) });
      await eventually('the replayed record', async () => (got.length ? true : undefined), 30_000);
      await consumer.disconnect();
      expect(got).toEqual([{ value: '{"impression_id":"i1"}', from: `${dlq}/0/1` }]);
    } finally {
      await admin.deleteTopics({ topics: [dlq, source] }).catch(() => undefined);
      await admin.disconnect();
      await kubectl('delete', 'namespace', namespace, '--wait=false').catch(() => undefined);
    }
  }, 120_000);
});
