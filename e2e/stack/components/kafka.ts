import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { dataPlaneHost } from '../paths.js';
import { runLogged, startDaemon, waitUntil } from '../proc.js';

/**
 * One Kafka 4.x broker in KRaft mode, broker and controller in one process, from Maven Central jars.
 * Storage is formatted on first start; later starts reuse it (and its ports, kept in the state file,
 * so the advertised listener stays right).
 */

export interface KafkaPorts {
  broker: number;
  controller: number;
  /** The SASL_SSL listener (SCRAM-SHA-512 over TLS from the stack CA); private brokers of tests have none. */
  sasl?: number;
}

/** The broker's PEM key store (private key + certificate) and the CA that signed it. */
export interface KafkaTls {
  keystore: string;
  caFile: string;
}

/** The SCRAM users the stack creates (decision 0110); passwords live in `.stack/kafka/scram-users.json`. */
export const SCRAM_USERS = ['admin', 'pipeline', 'producer', 'limited'] as const;
export type ScramUser = (typeof SCRAM_USERS)[number];
export const SCRAM_MECHANISM = 'SCRAM-SHA-512';

/**
 * Two client listeners on one broker: PLAINTEXT, which the stack itself and the existing tests use,
 * and SASL_SSL with SCRAM-SHA-512. ACLs are enforced by the StandardAuthorizer on both; PLAINTEXT
 * and the controller listener authenticate nobody, so their principal is User:ANONYMOUS, which is a
 * super user here (a loopback convenience a real cluster must not copy; decision 0110).
 */
export function kafkaServerProperties(dataDir: string, ports: KafkaPorts, tls?: KafkaTls, host = dataPlaneHost()): string {
  const sasl = tls && ports.sasl ? `SASL_SSL://${host}:${ports.sasl}` : undefined;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${ports.controller}`,
    `listeners=${[`PLAINTEXT://${host}:${ports.broker}`, sasl, `CONTROLLER://127.0.0.1:${ports.controller}`].filter(Boolean).join(',')}`,
    `advertised.listeners=${[`PLAINTEXT://${host}:${ports.broker}`, sasl].filter(Boolean).join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    ...(sasl && tls
      ? [
          `listener.name.sasl_ssl.sasl.enabled.mechanisms=${SCRAM_MECHANISM}`,
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
          'listener.name.sasl_ssl.ssl.keystore.type=PEM',
          `listener.name.sasl_ssl.ssl.keystore.location=${tls.keystore}`,
        ]
      : []),
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users=User:ANONYMOUS;User:admin',
    'allow.everyone.if.no.acl.found=false',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // The operator owns topic creation; a typo in a topic name should fail, not invent a topic.
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    '',
  ].join('\n');
}

const LOG4J2 = [
  'status = warn',
  'appender.console.type = Console',
  'appender.console.name = STDOUT',
  'appender.console.layout.type = PatternLayout',
  'appender.console.layout.pattern = [%d] %p %m (%c)%n',
  'rootLogger.level = INFO',
  'rootLogger.appenderRef.stdout.ref = STDOUT',
  'logger.statechange.name = state.change.logger',
  'logger.statechange.level = WARN',
  'logger.request.name = kafka.request.logger',
  'logger.request.level = WARN',
  '',
].join('\n');

/**
 * A random cluster id in Kafka's form (16 bytes, base64url). Like Kafka's own Uuid.randomUuid, never
 * one that starts with '-': kafka-storage would read it as an option (1 start in 64 failed so).
 */
export function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The stack's SCRAM users and their passwords: made once per stack directory, kept across restarts. */
export function scramUsers(dir: string): Record<ScramUser, string> {
  const file = path.join(dir, 'scram-users.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<ScramUser, string>;
  } catch {
    const users = Object.fromEntries(SCRAM_USERS.map((user) => [user, crypto.randomBytes(12).toString('base64url')])) as Record<ScramUser, string>;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(users, null, 2) + '\n', { mode: 0o600 });
    return users;
  }
}

