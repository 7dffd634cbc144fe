import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { tableClaimant } from '../render/claims.js';
import { desiredTable, type DesiredFamily, type DesiredTable } from '../render/table.js';
import { Reason, type ComponentReport } from './conditions.js';
import { describeError } from './errors.js';
import type { Change } from './topics.js';
import { ANNOTATIONS } from '../../api/v1alpha1/index.js';
import type { Ownership } from '../render/ownership.js';
import type { KubeClient } from '../controller/kube.js';
import { namespaceOf } from '../render/names.js';
import { checkCredentials } from './credentials.js';
import { OperatorError } from './errors.js';
import { secretValue } from './topics.js';

/**
 * The HBase table of a pipeline. The operator talks to HBase only through `TableAdmin`, a small
 * interface over the HBase module's admin API (hbase/index.ts), so this reconciler is tested with
 * the real module and never grows its own HBase client.
 */

export interface ObservedFamily {
  name: string;
  ttlSeconds: number;
  compression?: string;
  bloomFilter?: string;
  maxVersions?: number;
  encryption?: string;
}

export interface ObservedTable {
  name: string;
  enabled: boolean;
  families: ObservedFamily[];
  regions: number;
}

export interface TableAdmin {
  describe(table: string): Promise<ObservedTable | undefined>;
  create(table: DesiredTable): Promise<void>;
  addFamily(table: string, family: DesiredFamily): Promise<void>;
  modifyFamily(table: string, family: DesiredFamily): Promise<void>;
  /** Disables (when enabled) and deletes; a missing table is not an error. */
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}

export interface HBaseConnection {
  zookeeperQuorum: string;
  znodeParent: string;
  /** PEM values read from the Secrets spec.hbase.tls names (opted in with adpipe.io/credentials=hbase). */
  tls?: { ca?: string; cert?: string; key?: string };
}

/** Hands out one TableAdmin per HBase cluster. */
export interface TableAdmins {
  admin(connection: HBaseConnection): TableAdmin;
  /** Admin requests sent to HBase, for the bench. */
  readonly calls: number;
  close(): Promise<void>;
}

export interface TableOutcome {
  report: ComponentReport;
  changes: Change[];
  table: string;
}

/** The operator's own connection to the pipeline's HBase; TLS material only from Secrets that opted in. */
export async function hbaseConnection(kube: KubeClient, pipeline: AdPipeline): Promise<HBaseConnection> {
  const spec = pipeline.spec.hbase;
  const connection: HBaseConnection = { zookeeperQuorum: spec.zookeeperQuorum, znodeParent: spec.znodeParent ?? '/hbase' };
  if (!spec.tls?.enabled) return connection;
  const { heldBack: refused } = await checkCredentials(kube, pipeline, 'hbase');
  if (refused) throw new OperatorError(refused.reason === Reason.SecretNotAllowed ? 'SECRET_NOT_ALLOWED' : 'SECRET_NOT_FOUND', refused.message, refused.retrying === true);
  const namespace = namespaceOf(pipeline);
  const tls: NonNullable<HBaseConnection['tls']> = {};
  if (spec.tls.caSecretRef) tls.ca = await secretValue(kube, namespace, spec.tls.caSecretRef.name, spec.tls.caSecretRef.key ?? 'ca.crt');
  if (spec.tls.clientCertSecretRef) {
    tls.cert = await secretValue(kube, namespace, spec.tls.clientCertSecretRef.name, 'tls.crt');
    tls.key = await secretValue(kube, namespace, spec.tls.clientCertSecretRef.name, 'tls.key');
  }
  connection.tls = tls;
  return connection;
}

/** Families to add or change; pure. TTL is the one property that follows the spec online. */
export function diffTable(desired: DesiredTable, observed: ObservedTable): { add: DesiredFamily[]; modify: Array<{ family: DesiredFamily; from: ObservedFamily }> } {
  const byName = new Map(observed.families.map((f) => [f.name, f]));
  const add: DesiredFamily[] = [];
  const modify: Array<{ family: DesiredFamily; from: ObservedFamily }> = [];
  for (const family of desired.families) {
    const actual = byName.get(family.name);
    if (!actual) add.push(family);
    else if (
      actual.ttlSeconds !== family.ttlSeconds ||
      (actual.compression !== undefined && actual.compression !== family.compression) ||
      (actual.bloomFilter !== undefined && actual.bloomFilter !== family.bloomFilter) ||
      (actual.encryption !== undefined && actual.encryption !== family.encryption)
    )
      modify.push({ family, from: actual });
  }
  return { add, modify };
}

