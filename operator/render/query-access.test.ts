import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { AdPipeline } from '../../api/v1alpha1/index.js';
import { credentialRefs } from '../reconcile/credentials.js';
import { renderReviewersBinding, reviewerSubjects } from '../reconcile/query-reviewers.js';
import { renderRuntimeConfig } from './runtime-config.js';
import { renderWorkers } from './workers.js';

/** spec.query rendered (decisions 0120, 0121): the worker's config, its Pod, the reviewers' subjects. */

const example = parse(fs.readFileSync(path.join(process.cwd(), 'examples', 'adpipeline.yaml'), 'utf8')) as AdPipeline;
const at = (name: string, namespace: string, query?: AdPipeline['spec']['query']): AdPipeline => ({ ...example, metadata: { ...example.metadata, name, namespace, uid: `u-${name}` }, spec: { ...example.spec, ...(query ? { query } : {}) } });

test('default: callers are reviewed by the API server, answers cached 10 s; the workers get their token for it', () => {
  const pipeline = at('demo', 'team-a');
  const config = renderRuntimeConfig(pipeline);
  expect(config.query).toEqual({ auth: 'kubernetes', reviewCacheMs: 10_000 });
  const { serviceAccount, deployment } = renderWorkers(pipeline, config);
  expect(serviceAccount.automountServiceAccountToken).toBe(true);
  expect(deployment.spec!.template.spec!.automountServiceAccountToken).toBe(true);
  expect(deployment.spec!.template.spec!.containers[0]!.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
});

test('auth none: no token mounted (the workers make no API request)', () => {
  const pipeline = at('open', 'team-a', { auth: 'none' });
  const config = renderRuntimeConfig(pipeline);
  expect(config.query).toEqual({ auth: 'none', reviewCacheMs: 10_000 });
  const { serviceAccount, deployment } = renderWorkers(pipeline, config);
  expect(serviceAccount.automountServiceAccountToken).toBe(false);
  expect(deployment.spec!.template.spec!.automountServiceAccountToken).toBe(false);
});

test('tls: the Secret opts in as query-tls, is mounted 0440, named by path in the config; probes speak HTTPS; the Pod says https', () => {
  const pipeline = at('secure', 'team-a', { auth: 'kubernetes', reviewCacheTime: '30s', tls: { secretRef: { name: 'worker-tls' } } });
  const config = renderRuntimeConfig(pipeline);
  expect(config.query).toEqual({ auth: 'kubernetes', reviewCacheMs: 30_000, tls: { certFile: '/etc/adpipe/secrets/query-tls/tls.crt', keyFile: '/etc/adpipe/secrets/query-tls/tls.key' } });
  expect(credentialRefs(pipeline)).toContainEqual({ name: 'worker-tls', use: 'query-tls', field: 'spec.query.tls.secretRef' });
  const { deployment } = renderWorkers(pipeline, config);
  const pod = deployment.spec!.template;
  expect(pod.spec!.volumes).toContainEqual({ name: 'query-tls', secret: { secretName: 'worker-tls', defaultMode: 0o440 } });
  expect(pod.spec!.containers[0]!.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTPS' });
  expect(pod.metadata!.annotations!['adpipe.io/query-scheme']).toBe('https');
});

test('reviewers: the ServiceAccounts of live pipelines that review callers, sorted, once each', () => {
  const deleting = { ...at('gone', 'team-a'), metadata: { ...at('gone', 'team-a').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } } as AdPipeline;
  const subjects = reviewerSubjects([at('b', 'team-b'), at('open', 'team-a', { auth: 'none' }), at('a', 'team-b'), at('a', 'team-a'), deleting, at('a', 'team-a')]);
  expect(subjects).toEqual([
    { kind: 'ServiceAccount', name: 'adpipe-a', namespace: 'team-a' },
    { kind: 'ServiceAccount', name: 'adpipe-a', namespace: 'team-b' },
    { kind: 'ServiceAccount', name: 'adpipe-b', namespace: 'team-b' },
  ]);
  expect(renderReviewersBinding('adpipe-query-reviewers', subjects)).toMatchObject({ kind: 'ClusterRoleBinding', metadata: { name: 'adpipe-query-reviewers' }, roleRef: { kind: 'ClusterRole', name: 'system:auth-delegator' } });
});
