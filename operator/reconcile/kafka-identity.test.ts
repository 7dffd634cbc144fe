import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { managesAcls } from './acl-grants.js';
import { loadKafkaIdentity, servesPipeline } from './kafka-identity.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-identity-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const pipeline = (brokers: string[], sasl = true): AdPipeline =>
  ({ metadata: { name: 'p', namespace: 'ns' }, spec: { kafka: { bootstrapServers: brokers, ...(sasl ? { sasl: { mechanism: 'scram-sha-512', secretRef: { name: 's' } } } : {}) }, hbase: { zookeeperQuorum: 'z' } } }) as AdPipeline;

test('an identity of the platform team is used only for pipelines whose every broker it names; ACLs are granted only to SASL pipelines', () => {
  write('ca.pem', 'CA');
  const file = write('admin.properties', 'bootstrap.servers=k1:9093, k2:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=admin\nsasl.password=pw\nssl.ca.location=ca.pem\n');
  const admin = loadKafkaIdentity(file);
  expect(admin).toEqual({ file, brokers: ['k1:9093', 'k2:9093'], connection: { brokers: ['k1:9093', 'k2:9093'], ssl: { ca: 'CA' }, sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'pw' } } });
  expect(servesPipeline(admin, pipeline(['k2:9093'], false))).toBe(true);
  expect(servesPipeline(admin, pipeline(['k2:9093', 'k3:9093']))).toBe(false);
  expect(servesPipeline(undefined, pipeline(['k2:9093']))).toBe(false);
  expect(managesAcls(admin, pipeline(['k2:9093']))).toBe(true);
  expect(managesAcls(admin, pipeline(['k1:9093', 'evil:9093']))).toBe(false);
  expect(managesAcls(admin, pipeline(['k1:9093'], false))).toBe(false);
  expect(() => loadKafkaIdentity(write('nobrokers.properties', 'security.protocol=SASL_SSL\n'))).toThrow(/bootstrap.servers is required/);
});
