import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { hbaseJvmArgs } from '../stack/components/hbase.js';
import { cacheRoot, REPO_ROOT } from '../stack/paths.js';
import { VERSIONS } from '../stack/versions.js';
import { getZnodeData, stripHBaseZnodePrefix } from '../../hbase/zookeeper.js';
import { stack, uniqueName } from '../support/stack-clients.js';

// The local HBase is real: HBase's own Java client creates a table, writes a cell and reads it back.
// (Until the TypeScript HBase module lands, this is the one path through the Java client.)

const run = promisify(execFile);

test('HBase publishes its master and meta region in ZooKeeper', async () => {
  const { hbase } = stack();
  const master = await getZnodeData(hbase.zookeeperQuorum, '/hbase/master');
  const meta = await getZnodeData(hbase.zookeeperQuorum, '/hbase/meta-region-server');
  expect(master?.length).toBeGreaterThan(0);
  // The protobuf payload names the region server host; the stack pins it to localhost.
  expect(stripHBaseZnodePrefix(meta!).toString('latin1')).toContain('localhost');
  expect(await getZnodeData(hbase.zookeeperQuorum, '/hbase/no-such-node')).toBeUndefined();
});

test('HBase Java client creates a table, writes a cell and reads it back', async () => {
  const { hbase, dir } = stack();
  const table = uniqueName('smoke').replace('-', '_');
  const value = uniqueName('v');
  const libDir = path.join(cacheRoot(), `hbase-${VERSIONS.hbase}`, 'lib');
  const program = path.join(REPO_ROOT, 'e2e', 'stack', 'java', 'HBaseSmoke.java');
  const { stdout } = await run('java', [...hbaseJvmArgs(libDir, path.join(dir, 'hbase', 'conf')), program, hbase.zookeeperQuorum, table, value], { timeout: 110_000 });
  expect(stdout.trim().split('\n')).toContain(`value=${value}`);
});
