import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BID_REQUEST_SCHEMA, generate, readGeneratedDirectory, SOURCES, writeGeneratedDirectory, SOURCE_FILES } from './index.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-gen-'));

describe('generator', () => {
  it('gives byte-identical output for the same seed, and different output for another', () => {
    const a = generate({ seed: 42, impressions: 3000 });
    const b = generate({ seed: 42, impressions: 3000 });
    const c = generate({ seed: 43, impressions: 3000 });
    expect(JSON.stringify(a.messages)).toBe(JSON.stringify(b.messages));
    expect(JSON.stringify(a.expected)).toBe(JSON.stringify(b.expected));
    expect(JSON.stringify(a.messages.impressions)).not.toBe(JSON.stringify(c.messages.impressions));
  });

  it.each([1, 2, 3])('counts, by the reference rules over the bytes, exactly what it meant to put in (seed %i)', (seed) => {
    const { summary, expected } = generate({ seed, impressions: 20_000 });
    expect(expected.stats).toEqual(summary.intent);
    // Realism, roughly: some of everything.
    expect(expected.stats.accepted.clicks).toBeGreaterThan(100);
    expect(expected.stats.accepted.conversions).toBeGreaterThan(5);
    expect(expected.stats.accepted.bidRequests).toBeGreaterThan(expected.stats.accepted.impressions);
  });

  it('writer versions interleave v1, v2, v3 and resolve to the same answers as the contract-only set', () => {
    const plain = generate({ seed: 5, impressions: 2000 });
    const mixed = generate({ seed: 5, impressions: 2000, writerVersions: true });
    const versions = mixed.messages.bidRequests.map((m) => ('$writer' in m ? m.$writer : 'raw'));
    expect(versions.slice(0, 6)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(new Set(versions)).toEqual(new Set([1, 2, 3, 'raw']));
    expect(mixed.expected.stats).toEqual(plain.expected.stats);
    expect(mixed.expected.queries).toEqual(plain.expected.queries);
    expect(mixed.expected.generator.writerVersions).toBe(true);
  });

  it('leaves the scripted campaign out when asked, and still counts what it meant to', () => {
    const { summary, expected } = generate({ seed: 4, impressions: 5000, edgeCases: false, campaigns: 5, hours: 6 });
    expect(expected.stats).toEqual(summary.intent);
    expect(expected.queries.some((q) => q.query.campaign_id === 'cmp-edge')).toBe(false);
    expect(new Set(expected.queries.map((q) => q.query.campaign_id))).toEqual(new Set(['cmp-01', 'cmp-02', 'cmp-03', 'cmp-04', 'cmp-05']));
  });

  it('writes a directory that reads back to the same messages, byte-identical on a second run', async () => {
    const [d1, d2] = [tmp(), tmp()];
    try {
      writeGeneratedDirectory(d1, { seed: 5, impressions: 2000 });
      writeGeneratedDirectory(d2, { seed: 5, impressions: 2000 });
      for (const name of [...SOURCES.map((s) => SOURCE_FILES[s].file), 'expected.json', 'manifest.json', 'bid-request.avsc']) {
        expect(fs.readFileSync(path.join(d1, name)).equals(fs.readFileSync(path.join(d2, name)))).toBe(true);
      }
      const back = await readGeneratedDirectory(d1);
      const mem = generate({ seed: 5, impressions: 2000 });
      expect(back.messages).toEqual(mem.messages);
      expect(back.expected).toEqual(mem.expected);
      for (const s of SOURCES) expect(back.manifest.files[s].messages).toBe(mem.messages[s].length);
    } finally {
      for (const d of [d1, d2]) fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('puts every valid event in the past, and refuses a base time that would not', () => {
    const { summary } = generate({ seed: 9, impressions: 500 });
    expect(summary.maxValidTs).toBeLessThan(Date.now());
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    expect(() => generate({ seed: 9, impressions: 500, baseTime: today - 86_400_000 })).toThrow(/GEN_BASE_TOO_RECENT|pick a base time/);
  });

  it('carries the contract schema verbatim', () => {
    const file = new URL('../docs/contract/bid-request.avsc', import.meta.url);
    expect(BID_REQUEST_SCHEMA).toEqual(JSON.parse(fs.readFileSync(file, 'utf8')));
  });

  it('rejects options that cannot make a set', () => {
    expect(() => generate({ seed: -1, impressions: 1 })).toThrow(/seed/);
    expect(() => generate({ seed: 1, impressions: 1.5 })).toThrow(/impressions/);
    expect(() => generate({ seed: 1, impressions: 1, baseTime: 1000 })).toThrow(/UTC midnight/);
  });
});
