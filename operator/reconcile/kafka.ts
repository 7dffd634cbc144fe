import crypto from 'node:crypto';
import kafkajs, { type AclEntry, type Admin, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { Batcher, type Outcome } from '../controller/batch.js';
import type { ObservedTopic } from '../render/topics.js';
import { describeError, OperatorError } from './errors.js';
import { incrementalAlterConfigs, protocolCluster } from './incremental-alter-configs.js';
import { isConnectionError } from '../../kafka/errors.js';

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ConfigResourceTypes, Kafka, logLevel, ResourcePatternTypes } = kafkajs;

/**
 * Kafka admin access for all pipelines: one admin client per cluster (brokers + credentials), and per
 * cluster one batcher per operation, so N pipelines reconciling at once cost one metadata call, one
 * describeConfigs, one createTopics… instead of N of each.
 */

export interface KafkaConnection {
  brokers: string[];
  ssl?: { ca?: string; cert?: string; key?: string } | true;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export function kafkaError(what: string, error: unknown): OperatorError {
  if (isConnectionError(error)) return new OperatorError('KAFKA_UNAVAILABLE', `Kafka is unreachable while ${what}: ${describeError(error)}`, true, { cause: error });
  return new OperatorError('KAFKA_TOPIC_OPERATION', `Kafka refused ${what}: ${describeError(error)}`, (error as { retriable?: boolean }).retriable !== false, { cause: error });
}

class ClusterAdmin {
  private admin: Admin | undefined;
  /** Admin requests sent (listTopics, metadata, describeConfigs, create, alter...), for the bench. */
  rpcs = 0;
  private connecting: Promise<Admin> | undefined;
  readonly observe: Batcher<string, ObservedTopic | undefined>;
  readonly create: Batcher<TopicSpec, void>;
  readonly raise: Batcher<{ name: string; count: number }, void>;
  readonly alter: Batcher<{ name: string; configs: Record<string, string> }, void>;
  /** The protocol-level client IncrementalAlterConfigs goes through (kafkajs's admin has no such call). */
  private protocol: ReturnType<typeof protocolCluster> | undefined;
  readonly remove: Batcher<string, void>;

  constructor(
    private readonly config: KafkaConfig,
    lingerMs: number,
  ) {
    const opts = { lingerMs };
    this.observe = new Batcher((names) => this.observeBatch(names), opts);
    this.create = new Batcher((topics) => this.createBatch(topics), opts);
    this.raise = new Batcher((items) => this.raiseBatch(items), opts);
    this.alter = new Batcher((items) => this.alterBatch(items), opts);
    this.remove = new Batcher((names) => this.removeBatch(names), opts);
  }

  get calls(): number {
    return this.observe.calls + this.create.calls + this.raise.calls + this.alter.calls + this.remove.calls;
  }

