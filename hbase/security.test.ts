import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HBaseClient, isHBaseError } from './index.js';
import { filesContaining, hbaseTls, stack, uniqueName } from '../e2e/support/stack-clients.js';

// TLS (mutual) and encryption at rest against the shared stack's real HBase (decisions 0130, 0132):
// its RPC ports speak TLS next to plaintext, require a client certificate from the stack CA on TLS,
// and it holds a JCEKS master key with WAL encryption on.

const run = promisify(execFile);
const clients: HBaseClient[] = [];
const created: string[] = [];

function client(options: Partial<ConstructorParameters<typeof HBaseClient>[0]> = {}): HBaseClient {
  const hbase = new HBaseClient({ zookeeperQuorum: stack().hbase.zookeeperQuorum, operationTimeoutMs: 60_000, ...options });
  clients.push(hbase);
  return hbase;
}

function tableName(prefix: string): string {
  const name = uniqueName(prefix).replace(/-/g, '_');
  created.push(name);
  return name;
}

afterAll(async () => {
  const cleaner = client();
  for (const table of created) await cleaner.admin.deleteTable(table, { ifExists: true }).catch(() => undefined);
  for (const hbase of clients) hbase.close();
});

test('over mutual TLS: DDL through the master, writes and reads through the region server', async () => {
  const hbase = client({ tls: hbaseTls() });
  const table = tableName('tls');
  await hbase.admin.createTable({ name: table, families: [{ name: 'd' }] });
  await hbase.putMany(table, [{ row: 'r1', cells: [{ family: 'd', qualifier: 'q', value: 'over-tls' }] }]);
  expect((await hbase.get(table, { row: 'r1' }))?.value('d', 'q')?.toString()).toBe('over-tls');
  const rows: string[] = [];
  for await (const row of hbase.scan(table)) rows.push(row.row.toString());
  expect(rows).toEqual(['r1']);
});

test('a server certificate from another CA fails at once with code TLS, not after the retry deadline', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-other-ca-'));
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=not-the-stack-ca']);
  const { cert, key } = hbaseTls();
  const hbase = client({ tls: { ca: fs.readFileSync(path.join(dir, 'ca.crt')), cert, key }, operationTimeoutMs: 60_000 });
  const started = Date.now();
  const error = await hbase.admin.listTables().catch((e: unknown) => e);
  expect(isHBaseError(error, 'TLS')).toBe(true);
  expect(String((error as Error).message)).toMatch(/TLS to MasterService at .* failed: .*(unable to get local issuer certificate|self.signed|unable to verify)/i);
  expect((error as { retriable: boolean }).retriable).toBe(false);
  expect(Date.now() - started).toBeLessThan(30_000);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('mutual TLS: a TLS client without a certificate is refused', async () => {
  const hbase = client({ tls: { ca: hbaseTls().ca }, operationTimeoutMs: 30_000 });
  const error = await hbase.admin.listTables().catch((e: unknown) => e);
  // The server's alert arrives after the client's first write (TLS 1.3) and is not retried.
  expect(isHBaseError(error, 'TLS')).toBe(true);
  expect(String((error as Error).message)).toMatch(/TLS to .* failed: .*(bad certificate|certificate required|handshake failure)/i);
});

test('encryption at rest: after a flush, the HFiles and WAL hold no row key or value in plaintext; reads are exact', async () => {
  const hbase = client({ tls: hbaseTls() });
  const encrypted = tableName('enc');
  const control = tableName('plain');
  const secret = uniqueName('campaign-secret');
  const user = uniqueName('user-secret');
  const controlMarker = uniqueName('control-plain');
  await hbase.admin.createTable({ name: encrypted, families: [{ name: 'd', encryption: 'AES' }] });
  await hbase.admin.createTable({ name: control, families: [{ name: 'd' }] });
  expect((await hbase.admin.describeTable(encrypted))!.families[0]!.encryption).toBe('AES');
  expect((await hbase.admin.describeTable(control))!.families[0]!.encryption).toBe('NONE');
  const rows = Array.from({ length: 200 }, (_, i) => ({ row: `${secret}-${i}`, cells: [{ family: 'd', qualifier: 'user', value: `${user}-${i}` }] }));
  await hbase.putMany(encrypted, rows);
  await hbase.putMany(control, [{ row: controlMarker, cells: [{ family: 'd', qualifier: 'q', value: controlMarker }] }]);
  await hbase.admin.flushTable(encrypted);
  await hbase.admin.flushTable(control);

  const root = stack().hbase.rootDir;
  const tableDir = (table: string) => path.join(root, 'data', 'default', table);
  const hfiles = (table: string) => fs.readdirSync(tableDir(table), { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && path.basename(e.parentPath) === 'd');
  expect(hfiles(encrypted).length).toBeGreaterThan(0);
  // The scan finds plaintext where there is some: the unencrypted family's HFile holds its row key.
  expect(filesContaining(tableDir(control), [controlMarker]).length).toBeGreaterThan(0);
  // Nothing under HBase's root (HFiles, WALs, archived WALs, meta) holds the encrypted rows' bytes.
  expect(filesContaining(root, [secret, user])).toEqual([]);
  expect(fs.readdirSync(path.join(root, 'WALs'), { recursive: true }).length).toBeGreaterThan(0);

  const read = await hbase.getMany(encrypted, rows.map((row) => ({ row: row.row })));
  expect(read.map((row) => row?.value('d', 'user')?.toString())).toEqual(rows.map((row) => row.cells[0]!.value));
  let scanned = 0;
  for await (const row of hbase.scan(encrypted, { prefix: secret })) {
    expect(row.value('d', 'user')?.toString()).toBe(`${user}-${row.row.toString().slice(secret.length + 1)}`);
    scanned++;
  }
  expect(scanned).toBe(200);
});

test('plaintext clients keep working next to TLS (the migration mode the stack runs in)', async () => {
  const hbase = client();
  expect(Array.isArray(await hbase.admin.listTables())).toBe(true);
});