function failure(error: unknown, table: string): ComponentReport {
  if (error instanceof OperatorError && error.code === 'SECRET_NOT_ALLOWED') return { status: 'False', reason: Reason.SecretNotAllowed, message: error.message, stalled: true };
  if (error instanceof OperatorError && error.code === 'SECRET_NOT_FOUND') return { status: 'False', reason: Reason.SecretNotFound, message: error.message, retrying: true };
  if ((error as { code?: string }).code === 'TLS') {
    return { status: 'False', reason: Reason.HBaseTLSFailed, message: `TLS to HBase failed (table ${table}): ${describeError(error)}`, retrying: true };
  }
  const retriable = (error as { retriable?: boolean }).retriable !== false;
  const code = (error as { code?: string }).code;
  const unreachable = code === 'CONNECTION' || code === 'TIMEOUT' || code === 'DEADLINE_EXCEEDED' || code === 'CLOSED' || /ECONNREFUSED|ZooKeeper|connect/i.test(describeError(error));
  return unreachable
    ? { status: 'False', reason: Reason.HBaseUnavailable, message: `HBase is unreachable (table ${table}): ${describeError(error)}`, retrying: true }
    : { status: 'False', reason: Reason.TableOperationFailed, message: `table ${table}: ${describeError(error)}`, retrying: retriable, stalled: !retriable };
}

export async function reconcileTable(admins: TableAdmins | undefined, kube: KubeClient, pipeline: AdPipeline, others: AdPipeline[], ownership: Ownership): Promise<TableOutcome> {
  const desired = desiredTable(pipeline);
  const changes: Change[] = [];
  const claimant = tableClaimant(pipeline, others);
  if (claimant) {
    return { report: { status: 'False', reason: Reason.TableClaimedByAnotherPipeline, message: `table ${desired.name} belongs to AdPipeline ${claimant} (created earlier on the same HBase): set another storage.table`, stalled: true }, changes, table: desired.name };
  }
  if (!admins) {
    return { report: { status: 'Unknown', reason: Reason.StorageNotConfigured, message: 'this operator build has no HBase admin; the table is not managed' }, changes, table: desired.name };
  }
  try {
    const admin = admins.admin(await hbaseConnection(kube, pipeline));
    const observed = await admin.describe(desired.name);
    if (!observed) {
      await ownership.record({ table: desired.name });
      await admin.create(desired);
      changes.push({ reason: 'TableCreated', note: `created table ${desired.name} with families ${desired.families.map((f) => `${f.name} (TTL ${f.ttlSeconds} s)`).join(', ')} and ${desired.splitKeys.length + 1} regions` });
    } else {
      if (ownership.owned.table !== desired.name) {
        if (!ownership.consents(desired.name)) {
          const message = `table ${desired.name} exists and was not created by this AdPipeline: adpipe leaves it alone. To let this pipeline use and manage it (family TTLs; deleted under deletionPolicy Delete) annotate the AdPipeline ${ANNOTATIONS.adopt}: "true" (or list the name); else set another storage.table`;
          return { report: { status: 'False', reason: Reason.TableExists, message, stalled: true }, changes, table: desired.name };
        }
        await ownership.record({ table: desired.name });
        changes.push({ reason: 'TableAdopted', note: `adopted existing table ${desired.name} (${ANNOTATIONS.adopt})` });
      }
      const diff = diffTable(desired, observed);
      for (const family of diff.add) {
        await admin.addFamily(desired.name, family);
        changes.push({ reason: 'TableFamilyAdded', note: `added family ${family.name} to table ${desired.name}` });
      }
      for (const { family, from } of diff.modify) {
        await admin.modifyFamily(desired.name, family);
        changes.push({ reason: 'TableTTLUpdated', note: `set family ${family.name} of table ${desired.name}: TTL ${from.ttlSeconds} → ${family.ttlSeconds} s` });
      }
    }
    return { report: { status: 'True', reason: Reason.TableReady, message: `table ${desired.name} exists with the desired families and TTLs` }, changes, table: desired.name };
  } catch (error) {
    return { report: failure(error, desired.name), changes, table: desired.name };
  }
}

/** Drops the table (deletionPolicy Delete) when adpipe created or adopted it and no other live pipeline names it. */
export async function deleteTable(admins: TableAdmins | undefined, kube: KubeClient, pipeline: AdPipeline, others: AdPipeline[], owned: string | undefined): Promise<string | undefined> {
  const name = desiredTable(pipeline).name;
  if (!admins || owned !== name || tableClaimant(pipeline, others, true)) return undefined;
  await admins.admin(await hbaseConnection(kube, pipeline)).drop(name);
  return name;
}
