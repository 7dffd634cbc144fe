import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { getZnodeData } from '../../../hbase/zookeeper.js';
import { dataPlaneHost } from '../paths.js';
import { canConnect } from '../ports.js';
import { requireTool, runLogged, startDaemon, waitUntil } from '../proc.js';

/**
 * HBase 2.x standalone: master, one region server and ZooKeeper in one JVM, storing on the local
 * file system. Web UIs are off and every listener is on loopback.
 */

export interface HBasePorts {
  zookeeper: number;
  master: number;
  regionServer: number;
}

/**
 * TLS on the RPC ports and transparent encryption at rest (decisions 0130, 0132). TLS is served
 * next to plaintext (`supportplaintext`): HBase's own master ↔ region server calls and clients that
 * do not opt in stay plaintext; a client that speaks TLS must show a certificate from the stack CA.
 */
export interface HBaseSecurity {
  tls: { keyStore: string; trustStore: string };
  encryption: EncryptionKeyStore;
}

/** The JCEKS key store that holds the cluster master key, read by HBase's KeyStoreKeyProvider. */
export interface EncryptionKeyStore {
  file: string;
  password: string;
  masterKeyAlias: string;
}

export const MASTER_KEY_ALIAS = 'adpipe-master';

function property(name: string, value: string | number | boolean): string {
  return `  <property><name>${name}</name><value>${value}</value></property>`;
}

function securityProperties(security: HBaseSecurity): string[] {
  const { tls, encryption } = security;
  return [
    property('hbase.server.netty.tls.enabled', true),
    property('hbase.server.netty.tls.supportplaintext', true),
    property('hbase.server.netty.tls.client.auth.mode', 'NEED'),
    // A client certificate names a workload, not the host it connects from (Pods move).
    property('hbase.server.netty.tls.verify.client.hostname', false),
    property('hbase.rpc.tls.keystore.location', tls.keyStore),
    property('hbase.rpc.tls.keystore.type', 'PEM'),
    property('hbase.rpc.tls.truststore.location', tls.trustStore),
    property('hbase.rpc.tls.truststore.type', 'PEM'),
    // HBase's own client (master ↔ region server in this one JVM) stays on plaintext.
    property('hbase.client.netty.tls.enabled', false),
    property('hbase.crypto.keyprovider', 'org.apache.hadoop.hbase.io.crypto.KeyStoreKeyProvider'),
    property('hbase.crypto.keyprovider.parameters', `jceks://${encryption.file}?password=${encryption.password}`),
    property('hbase.crypto.master.key.name', encryption.masterKeyAlias),
    property('hbase.regionserver.wal.encryption', true),
  ];
}

export function hbaseSite(dir: string, ports: HBasePorts, security?: HBaseSecurity, host = dataPlaneHost()): string {
  // On loopback the advertised name is `localhost`; elsewhere the address itself.
  const advertised = host === '127.0.0.1' ? 'localhost' : host;
  return [
    '<?xml version="1.0"?>',
    '<configuration>',
    property('hbase.cluster.distributed', false),
    property('hbase.rootdir', `file://${path.join(dir, 'root')}`),
    property('hbase.tmp.dir', path.join(dir, 'tmp')),
    property('hbase.zookeeper.quorum', host),
    property('hbase.zookeeper.property.clientPortAddress', host),
    property('hbase.zookeeper.property.clientPort', ports.zookeeper),
    property('hbase.zookeeper.property.dataDir', path.join(dir, 'zookeeper')),
    // The local file system has no hflush/hsync capability; HBase refuses to start without this.
    property('hbase.unsafe.stream.capability.enforce', false),
    property('hbase.wal.provider', 'filesystem'),
    property('hbase.master.port', ports.master),
    property('hbase.regionserver.port', ports.regionServer),
    property('hbase.master.ipc.address', host),
    property('hbase.regionserver.ipc.address', host),
    property('hbase.master.hostname', advertised),
    property('hbase.unsafe.regionserver.hostname', advertised),
    property('hbase.master.info.port', -1),
    property('hbase.regionserver.info.port', -1),
    property('hbase.localcluster.assign.random.ports', false),
    // Splits and balancer moves are driven by tests when they want them.
    property('hbase.balancer.period', 3_600_000),
    ...(security ? securityProperties(security) : []),
    '</configuration>',
    '',
  ].join('\n');
}

