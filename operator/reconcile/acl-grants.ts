import fs from 'node:fs';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { clientSecurity, parseProperties } from '../../producer/index.js';
import type { KubeClient } from '../controller/kube.js';
import { pipelineAcls, toKafkajsAcls } from '../render/acls.js';
import { namespaceOf } from '../render/names.js';
import { checkCredentials } from './credentials.js';
import type { KafkaAdminPool, KafkaConnection } from './kafka.js';
import { secretValue, type Change } from './topics.js';

/**
 * The operator grants each pipeline's workers their ACLs (decision 0111) when it is given an ACL
 * admin identity: a Kafka client properties file (`--kafka-acl-admin-config`) with
 * `bootstrap.servers` and a principal allowed to alter ACLs. That identity is only ever sent to the
 * brokers the file names: a pipeline whose `spec.kafka.bootstrapServers` are not all among them is
 * left alone (its author chose those brokers, not the platform team). The principal granted is the
 * SASL username in the pipeline's opted-in Secret.
 */
export interface AclAdmin {
  brokers: string[];
  connection: KafkaConnection;
}

export function loadAclAdmin(file: string): AclAdmin {
  const properties = parseProperties(fs.readFileSync(file, 'utf8'));
  const brokers = (properties.get('bootstrap.servers') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (!brokers.length) throw new Error(`${file}: bootstrap.servers is required (the ACL admin's credentials go to these brokers only)`);
  const security = clientSecurity(properties, file);
  const connection: KafkaConnection = { brokers };
  if (security.ssl) connection.ssl = security.ssl === true ? true : { ...(security.ssl.ca ? { ca: security.ssl.ca.join('\n') } : {}), ...(security.ssl.cert ? { cert: security.ssl.cert, key: security.ssl.key } : {}) };
  if (security.sasl) connection.sasl = security.sasl;
  return { brokers, connection };
}

/** Whether the operator manages this pipeline's worker ACLs: SASL set, and every broker the admin's. Pure. */
export function managesAcls(admin: AclAdmin, pipeline: AdPipeline): boolean {
  return pipeline.spec.kafka.sasl !== undefined && pipeline.spec.kafka.bootstrapServers.every((broker) => admin.brokers.includes(broker));
}

async function workerEntries(kube: KubeClient, pipeline: AdPipeline) {
  const ref = pipeline.spec.kafka.sasl!.secretRef;
  const username = await secretValue(kube, namespaceOf(pipeline), ref.name, ref.usernameKey ?? 'username');
  return { principal: `User:${username}`, entries: toKafkajsAcls(pipelineAcls(pipeline, 'workers', username)) };
}

/** Grants what the workers' principal lacks; a change when something was granted. */
export async function grantWorkerAcls(kube: KubeClient, pool: KafkaAdminPool, admin: AclAdmin, pipeline: AdPipeline): Promise<Change | undefined> {
  const { principal, entries } = await workerEntries(kube, pipeline);
  const created = await pool.cluster(admin.connection).grantAcls(principal, entries);
  return created ? { reason: 'WorkerAclsGranted', note: `granted ${principal} ${created} ACLs of the workers' role (sources, group, dead letters, internal topic, transactional ids)` } : undefined;
}

/** Removes the workers' grants of a deleted pipeline (only Secrets that opted in are read). */
export async function revokeWorkerAcls(kube: KubeClient, pool: KafkaAdminPool, admin: AclAdmin, pipeline: AdPipeline): Promise<void> {
  if (!managesAcls(admin, pipeline) || (await checkCredentials(kube, pipeline)).heldBack) return;
  const { entries } = await workerEntries(kube, pipeline);
  await pool.cluster(admin.connection).revokeAcls(entries);
}
