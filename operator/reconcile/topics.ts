import type { AdPipeline } from '../../api/v1alpha1/index.js';
import type { KubeClient, KubeObject, ResourceType } from '../controller/kube.js';
import { desiredTopics, diffTopic } from '../render/topics.js';
import { claimedTopics, sharedTopics } from '../render/claims.js';
import { namespaceOf } from '../render/names.js';
import { ANNOTATIONS } from '../../api/v1alpha1/index.js';
import type { Ownership } from '../render/ownership.js';
import { Reason, type ComponentReport } from './conditions.js';
import { checkCredentials } from './credentials.js';
import { describeError, OperatorError } from './errors.js';
import { isConnectionError, kafkaRefusal } from '../../kafka/errors.js';
import type { KafkaAdminPool, KafkaConnection } from './kafka.js';
import { servesPipeline, type KafkaIdentity } from './kafka-identity.js';

/**
 * Topics: observe (one batched metadata + describeConfigs) → desired (render) → diff (pure) → act
 * (create / raise partitions / alter configs, batched) → report (TopicsReady + one change per act).
 * Partitions are never lowered and replication factors never changed: those are reported as Stalled
 * with a reason, and everything else still proceeds.
 */

export interface Change {
  reason: string;
  note: string;
}

export interface TopicsOutcome {
  report: ComponentReport;
  changes: Change[];
  topics: string[];
  readyCount: number;
}

const SECRET: ResourceType = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
interface Secret extends KubeObject {
  data?: Record<string, string>;
}

