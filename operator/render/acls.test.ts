import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { kafkaAclsCommand, pipelineAcls, toKafkajsAcls } from './acls.js';

const pipeline = (spec: Partial<AdPipeline['spec']> = {}): AdPipeline =>
  ({ apiVersion: 'adpipe.io/v1alpha1', kind: 'AdPipeline', metadata: { name: 'p1', namespace: 'team-a' }, spec: { kafka: { bootstrapServers: ['k:9093'] }, hbase: { zookeeperQuorum: 'z:2181' }, ...spec } }) as AdPipeline;

test("the operator may manage the pipeline's topics and nothing else: the derived prefix, and each named topic literally", () => {
  const acls = pipelineAcls(pipeline({ sources: { clicks: { topic: 'shared-clicks' } } }), 'operator', 'op');
  expect(acls).toEqual([
    { principal: 'User:op', resource: 'Topic', pattern: 'PREFIXED', name: 'adpipe.team-a.p1.', operations: ['Create', 'Alter', 'Describe', 'Delete', 'DescribeConfigs', 'AlterConfigs'] },
    { principal: 'User:op', resource: 'Topic', pattern: 'LITERAL', name: 'shared-clicks', operations: ['Create', 'Alter', 'Describe', 'Delete', 'DescribeConfigs', 'AlterConfigs'] },
    { principal: 'User:op', resource: 'Topic', pattern: 'LITERAL', name: 'adpipe.team-a.p1-dlq', operations: ['Create', 'Alter', 'Describe', 'Delete', 'DescribeConfigs', 'AlterConfigs'] },
  ]);
  expect(acls.every((acl) => acl.resource === 'Topic')).toBe(true);
});

test('workers read sources and their group, write the dead letters and the tasks topic, and own their transactional ids; the producer only writes sources', () => {
  const workers = pipelineAcls(pipeline(), 'workers', 'w');
  expect(workers).toContainEqual({ principal: 'User:w', resource: 'Topic', pattern: 'LITERAL', name: 'adpipe.team-a.p1.ad-impressions', operations: ['Read'] });
  expect(workers).toContainEqual({ principal: 'User:w', resource: 'Topic', pattern: 'LITERAL', name: 'adpipe.team-a.p1.tasks', operations: ['Read', 'Write'] });
  expect(workers).toContainEqual({ principal: 'User:w', resource: 'Topic', pattern: 'LITERAL', name: 'adpipe.team-a.p1-dlq', operations: ['Write'] });
  expect(workers).toContainEqual({ principal: 'User:w', resource: 'Group', pattern: 'LITERAL', name: 'adpipe.team-a.p1', operations: ['Read'] });
  expect(workers).toContainEqual({ principal: 'User:w', resource: 'TransactionalId', pattern: 'PREFIXED', name: 'adpipe.team-a.p1-task-', operations: ['Write'] });
  expect(workers.some((acl) => acl.operations.some((op) => ['Create', 'Delete', 'Alter', 'AlterConfigs'].includes(op)))).toBe(false);
  const producer = pipelineAcls(pipeline(), 'producer', 'prod');
  expect(producer.map((acl) => `${acl.name}:${acl.operations.join()}`)).toEqual(['adpipe.team-a.p1.bid-requests:Write', 'adpipe.team-a.p1.ad-impressions:Write', 'adpipe.team-a.p1.ad-clicks:Write', 'adpipe.team-a.p1.ad-conversions:Write']);
  expect(pipelineAcls(pipeline(), 'deadLetterReader', 'sre').map((acl) => `${acl.resource}:${acl.name}:${acl.operations.join()}`)).toEqual(['Topic:adpipe.team-a.p1-dlq:Read', 'Group:adpipe-cli-dlq-:Read,Delete']);
});

test('as kafka-acls commands and as kafkajs createAcls entries', () => {
  const [prefixed] = pipelineAcls(pipeline(), 'operator', 'op');
  expect(kafkaAclsCommand(prefixed!)).toBe(
    "kafka-acls.sh --bootstrap-server $BOOTSTRAP --command-config admin.properties --add --allow-principal 'User:op' --operation Create --operation Alter --operation Describe --operation Delete --operation DescribeConfigs --operation AlterConfigs --topic 'adpipe.team-a.p1.' --resource-pattern-type prefixed",
  );
  const entries = toKafkajsAcls(pipelineAcls(pipeline(), 'workers', 'w'));
  // One entry per operation: 4 sources + tasks (2) + dead letters + group + transactional ids.
  expect(entries).toHaveLength(9);
  expect(entries).toContainEqual({ principal: 'User:w', host: '*', operation: 4, permissionType: 3, resourceType: 5, resourceName: 'adpipe.team-a.p1-task-', resourcePatternType: 4 });
});