function jvmArgs(libDir: string, log4j: string): string[] {
  return ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', `${libDir}/*`];
}

const scramConfig = (password: string) => `${SCRAM_MECHANISM}=[iterations=4096,password=${password}]`;

export async function startKafka(libDir: string, dir: string, ports: KafkaPorts, clusterId: string, logFile: string, tls?: KafkaTls): Promise<number> {
  const dataDir = path.join(dir, 'data');
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const properties = path.join(configDir, 'server.properties');
  fs.writeFileSync(properties, kafkaServerProperties(dataDir, ports, tls));
  const log4j = path.join(configDir, 'log4j2.properties');
  fs.writeFileSync(log4j, LOG4J2);
  const jvm = ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', ...jvmArgs(libDir, log4j)];
  const users = scramUsers(dir);
  // Credentials are made at format time in KRaft; a data directory formatted before the SASL
  // listener existed gets them through the Admin API once the broker is up (marker file below).
  const applied = path.join(dir, 'scram-applied');
  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    const scram = Object.entries(users).flatMap(([name, password]) => ['--add-scram', `${SCRAM_MECHANISM}=[name=${name},iterations=4096,password=${password}]`]);
    await runLogged('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties, ...scram], { cwd: dir, logFile });
    fs.writeFileSync(applied, '');
  }
  const pid = startDaemon('java', [...jvm, 'kafka.Kafka', properties], { cwd: dir, logFile });
  await waitUntil('kafka', () => kafkaHealthy(`${dataPlaneHost()}:${ports.broker}`), { deadlineMs: 90_000, pid, logFile, intervalMs: 500 });
  if (!fs.existsSync(applied)) {
    for (const [name, password] of Object.entries(users)) await setScramCredential(libDir, dir, `${dataPlaneHost()}:${ports.broker}`, name, password, logFile);
    fs.writeFileSync(applied, '');
  }
  if (tls && ports.sasl) await waitUntil('kafka SASL_SSL listener', () => kafkaHealthy(`${dataPlaneHost()}:${ports.sasl}`, { caFile: tls.caFile, username: 'admin', password: users.admin }), { deadlineMs: 60_000, pid, logFile, intervalMs: 500 });
  return pid;
}

/**
 * Creates or changes a user's SCRAM-SHA-512 credential (kafka-configs over the PLAINTEXT listener,
 * whose ANONYMOUS principal is a super user here). Tests rotate passwords with it.
 */
export async function setScramCredential(libDir: string, dir: string, plaintextBootstrap: string, user: string, password: string, logFile: string): Promise<void> {
  const log4j = path.join(dir, 'config', 'log4j2.properties');
  await runLogged('java', ['-Xmx256m', '-XX:TieredStopAtLevel=1', ...jvmArgs(libDir, log4j), 'kafka.admin.ConfigCommand', '--bootstrap-server', plaintextBootstrap, '--alter', '--add-config', scramConfig(password), '--entity-type', 'users', '--entity-name', user], { cwd: dir, logFile: logFile.replace(/\.log$/, '-admin.log') });
}

/**
 * Healthy when the broker answers metadata with itself as the one broker and a controller; with
 * `sasl`, over the SASL_SSL listener as that user, the broker's certificate checked against `caFile`.
 */
export async function kafkaHealthy(bootstrap: string, sasl?: { caFile: string; username: string; password: string }): Promise<boolean> {
  const security = sasl ? { ssl: { ca: [fs.readFileSync(sasl.caFile, 'utf8')] }, sasl: { mechanism: 'scram-sha-512' as const, username: sasl.username, password: sasl.password } } : {};
  const admin = new Kafka({ clientId: 'adpipe-stack', brokers: [bootstrap], logLevel: logLevel.NOTHING, connectionTimeout: sasl ? 3000 : 1000, requestTimeout: 2000, retry: { retries: 0 }, ...security }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length === 1 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
