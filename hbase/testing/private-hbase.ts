import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hbaseJvmArgs, hbaseSite } from '../../e2e/stack/components/hbase.js';
import { cacheRoot } from '../../e2e/stack/paths.js';
import { freePort } from '../../e2e/stack/ports.js';
import { isAlive, sleep, startDaemon, stopProcess, waitUntil } from '../../e2e/stack/proc.js';
import { Cluster, defaultUser } from '../cluster.js';
import { VERSIONS } from '../../e2e/stack/versions.js';
import { getZnodeChildren, getZnodeData } from '../zookeeper.js';

/**
 * A private HBase for destructive tests (stop/restart, moves): the stack's standalone HBase
 * configuration, but with `regionServers` region servers in the master's JVM so a region can
 * really move between servers. Region server ports are picked by HBase (random), so after a
 * restart every region is on a new address. Its own ZooKeeper port, data dir and log.
 */
export interface PrivateHBase {
  quorum: string;
  dir: string;
  logFile: string;
  /** Region servers as `host:port` (from ZooKeeper's `/hbase/rs`). */
  regionServers(): Promise<string[]>;
  /** Orderly cluster shutdown (every region closed and flushed), then start on the same data. */
  restart(options?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateHBase(options: { regionServers?: number } = {}): Promise<PrivateHBase> {
  const regionServers = options.regionServers ?? 2;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adpipe-hbase-'));
  const libDir = path.join(cacheRoot(), `hbase-${VERSIONS.hbase}`, 'lib');
  const confDir = path.join(dir, 'conf');
  const logFile = path.join(dir, 'hbase.log');
  const zookeeper = await freePort();
  const quorum = `127.0.0.1:${zookeeper}`;
  fs.mkdirSync(confDir, { recursive: true });
  // Ports 0 for master and region servers (several region servers cannot share one fixed port).
  const site = hbaseSite(dir, { zookeeper, master: 0, regionServer: 0 }).replace(
    '<name>hbase.localcluster.assign.random.ports</name><value>false</value>',
    '<name>hbase.localcluster.assign.random.ports</name><value>true</value>',
  );
  fs.writeFileSync(path.join(confDir, 'hbase-site.xml'), site);
  fs.writeFileSync(path.join(confDir, 'log4j2.properties'), ['status = warn', 'appender.file.type = Console', 'appender.file.name = OUT', 'appender.file.layout.type = PatternLayout', 'appender.file.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n', (process.env['ADPIPE_HBASE_LOG_LEVEL'] ? `rootLogger.level = ${process.env['ADPIPE_HBASE_LOG_LEVEL']}` : 'rootLogger.level = WARN'), 'rootLogger.appenderRef.out.ref = OUT', ''].join('\n'));

  const listServers = async () => (await getZnodeChildren(quorum, '/hbase/rs', 1500))?.map((name) => name.split(',').slice(0, 2).join(':')) ?? [];
  let pid: number | undefined;
  const start = async () => {
    pid = startDaemon('java', ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', ...hbaseJvmArgs(libDir, confDir), 'org.apache.hadoop.hbase.master.HMaster', `--localRegionServers=${regionServers}`, 'start'], { cwd: dir, logFile });
    await waitUntil(
      'private hbase',
      async () => {
        const master = await getZnodeData(quorum, '/hbase/master', 1500);
        const meta = await getZnodeData(quorum, '/hbase/meta-region-server', 1500);
        return !!master?.length && !!meta?.length && (await listServers()).length >= regionServers;
      },
      { deadlineMs: 180_000, pid, logFile, intervalMs: 500 },
    );
  };
  await start();
  return {
    quorum,
    dir,
    logFile,
    regionServers: listServers,
    async restart(restartOptions = {}) {
      await shutdownCluster(quorum, pid);
      await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs ?? 0));
      await start();
    },
    async stop() {
      await stopProcess(pid, 30_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Asks the master to shut the whole cluster down (MasterService.Shutdown): unlike SIGTERM, which
 * in a multi-region-server standalone JVM stops only one region server and leaves the other's
 * thread hanging, this closes and flushes every region before the process exits.
 */
async function shutdownCluster(quorum: string, pid: number | undefined): Promise<void> {
  const cluster = new Cluster({
    zookeeperQuorum: quorum,
    znodeParent: '/hbase',
    user: defaultUser(),
    rpcTimeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    operationTimeoutMs: 30_000,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
  });
  try {
    const master = await cluster.masterAddress();
    await cluster.call(master, 'MasterService', 'Shutdown', 'Empty', {}, 'Empty').catch(() => undefined);
  } finally {
    cluster.close();
  }
  const deadline = Date.now() + 60_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  await stopProcess(pid, 30_000);
}
