import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient } from '../controller/kube.js';
import { pipelineAcls, toKafkajsAcls } from '../render/acls.js';
import { namespaceOf } from '../render/names.js';
import { checkCredentials } from './credentials.js';
import type { KafkaAdminPool } from './kafka.js';
import { servesPipeline, type KafkaIdentity } from './kafka-identity.js';
import { secretValue, type Change } from './topics.js';

/**
 * The operator grants each pipeline's workers their ACLs (decision 0111) when it is given an ACL
 * admin identity (`--kafka-acl-admin-config`, a principal allowed to alter ACLs). A pipeline on
 * brokers the identity does not name is left alone (kafka-identity.ts). The principal granted is
 * the SASL username in the pipeline's opted-in Secret.
 */

/** Whether the operator manages this pipeline's worker ACLs: SASL set, and every broker the admin's. Pure. */
export function managesAcls(admin: KafkaIdentity, pipeline: AdPipeline): boolean {
  return pipeline.spec.kafka.sasl !== undefined && servesPipeline(admin, pipeline);
}

async function workerEntries(kube: KubeClient, pipeline: AdPipeline) {
  const ref = pipeline.spec.kafka.sasl!.secretRef;
  const username = await secretValue(kube, namespaceOf(pipeline), ref.name, ref.usernameKey ?? 'username');
  return { principal: `User:${username}`, entries: toKafkajsAcls(pipelineAcls(pipeline, 'workers', username)) };
}

/** Grants what the workers' principal lacks; a change when something was granted. */
export async function grantWorkerAcls(kube: KubeClient, pool: KafkaAdminPool, admin: KafkaIdentity, pipeline: AdPipeline): Promise<Change | undefined> {
  const { principal, entries } = await workerEntries(kube, pipeline);
  const created = await pool.cluster(admin.connection).grantAcls(principal, entries);
  return created ? { reason: 'WorkerAclsGranted', note: `granted ${principal} ${created} ACLs of the workers' role (sources, group, dead letters, internal topic, transactional ids)` } : undefined;
}

/** Removes the workers' grants of a deleted pipeline (only Secrets that opted in are read). */
export async function revokeWorkerAcls(kube: KubeClient, pool: KafkaAdminPool, admin: KafkaIdentity, pipeline: AdPipeline): Promise<void> {
  if (!managesAcls(admin, pipeline) || (await checkCredentials(kube, pipeline)).heldBack) return;
  const { entries } = await workerEntries(kube, pipeline);
  await pool.cluster(admin.connection).revokeAcls(entries);
}