const LOG4J2 = [
  'status = warn',
  'appender.console.type = Console',
  'appender.console.name = STDOUT',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = %d{ISO8601} %-5p [%t] %c{2}: %m%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.zookeeper.name = org.apache.zookeeper',
  'logger.zookeeper.level = WARN',
  'logger.hadoop.name = org.apache.hadoop',
  'logger.hadoop.level = WARN',
  'logger.hbase.name = org.apache.hadoop.hbase',
  'logger.hbase.level = INFO',
  '',
].join('\n');

/** The flags HBase's own `bin/hbase` adds on JDK 11+ for its Netty and off-heap code. */
const JDK17_FLAGS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  '--add-modules=jdk.unsupported',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-exports=java.base/sun.net.dns=ALL-UNNAMED',
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true',
];

/** The JVM arguments that run a class with HBase's jars and this stack's configuration. */
export function hbaseJvmArgs(libDir: string, confDir: string): string[] {
  return [...JDK17_FLAGS, '-Djava.net.preferIPv4Stack=true', `-Dlog4j2.configurationFile=${path.join(confDir, 'log4j2.properties')}`, '-cp', `${confDir}:${libDir}/*`];
}

/** `deadlineMs`: how long start-up may take (a loaded 2-core machine needs more than the default). */
export async function startHBase(libDir: string, dir: string, ports: HBasePorts, logFile: string, security?: HBaseSecurity, deadlineMs = 120_000): Promise<number> {
  const confDir = path.join(dir, 'conf');
  fs.mkdirSync(confDir, { recursive: true });
  // The site file names the key store password: readable by this user only.
  fs.writeFileSync(path.join(confDir, 'hbase-site.xml'), hbaseSite(dir, ports, security), { mode: 0o600 });
  fs.writeFileSync(path.join(confDir, 'log4j2.properties'), LOG4J2);
  const pid = startDaemon('java', ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', ...hbaseJvmArgs(libDir, confDir), 'org.apache.hadoop.hbase.master.HMaster', 'start'], {
    cwd: dir,
    logFile,
  });
  await waitUntil('hbase', () => hbaseHealthy(ports), { deadlineMs, pid, logFile, intervalMs: 500 });
  return pid;
}

/** Healthy once the master is registered, the meta region is assigned and both RPC ports answer. */
export async function hbaseHealthy(ports: HBasePorts): Promise<boolean> {
  const host = dataPlaneHost();
  const quorum = `${host}:${ports.zookeeper}`;
  const master = await getZnodeData(quorum, '/hbase/master', 1500);
  const meta = await getZnodeData(quorum, '/hbase/meta-region-server', 1500);
  if (!master?.length || !meta?.length) return false;
  return (await canConnect(ports.master, 1000, host)) && (await canConnect(ports.regionServer, 1000, host));
}

/**
 * The master key store, made once per stack directory with Java's keytool (an AES-128 secret key
 * in a JCEKS store, as HBase's documentation does it). Kept across restarts: a new key would make
 * every HFile and WAL encrypted before it unreadable.
 */
export async function ensureEncryptionKeyStore(dir: string): Promise<EncryptionKeyStore> {
  const cryptoDir = path.join(dir, 'crypto');
  const store: EncryptionKeyStore = { file: path.join(cryptoDir, 'hbase-master.jceks'), password: '', masterKeyAlias: MASTER_KEY_ALIAS };
  const passwordFile = path.join(cryptoDir, 'keystore.password');
  if (fs.existsSync(store.file) && fs.existsSync(passwordFile)) return { ...store, password: fs.readFileSync(passwordFile, 'utf8').trim() };
  requireTool('keytool', 'make the HBase encryption key store', 'apt-get install openjdk-17-jdk-headless');
  fs.mkdirSync(cryptoDir, { recursive: true, mode: 0o700 });
  fs.rmSync(store.file, { force: true });
  const password = crypto.randomBytes(16).toString('hex');
  fs.writeFileSync(passwordFile, password, { mode: 0o600 });
  // The password goes through the environment, never the command line (which is logged).
  const keytool = ['-genseckey', '-alias', MASTER_KEY_ALIAS, '-keyalg', 'AES', '-keysize', '128', '-storetype', 'JCEKS', '-keystore', store.file];
  await runLogged('keytool', [...keytool, '-storepass:env', 'ADPIPE_KEYSTORE_PASSWORD', '-keypass:env', 'ADPIPE_KEYSTORE_PASSWORD'], {
    cwd: cryptoDir,
    logFile: path.join(cryptoDir, 'keytool.log'),
    env: { ADPIPE_KEYSTORE_PASSWORD: password },
  });
  return { ...store, password };
}
