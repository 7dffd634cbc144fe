import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { SOURCE_NAMES } from '../../api/runtime-config.js';
import type { KubeClient } from '../controller/kube.js';
import { consumerGroupId, deadLetterTopicOf, sourceTopicOf, tasksTopicOf } from '../render/names.js';
import type { ComponentReport } from './conditions.js';
import type { KafkaAdminPool } from './kafka.js';
import { failure, specConnection } from './topics.js';

/**
 * The workers' access check (decision 0115). When the operator manages topics under its own
 * identity, none of its calls use the workers' credentials, so a wrong password, a missing ACL or a
 * CA that does not match would show only as workers that never become ready. The operator therefore
 * connects once per reconcile as the workers do (the spec's brokers and opted-in Secrets) and asks
 * for what Read and Write imply: the metadata of their topics and their group. A refusal becomes the
 * WorkersReady reason; undefined means the workers' principal gets in.
 */
export async function checkWorkersAccess(kube: KubeClient, pool: KafkaAdminPool, pipeline: AdPipeline): Promise<ComponentReport | undefined> {
  const topics = [...SOURCE_NAMES.map((source) => sourceTopicOf(pipeline, source)), tasksTopicOf(pipeline), deadLetterTopicOf(pipeline)];
  try {
    await pool.cluster(await specConnection(kube, pipeline)).describeAccess(topics, consumerGroupId(pipeline));
    return undefined;
  } catch (error) {
    const report = failure(error, pipeline, { spec: 'workers' });
    return { ...report, message: `the workers' access check: ${report.message}` };
  }
}
