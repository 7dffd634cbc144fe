import { HBaseClient } from '../../hbase/index.js';
import { shortHash } from '../render/hash.js';
import type { DesiredFamily, DesiredTable } from '../render/table.js';
import type { HBaseConnection, ObservedTable, TableAdmin, TableAdmins } from './table.js';

/**
 * TableAdmin over the HBase module (hbase/index.ts): one HBaseClient per cluster. Operations get a
 * short deadline: an unreachable HBase should turn into StorageReady=False and the work queue's
 * backoff quickly, not into a reconcile that hangs for a minute.
 */

const familySpec = (family: DesiredFamily) => ({
  name: family.name,
  ttlSeconds: family.ttlSeconds,
  maxVersions: family.maxVersions,
  compression: family.compression,
  bloomFilter: family.bloomFilter,
  encryption: family.encryption,
});

class HBaseTableAdmin implements TableAdmin {
  calls = 0;
  constructor(private readonly client: HBaseClient) {}

  async describe(table: string): Promise<ObservedTable | undefined> {
    this.calls++;
    const description = await this.client.admin.describeTable(table);
    if (!description) return undefined;
    this.calls++;
    const regions = await this.client.admin.listRegions(table);
    return {
      name: description.name,
      enabled: description.enabled,
      families: description.families.map((f) => ({
        name: f.name,
        ttlSeconds: f.ttlSeconds ?? Number.POSITIVE_INFINITY,
        compression: f.compression,
        bloomFilter: f.bloomFilter,
        maxVersions: f.maxVersions,
        encryption: f.encryption,
      })),
      regions: regions.length,
    };
  }

  create(table: DesiredTable): Promise<void> {
    this.calls++;
    return this.client.admin.createTable({ name: table.name, families: table.families.map(familySpec), splitKeys: table.splitKeys });
  }

  addFamily(table: string, family: DesiredFamily): Promise<void> {
    this.calls++;
    return this.client.admin.addFamily(table, familySpec(family));
  }

  modifyFamily(table: string, family: DesiredFamily): Promise<void> {
    this.calls++;
    // modifyFamily replaces the whole descriptor: familySpec carries every setting we own.
    return this.client.admin.modifyFamily(table, familySpec(family));
  }

  drop(table: string): Promise<void> {
    this.calls++;
    return this.client.admin.deleteTable(table, { ifExists: true });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}

export interface HBaseAdminOptions {
  operationTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export function hbaseTableAdmins(options: HBaseAdminOptions = {}): TableAdmins {
  const admins = new Map<string, HBaseTableAdmin>();
  return {
    admin(connection: HBaseConnection): TableAdmin {
      // One client per cluster and TLS material: a rotated certificate is used from the next
      // reconcile on; the superseded client keeps its idle connections until close().
      const key = `${connection.zookeeperQuorum}|${connection.znodeParent}|${connection.tls ? shortHash(JSON.stringify(connection.tls)) : 'plaintext'}`;
      let admin = admins.get(key);
      if (!admin) {
        const client = new HBaseClient({
          zookeeperQuorum: connection.zookeeperQuorum,
          znodeParent: connection.znodeParent,
          user: 'adpipe-operator',
          operationTimeoutMs: options.operationTimeoutMs ?? 15_000,
          connectTimeoutMs: options.connectTimeoutMs ?? 3000,
          rpcTimeoutMs: 10_000,
          ...(connection.tls ? { tls: connection.tls } : {}),
        });
        admin = new HBaseTableAdmin(client);
        admins.set(key, admin);
      }
      return admin;
    },
    get calls() {
      let total = 0;
      for (const admin of admins.values()) total += admin.calls;
      return total;
    },
    async close() {
      await Promise.all([...admins.values()].map((a) => a.close()));
      admins.clear();
    },
  };
}
