import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { kafka, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { main } from './adpipe.js';
import { COMMANDS } from './commands/index.js';

// The CLI through main(), as a person would call it: exit codes, help at every level, errors that say what to fix.

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr, env: {} });
  return { code, stdout: out, stderr: err };
}

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
});