  private async connected(): Promise<Admin> {
    if (this.admin) return this.admin;
    this.connecting ??= (async () => {
      const admin = new Kafka(this.config).admin();
      try {
        await admin.connect();
      } catch (error) {
        await admin.disconnect().catch(() => undefined);
        throw error;
      }
      this.admin = admin;
      return admin;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** After a connection failure the next call starts from a fresh client. */
  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.connected();
    try {
      return await fn(admin);
    } catch (error) {
      if (isConnectionError(error) && this.admin === admin) {
        this.admin = undefined;
        await admin.disconnect().catch(() => undefined);
      }
      throw error;
    }
  }

  private async observeBatch(names: string[]): Promise<Outcome<ObservedTopic | undefined>[]> {
    return this.withAdmin(async (admin) => {
      this.rpcs++;
      const existing = new Set(await admin.listTopics());
      const wanted = [...new Set(names.filter((name) => existing.has(name)))];
      const observed = new Map<string, ObservedTopic>();
      if (wanted.length) {
        this.rpcs += 2;
        const metadata = await admin.fetchTopicMetadata({ topics: wanted });
        const configs = await admin.describeConfigs({ includeSynonyms: false, resources: wanted.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) });
        const overrides = new Map<string, Record<string, string>>();
        for (const resource of configs.resources) {
          const own: Record<string, string> = {};
          // configSource 1 = DYNAMIC_TOPIC_CONFIG: an override set on this topic, by us or anyone.
          for (const entry of resource.configEntries) if ((entry as { configSource?: number }).configSource === 1 && !entry.isSensitive) own[entry.configName] = entry.configValue;
          overrides.set(resource.resourceName, own);
        }
        for (const topic of metadata.topics) {
          observed.set(topic.name, {
            partitions: topic.partitions.length,
            replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
            overrides: overrides.get(topic.name) ?? {},
          });
        }
      }
      return names.map((name) => ({ ok: true as const, value: observed.get(name) }));
    });
  }

  private async createBatch(topics: TopicSpec[]): Promise<Outcome<void>[]> {
    return this.withAdmin(async (admin) => {
      const unique = [...new Map(topics.map((t) => [t.name, t])).values()];
      const failed = new Map<string, unknown>();
      this.rpcs++;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          timeout: 10_000,
          topics: unique.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })) })),
        });
      } catch (error) {
        const errors = (error as { errors?: Array<{ topic?: string; type?: string }> }).errors;
        if (!Array.isArray(errors)) throw error;
        for (const e of errors) if (e.topic && e.type !== 'TOPIC_ALREADY_EXISTS') failed.set(e.topic, e);
      }
      return topics.map((t) => (failed.has(t.name) ? { ok: false as const, error: failed.get(t.name) } : { ok: true as const, value: undefined }));
    });
  }

  private async raiseBatch(items: Array<{ name: string; count: number }>): Promise<Outcome<void>[]> {
    return this.withAdmin(async (admin) => {
      const unique = [...new Map(items.map((i) => [i.name, i])).values()];
      this.rpcs++;
      try {
        await admin.createPartitions({ timeout: 10_000, topicPartitions: unique.map((i) => ({ topic: i.name, count: i.count })) });
        return items.map(() => ({ ok: true as const, value: undefined }));
      } catch (error) {
        if (isConnectionError(error) || unique.length === 1) throw error;
        // The response names no topic per error: retry each alone so one bad item fails alone.
        this.rpcs += unique.length;
        const single = await Promise.all(unique.map((i) => admin.createPartitions({ timeout: 10_000, topicPartitions: [{ topic: i.name, count: i.count }] }).then(() => undefined, (e: unknown) => e)));
        const byName = new Map(unique.map((i, n) => [i.name, single[n]]));
        return items.map((i) => (byName.get(i.name) ? { ok: false as const, error: byName.get(i.name) } : { ok: true as const, value: undefined }));
      }
    });
  }

  /**
   * Sets only the given keys (IncrementalAlterConfigs): overrides someone else put on the topic stay
   * (decision 0100; the plain AlterConfigs would replace the whole override set).
   */
  private async alterBatch(items: Array<{ name: string; configs: Record<string, string> }>): Promise<Outcome<void>[]> {
    const unique = [...new Map(items.map((i) => [i.name, i])).values()];
    this.rpcs++;
    let results;
    try {
      this.protocol ??= protocolCluster(new Kafka(this.config));
      await this.protocol.connect();
      results = await incrementalAlterConfigs(this.protocol, unique.map((i) => ({ name: i.name, set: i.configs })));
    } catch (error) {
      const protocol = this.protocol;
      this.protocol = undefined;
      await protocol?.disconnect().catch(() => undefined);
      throw error;
    }
    const errors = new Map<string, string>();
    for (const r of results) if (r.errorCode) errors.set(r.name, `error ${r.errorCode}${r.errorMessage ? ` ${r.errorMessage}` : ''}`);
    return items.map((i) => (errors.has(i.name) ? { ok: false as const, error: new Error(`incrementalAlterConfigs ${i.name}: ${errors.get(i.name)}`) } : { ok: true as const, value: undefined }));
  }

  private async removeBatch(names: string[]): Promise<Outcome<void>[]> {
    return this.withAdmin(async (admin) => {
      this.rpcs++;
      const existing = new Set(await admin.listTopics());
      const unique = [...new Set(names)].filter((name) => existing.has(name));
      if (unique.length) this.rpcs++;
      if (unique.length) await admin.deleteTopics({ topics: unique, timeout: 10_000 });
      return names.map(() => ({ ok: true as const, value: undefined }));
    });
  }

  /**
   * Creates the entries the principal does not hold yet (one describeAcls for the principal, then
   * one createAcls for what is missing); returns how many were created.
   */
  async grantAcls(principal: string, entries: AclEntry[]): Promise<number> {
    return this.withAdmin(async (admin) => {
      this.rpcs++;
      const held = await admin.describeAcls({ principal, resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ALLOW });
      const key = (e: { resourceType: number; resourceName: string; resourcePatternType: number; operation: number; host: string }) => `${e.resourceType}|${e.resourcePatternType}|${e.resourceName}|${e.operation}|${e.host}`;
      const have = new Set(held.resources.flatMap((r) => r.acls.filter((acl) => acl.principal === principal).map((acl) => key({ ...r, operation: acl.operation, host: acl.host }))));
      const missing = entries.filter((entry) => !have.has(key(entry)));
      if (missing.length) {
        this.rpcs++;
        await admin.createAcls({ acl: missing });
      }
      return missing.length;
    });
  }

  /** Deletes exactly these entries (no wildcard filters). */
  async revokeAcls(entries: AclEntry[]): Promise<void> {
    if (!entries.length) return;
    await this.withAdmin(async (admin) => {
      this.rpcs++;
      await admin.deleteAcls({ filters: entries });
    });
  }

  /**
   * Fails with the broker's refusal unless this identity may see these topics and this group
   * (Describe, which Read and Write imply): the workers' access check (workers-access.ts).
   */
  async describeAccess(topics: string[], group: string): Promise<void> {
    await this.withAdmin(async (admin) => {
      this.rpcs += 2;
      await admin.fetchTopicMetadata({ topics });
      await admin.describeGroups([group]);
    });
  }

  async close(): Promise<void> {
    const admin = this.admin;
    const protocol = this.protocol;
    this.admin = undefined;
    this.protocol = undefined;
    await admin?.disconnect().catch(() => undefined);
    await protocol?.disconnect().catch(() => undefined);
  }
}