export async function secretValue(kube: KubeClient, namespace: string, name: string, key: string): Promise<string> {
  const secret = await kube.find<Secret>(SECRET, namespace, name);
  const value = secret?.data?.[key];
  if (value === undefined) throw new OperatorError('SECRET_NOT_FOUND', `Secret ${namespace}/${name} ${secret ? `has no key '${key}'` : 'does not exist'}`, true);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The connection the workers use: the spec's brokers, with credentials from its opted-in Secrets. */
export async function specConnection(kube: KubeClient, pipeline: AdPipeline): Promise<KafkaConnection> {
  // Every path that connects (reconcile, deletion, the workers' access check) reads only Secrets that opted in.
  const { heldBack: refused } = await checkCredentials(kube, pipeline);
  if (refused) throw new OperatorError(refused.reason === Reason.SecretNotAllowed ? 'SECRET_NOT_ALLOWED' : 'SECRET_NOT_FOUND', refused.message, refused.retrying === true);
  const spec = pipeline.spec.kafka;
  const namespace = namespaceOf(pipeline);
  const connection: KafkaConnection = { brokers: [...spec.bootstrapServers] };
  if (spec.tls?.enabled) {
    const ssl: { ca?: string; cert?: string; key?: string } = {};
    if (spec.tls.caSecretRef) ssl.ca = await secretValue(kube, namespace, spec.tls.caSecretRef.name, spec.tls.caSecretRef.key ?? 'ca.crt');
    if (spec.tls.clientCertSecretRef) {
      ssl.cert = await secretValue(kube, namespace, spec.tls.clientCertSecretRef.name, 'tls.crt');
      ssl.key = await secretValue(kube, namespace, spec.tls.clientCertSecretRef.name, 'tls.key');
    }
    connection.ssl = Object.keys(ssl).length ? ssl : true;
  }
  if (spec.sasl) {
    const ref = spec.sasl.secretRef;
    connection.sasl = {
      mechanism: spec.sasl.mechanism,
      username: await secretValue(kube, namespace, ref.name, ref.usernameKey ?? 'username'),
      password: await secretValue(kube, namespace, ref.name, ref.passwordKey ?? 'password'),
    };
  }
  return connection;
}

/**
 * Whose credentials a Kafka call went out with: the operator's own identity (`--kafka-admin-config`,
 * decision 0115), or the spec's Secret acting for the operator (no own identity for these brokers)
 * or for the workers (the access check). Messages name the file or the Secret, never a value.
 */
export type KafkaPrincipal = { own: KafkaIdentity } | { spec: 'operator' | 'workers' };

/** Who manages the pipeline's topics: the operator's own identity where it serves the brokers, else the spec's credentials. */
export function topicAdmin(pipeline: AdPipeline, own: KafkaIdentity | undefined): KafkaPrincipal {
  return servesPipeline(own, pipeline) ? { own } : { spec: 'operator' };
}

export async function connectionOf(kube: KubeClient, pipeline: AdPipeline, principal: KafkaPrincipal): Promise<KafkaConnection> {
  return 'own' in principal ? principal.own.connection : specConnection(kube, pipeline);
}

const ROLE_ACLS = {
  operator: 'the operator ACLs of docs/security.md (create, alter, describe, delete on the pipeline\'s topics)',
  workers: "the workers' ACLs of docs/security.md (read the sources and the group, read and write the tasks topic, write the dead letters, write the transactional ids)",
};

/**
 * A failure as a report. Refusals by the broker (credentials, ACLs, certificate) are retried with the
 * queue's backoff, not Stalled: the fix (a granted ACL, a rotated password) is made outside the
 * cluster, where the operator cannot see it happen.
 */
export function failure(error: unknown, pipeline: AdPipeline, principal: KafkaPrincipal = { spec: 'operator' }): ComponentReport {
  if (error instanceof OperatorError && error.code === 'SECRET_NOT_ALLOWED') return { status: 'False', reason: Reason.SecretNotAllowed, message: error.message, stalled: true };
  if (error instanceof OperatorError && error.code === 'SECRET_NOT_FOUND') return { status: 'False', reason: Reason.SecretNotFound, message: error.message, retrying: true };
  const refusal = kafkaRefusal(error);
  const kafka = pipeline.spec.kafka;
  const brokers = kafka.bootstrapServers.join(',');
  const own = 'own' in principal ? principal.own : undefined;
  const forWorkers = 'spec' in principal && principal.spec === 'workers';
  const whose = own ? "the operator's own principal" : forWorkers ? "the workers' principal" : "the pipeline's principal";
  if (refusal?.kind === 'authentication') {
    const user = own
      ? `the operator's own credentials (--kafka-admin-config ${own.file})`
      : kafka.sasl
        ? `the ${kafka.sasl.mechanism} credentials of Secret ${kafka.sasl.secretRef.name} (spec.kafka.sasl.secretRef${forWorkers ? ", the workers' identity" : ''})`
        : 'the connection (spec.kafka.sasl is not set)';
    return { status: 'False', reason: Reason.KafkaAuthenticationFailed, message: `Kafka ${brokers} refused ${user}: check the username and password ${own ? 'in the file' : 'in the Secret'} against the broker's SCRAM credentials`, retrying: true };
  }
  if (refusal?.kind === 'tls') {
    const ca = own
      ? `the CA of the operator's --kafka-admin-config ${own.file}`
      : kafka.tls?.caSecretRef
        ? `the CA in Secret ${kafka.tls.caSecretRef.name} (spec.kafka.tls.caSecretRef)`
        : 'the system CAs (spec.kafka.tls.caSecretRef is not set)';
    return { status: 'False', reason: Reason.KafkaTLSUntrusted, message: `the TLS certificate of Kafka ${brokers} is not trusted by ${ca} (${refusal.detail}): put the CA that signed the broker's certificate ${own ? 'in that file' : 'in the Secret'}`, retrying: true };
  }
  if (refusal?.kind === 'authorization') {
    const acls = forWorkers ? ROLE_ACLS.workers : ROLE_ACLS.operator;
    return { status: 'False', reason: Reason.KafkaAuthorizationFailed, message: `Kafka ${brokers} denied ${whose} (${refusal.detail}): grant it ${acls}`, retrying: true };
  }
  if (isConnectionError(error)) return { status: 'False', reason: Reason.KafkaUnavailable, message: `Kafka is unreachable: ${describeError(error)}`, retrying: true };
  return { status: 'False', reason: Reason.TopicOperationFailed, message: describeError(error), retrying: true };
}

export async function reconcileTopics(kube: KubeClient, pool: KafkaAdminPool, pipeline: AdPipeline, others: AdPipeline[], ownership: Ownership, own?: KafkaIdentity): Promise<TopicsOutcome> {
  const principal = topicAdmin(pipeline, own);
  const all = desiredTopics(pipeline);
  const names = all.map((t) => t.name);
  const changes: Change[] = [];
  const claims = claimedTopics(pipeline, others);
  const problems: ComponentReport[] = [];
  for (const [topic, owner] of claims) {
    problems.push({ status: 'False', reason: Reason.TopicClaimedByAnotherPipeline, message: `topic ${topic} belongs to AdPipeline ${owner} (created earlier on the same Kafka): choose another topic name`, stalled: true });
  }
  const desired = all.filter((t) => !claims.has(t.name));
  let cluster;
  try {
    cluster = pool.cluster(await connectionOf(kube, pipeline, principal));
  } catch (error) {
    return { report: failure(error, pipeline, principal), changes, topics: names, readyCount: 0 };
  }
  let observed: Array<Awaited<ReturnType<typeof cluster.observe.submit>>>;
  try {
    observed = await Promise.all(desired.map((topic) => cluster.observe.submit(topic.name)));
  } catch (error) {
    return { report: failure(error, pipeline, principal), changes, topics: names, readyCount: 0 };
  }

  // A topic that exists is changed only when adpipe created it or may adopt it (decision 0101).
  const foreign = desired.filter((topic, i) => observed[i] && !ownership.owned.topics.has(topic.name));
  const adopted = foreign.filter((topic) => ownership.consents(topic.name)).map((topic) => topic.name);
  const refused = new Set(foreign.map((topic) => topic.name).filter((name) => !adopted.includes(name)));
  for (const name of refused) {
    problems.push({
      status: 'False',
      reason: Reason.TopicExists,
      message: `topic ${name} exists and was not created by this AdPipeline: adpipe leaves it alone. To let this pipeline manage it (partitions, retention.ms, cleanup.policy; deleted under deletionPolicy Delete) annotate the AdPipeline ${ANNOTATIONS.adopt}: "true" (or list the name); else choose another topic name`,
      stalled: true,
    });
  }
  const created = desired.filter((_, i) => !observed[i]).map((topic) => topic.name);
  if (adopted.length || created.length) {
    try {
      await ownership.record({ topics: [...adopted, ...created] });
    } catch (error) {
      return { report: failure(error, pipeline, principal), changes, topics: names, readyCount: 0 };
    }
    if (adopted.length) changes.push({ reason: 'TopicAdopted', note: `adopted existing topics ${adopted.join(', ')} (${ANNOTATIONS.adopt})` });
  }

  let ready = 0;
  await Promise.all(
    desired.map(async (topic, i) => {
      if (refused.has(topic.name)) return;
      const diff = diffTopic(topic, observed[i]);
      try {
        if (diff.create) {
          await cluster.create.submit(topic);
          changes.push({ reason: 'TopicCreated', note: `created topic ${topic.name} with ${topic.partitions} partitions, replication factor ${topic.replicationFactor}` });
          ready++;
          return;
        }
        if (diff.raisePartitionsTo) {
          await cluster.raise.submit({ name: topic.name, count: diff.raisePartitionsTo });
          changes.push({ reason: 'PartitionsIncreased', note: `raised partitions of topic ${topic.name} from ${observed[i]!.partitions} to ${diff.raisePartitionsTo}` });
        }
        if (diff.alterConfigs) {
          await cluster.alter.submit({ name: topic.name, configs: diff.alterConfigs });
          changes.push({ reason: 'TopicConfigUpdated', note: `set ${diff.drifted.join(', ')} of topic ${topic.name} back to the pipeline's values` });
        }
        if (diff.partitionDecrease) {
          problems.push({
            status: 'False',
            reason: Reason.PartitionDecreaseNotSupported,
            message: `topic ${topic.name} has ${diff.partitionDecrease.actual} partitions and the spec asks for ${diff.partitionDecrease.desired}: Kafka cannot remove partitions; set partitions back to ${diff.partitionDecrease.actual} or more`,
            stalled: true,
          });
          return;
        }
        if (diff.replicationMismatch) {
          problems.push({
            status: 'False',
            reason: Reason.ReplicationFactorChangeNotSupported,
            message: `topic ${topic.name} has replication factor ${diff.replicationMismatch.actual} and the spec asks for ${diff.replicationMismatch.desired}: reassign replicas with Kafka tools`,
            stalled: true,
          });
          return;
        }
        ready++;
      } catch (error) {
        const report = failure(error, pipeline, principal);
        problems.push({ ...report, message: `topic ${topic.name}: ${report.message}` });
      }
    }),
  );
  const report: ComponentReport = problems.length
    ? { ...(problems.find((p) => p.retrying) ?? problems[0]!), message: problems.map((p) => p.message).join('; ') }
    : { status: 'True', reason: Reason.TopicsReady, message: `${all.length} topics exist with the desired partitions and configs` };
  return { report, changes, topics: names, readyCount: ready };
}

/**
 * Deletes the pipeline's topics (deletionPolicy Delete): only those adpipe created or adopted for it
 * and no other live pipeline names. Topics already gone count as deleted.
 */
export async function deleteTopics(kube: KubeClient, pool: KafkaAdminPool, pipeline: AdPipeline, others: AdPipeline[], owned: Set<string>, own?: KafkaIdentity): Promise<string[]> {
  const shared = sharedTopics(pipeline, others);
  const names = desiredTopics(pipeline)
    .map((t) => t.name)
    .filter((name) => owned.has(name) && !shared.has(name));
  if (!names.length) return names;
  const cluster = pool.cluster(await connectionOf(kube, pipeline, topicAdmin(pipeline, own)));
  await Promise.all(names.map((name) => cluster.remove.submit(name)));
  return names;
}
