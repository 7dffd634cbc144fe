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
}

export function kafkaServerProperties(dataDir: string, ports: KafkaPorts, host = dataPlaneHost()): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${ports.controller}`,
    `listeners=PLAINTEXT://${host}:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
    `advertised.listeners=PLAINTEXT://${host}:${ports.broker}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
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

export async function startKafka(libDir: string, dir: string, ports: KafkaPorts, clusterId: string, logFile: string): Promise<number> {
  const dataDir = path.join(dir, 'data');
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  const properties = path.join(configDir, 'server.properties');
  fs.writeFileSync(properties, kafkaServerProperties(dataDir, ports));
  const log4j = path.join(configDir, 'log4j2.properties');
  fs.writeFileSync(log4j, LOG4J2);
  const classpath = `${libDir}/*`;
  const jvm = ['-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];

  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    await runLogged('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], { cwd: dir, logFile });
  }
  const pid = startDaemon('java', [...jvm, 'kafka.Kafka', properties], { cwd: dir, logFile });
  await waitUntil('kafka', () => kafkaHealthy(`${dataPlaneHost()}:${ports.broker}`), { deadlineMs: 90_000, pid, logFile, intervalMs: 500 });
  return pid;
}

/** Healthy when the broker answers metadata with itself as the one broker and a controller. */
export async function kafkaHealthy(bootstrap: string): Promise<boolean> {
  const admin = new Kafka({ clientId: 'adpipe-stack', brokers: [bootstrap], logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 } }).admin();
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
