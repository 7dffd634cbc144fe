import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { namespaceOf } from './names.js';
import { desiredTable } from './table.js';
import { desiredTopics } from './topics.js';

/**
 * Kafka topics and HBase tables carry no owner, and two AdPipelines can name the same topic (the
 * source topics have defaults) or the same table. The oldest pipeline that names a resource on a
 * cluster claims it; a younger one reports the conflict instead of changing, or deleting, a resource
 * another pipeline relies on. Clusters are compared by their configured addresses.
 */

const kafkaCluster = (p: AdPipeline) => [...p.spec.kafka.bootstrapServers].sort().join(',');
const hbaseCluster = (p: AdPipeline) => `${p.spec.hbase.zookeeperQuorum.split(',').sort().join(',')}${p.spec.hbase.znodeParent ?? '/hbase'}`;
const keyOf = (p: AdPipeline) => `${namespaceOf(p)}/${p.metadata.name}`;

/** True when `a` was created before `b` (ties broken by key, so exactly one of two wins). */
function older(a: AdPipeline, b: AdPipeline): boolean {
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  return ta !== tb ? ta < tb : keyOf(a) < keyOf(b);
}

/** Topic name → the namespace/name of the older pipeline that claims it. */
export function claimedTopics(pipeline: AdPipeline, others: AdPipeline[]): Map<string, string> {
  const claims = new Map<string, string>();
  const mine = new Set(desiredTopics(pipeline).map((t) => t.name));
  for (const other of others) {
    if (other.metadata.uid === pipeline.metadata.uid || kafkaCluster(other) !== kafkaCluster(pipeline) || !older(other, pipeline)) continue;
    for (const topic of desiredTopics(other)) if (mine.has(topic.name) && !claims.has(topic.name)) claims.set(topic.name, keyOf(other));
  }
  return claims;
}

/** Topics of `pipeline` that another live pipeline on the same cluster also names: never deleted. */
export function sharedTopics(pipeline: AdPipeline, others: AdPipeline[]): Set<string> {
  const shared = new Set<string>();
  const mine = new Set(desiredTopics(pipeline).map((t) => t.name));
  for (const other of others) {
    if (other.metadata.uid === pipeline.metadata.uid || other.metadata.deletionTimestamp || kafkaCluster(other) !== kafkaCluster(pipeline)) continue;
    for (const topic of desiredTopics(other)) if (mine.has(topic.name)) shared.add(topic.name);
  }
  return shared;
}

/** The older pipeline that claims this pipeline's table, if any; `live` also counts younger ones. */
export function tableClaimant(pipeline: AdPipeline, others: AdPipeline[], live = false): string | undefined {
  const table = desiredTable(pipeline).name;
  const other = others.find(
    (o) =>
      o.metadata.uid !== pipeline.metadata.uid &&
      hbaseCluster(o) === hbaseCluster(pipeline) &&
      desiredTable(o).name === table &&
      (live ? !o.metadata.deletionTimestamp : older(o, pipeline)),
  );
  return other ? keyOf(other) : undefined;
}
