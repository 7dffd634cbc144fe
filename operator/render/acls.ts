import kafkajs, { type AclEntry } from 'kafkajs';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { desiredTopics } from './topics.js';
import { consumerGroupId, deadLetterTopicOf, sourceTopicOf, tasksTopicOf } from './names.js';
import { SOURCE_NAMES } from '../../api/runtime-config.js';

// kafkajs is CommonJS; Node's ESM loader does not see all of its named exports.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/**
 * The least-privilege Kafka ACLs of a pipeline, per role (decision 0111), as plain data: what a
 * platform team grants with `kafka-acls` (docs/security.md renders the commands from here) and
 * what the tests grant on the stack's broker. The names follow the runtime: the consumer group is
 * `adpipe.<ns>.<name>`, transactional ids `adpipe.<ns>.<name>-task-<n>`, derived topics start with
 * `adpipe.<ns>.<name>.`.
 */

export type AclResource = 'Topic' | 'Group' | 'TransactionalId' | 'Cluster';
export type AclOperation = 'Read' | 'Write' | 'Create' | 'Delete' | 'Alter' | 'Describe' | 'DescribeConfigs' | 'AlterConfigs';
export type AclRole = 'operator' | 'workers' | 'producer' | 'deadLetterReader';

export interface AclBinding {
  /** `User:<name>`, the SASL username. */
  principal: string;
  resource: AclResource;
  pattern: 'LITERAL' | 'PREFIXED';
  name: string;
  operations: AclOperation[];
}

/** The prefix every derived name of the pipeline starts with (topics, group, transactional ids). */
export function pipelinePrefix(pipeline: AdPipeline): string {
  return consumerGroupId(pipeline);
}

/** The transactional ids of the workers' tasks share this prefix (runtime/tasks/task.ts). */
export function transactionalIdPrefix(pipeline: AdPipeline): string {
  return `${consumerGroupId(pipeline)}-task-`;
}

const literal = (principal: string, resource: AclResource, name: string, operations: AclOperation[]): AclBinding => ({ principal, resource, pattern: 'LITERAL', name, operations });

/**
 * `operator`: create, alter (partitions, configs), describe and delete of the pipeline's topics: each
 * named topic, plus the derived prefix so a topic added later needs no new grant.
 * `workers`: read the sources and the group; read and write the internal tasks topic (it is the
 * tasks' changelog); write the dead-letter topic; write their transactional ids.
 * `producer`: write the sources. `deadLetterReader`: read the dead-letter topic (people who
 * inspect or replay it, with the throwaway consumer groups `adpipe dlq` makes, prefix `adpipe-cli-dlq-`).
 */
export function pipelineAcls(pipeline: AdPipeline, role: AclRole, user: string): AclBinding[] {
  const principal = `User:${user}`;
  const sources = SOURCE_NAMES.map((source) => sourceTopicOf(pipeline, source));
  switch (role) {
    case 'operator':
      return [
        { principal, resource: 'Topic', pattern: 'PREFIXED', name: `${pipelinePrefix(pipeline)}.`, operations: ['Create', 'Alter', 'Describe', 'Delete', 'DescribeConfigs', 'AlterConfigs'] },
        ...desiredTopics(pipeline)
          .filter((topic) => !topic.name.startsWith(`${pipelinePrefix(pipeline)}.`))
          .map((topic) => literal(principal, 'Topic', topic.name, ['Create', 'Alter', 'Describe', 'Delete', 'DescribeConfigs', 'AlterConfigs'])),
      ];
    case 'workers':
      return [
        ...sources.map((topic) => literal(principal, 'Topic', topic, ['Read'])),
        literal(principal, 'Topic', tasksTopicOf(pipeline), ['Read', 'Write']),
        literal(principal, 'Topic', deadLetterTopicOf(pipeline), ['Write']),
        literal(principal, 'Group', consumerGroupId(pipeline), ['Read']),
        { principal, resource: 'TransactionalId', pattern: 'PREFIXED', name: transactionalIdPrefix(pipeline), operations: ['Write'] },
      ];
    case 'producer':
      return sources.map((topic) => literal(principal, 'Topic', topic, ['Write']));
    case 'deadLetterReader':
      return [literal(principal, 'Topic', deadLetterTopicOf(pipeline), ['Read']), { principal, resource: 'Group', pattern: 'PREFIXED', name: 'adpipe-cli-dlq-', operations: ['Read', 'Delete'] }];
  }
}

const RESOURCE_FLAG: Record<AclResource, string> = { Topic: '--topic', Group: '--group', TransactionalId: '--transactional-id', Cluster: '--cluster' };

/** The `kafka-acls.sh` command that grants a binding (for docs and for people). */
export function kafkaAclsCommand(binding: AclBinding, bootstrap = '$BOOTSTRAP', commandConfig = 'admin.properties'): string {
  const operations = binding.operations.map((op) => `--operation ${op}`).join(' ');
  const resource = binding.resource === 'Cluster' ? '--cluster' : `${RESOURCE_FLAG[binding.resource]} '${binding.name}'`;
  const pattern = binding.pattern === 'PREFIXED' ? ' --resource-pattern-type prefixed' : '';
  return `kafka-acls.sh --bootstrap-server ${bootstrap} --command-config ${commandConfig} --add --allow-principal '${binding.principal}' ${operations} ${resource}${pattern}`;
}

const OPERATION: Record<AclOperation, number> = {
  Read: AclOperationTypes.READ,
  Write: AclOperationTypes.WRITE,
  Create: AclOperationTypes.CREATE,
  Delete: AclOperationTypes.DELETE,
  Alter: AclOperationTypes.ALTER,
  Describe: AclOperationTypes.DESCRIBE,
  DescribeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  AlterConfigs: AclOperationTypes.ALTER_CONFIGS,
};
const RESOURCE: Record<AclResource, number> = { Topic: AclResourceTypes.TOPIC, Group: AclResourceTypes.GROUP, TransactionalId: AclResourceTypes.TRANSACTIONAL_ID, Cluster: AclResourceTypes.CLUSTER };

/** The bindings as kafkajs `createAcls` entries (one per operation), allowed from any host. */
export function toKafkajsAcls(bindings: AclBinding[]): AclEntry[] {
  return bindings.flatMap((binding) =>
    binding.operations.map((operation) => ({
      principal: binding.principal,
      host: '*',
      operation: OPERATION[operation],
      permissionType: AclPermissionTypes.ALLOW,
      resourceType: RESOURCE[binding.resource],
      resourceName: binding.resource === 'Cluster' ? 'kafka-cluster' : binding.name,
      resourcePatternType: binding.pattern === 'PREFIXED' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    })),
  );
}
