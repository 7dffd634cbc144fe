import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOURCE_FILES } from '../generator/index.js';
import { frameId, SchemaRegistryClient, valueSubject } from '../schema-registry/index.js';
import { eventually, kafka, stack, uniqueName } from '../e2e/support/stack-clients.js';
import { cli } from './test-support.js';

// `adpipe produce --registry`: the writer schemas registered (or found) in the stack's registry
// under <topic>-value, every record framed with its version's id.


test('a writer-versions file is registered as v1, v2, v3 and framed with their ids; options that clash are refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-cli-registry-'));
  const topic = uniqueName('cli-bids');
  const registryUrl = stack().registry.url;
  try {
    expect((await cli('generate', '--seed', '2', '--impressions', '6', '--no-edge-cases', '--writer-versions', '--out', dir, '-o', 'json')).code).toBe(0);
    const file = path.join(dir, SOURCE_FILES.bidRequests.file);
    const r = await cli('produce', '--source', 'bidRequests', '--file', file, '--topic', topic, '--registry', registryUrl, '--brokers', stack().kafka.bootstrap, '--create-topics', '--partitions', '1', '-q', '-o', 'json');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });

    const registry = new SchemaRegistryClient({ url: registryUrl });
    const subject = valueSubject(topic);
    expect(await registry.versions(subject)).toEqual([1, 2, 3]);
    const ids = await Promise.all([1, 2, 3].map(async (v) => (await registry.version(subject, v)).id));
    const consumer = kafka().consumer({ groupId: uniqueName('cli-bids-read') });
    const framed: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void framed.push(frameId(message.value!)!) });
    await eventually('the first six records', async () => (framed.length >= 6 ? true : undefined), 30_000);
    await consumer.disconnect();
    expect(framed.slice(0, 6)).toEqual([...ids, ...ids]);

    expect((await cli('produce', '--source', 'bidRequests', '--file', file, '--brokers', 'h:1', '--subject', 's')).stderr).toMatch(/--subject goes with --registry/);
    expect((await cli('produce', '--source', 'bidRequests', '--file', file, '--brokers', 'h:1', '--registry', registryUrl, '--schema-id', '3')).stderr).toMatch(/--schema-id and --registry exclude each other/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    const admin = kafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