export interface KafkaPoolOptions {
  lingerMs?: number;
  /** Close a cluster's client after this long without use (default 1 h). */
  idleMs?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** One ClusterAdmin per distinct connection; the key is a hash, so credentials never become a map key. */
export class KafkaAdminPool {
  private readonly clusters = new Map<string, ClusterAdmin>();
  private readonly lastUsed = new Map<string, number>();
  /** Requests of clients closed for idleness, so the totals stay monotonic. */
  private closedRpcs = 0;
  private closedCalls = 0;

  constructor(private readonly options: KafkaPoolOptions = {}) {}

  cluster(connection: KafkaConnection): ClusterAdmin {
    const key = crypto.createHash('sha256').update(JSON.stringify([[...connection.brokers].sort(), connection.ssl ?? null, connection.sasl ?? null])).digest('hex');
    this.evictIdle(key);
    this.lastUsed.set(key, Date.now());
    let cluster = this.clusters.get(key);
    if (!cluster) {
      const config: KafkaConfig = {
        clientId: 'adpipe-operator',
        brokers: connection.brokers,
        logLevel: logLevel.NOTHING,
        connectionTimeout: this.options.connectionTimeoutMs ?? 3000,
        requestTimeout: this.options.requestTimeoutMs ?? 15_000,
        // Retries belong to the work queue's per-pipeline backoff, not to the client.
        retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
      };
      if (connection.ssl) config.ssl = connection.ssl === true ? true : { ...connection.ssl };
      if (connection.sasl) config.sasl = { mechanism: connection.sasl.mechanism, username: connection.sasl.username, password: connection.sasl.password } as SASLOptions;
      cluster = new ClusterAdmin(config, this.options.lingerMs ?? 20);
      this.clusters.set(key, cluster);
    }
    return cluster;
  }

  /**
   * Rotated credentials or a deleted pipeline leave a client nobody uses: close those idle for
   * longer than `idleMs` (far above the drift-check interval).
   */
  private evictIdle(current: string): void {
    const idleMs = this.options.idleMs ?? 3_600_000;
    const now = Date.now();
    for (const [key, used] of this.lastUsed) {
      if (key === current || now - used < idleMs) continue;
      const cluster = this.clusters.get(key);
      if (cluster) {
        this.closedRpcs += cluster.rpcs;
        this.closedCalls += cluster.calls;
        void cluster.close();
      }
      this.clusters.delete(key);
      this.lastUsed.delete(key);
    }
  }

  /** Admin batches run (each one or more requests). */
  get calls(): number {
    let total = this.closedCalls;
    for (const cluster of this.clusters.values()) total += cluster.calls;
    return total;
  }

  /** Admin requests sent to Kafka. */
  get rpcs(): number {
    let total = this.closedRpcs;
    for (const cluster of this.clusters.values()) total += cluster.rpcs;
    return total;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clusters.values()].map((c) => c.close()));
    this.clusters.clear();
  }
}
