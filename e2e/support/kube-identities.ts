import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { QUERY_ACCESS } from '../../runtime/query/auth.js';
import { kubeConfig, stack } from './stack-clients.js';

/**
 * Identities on the stack's real API server, for tests of the query API's authentication: a
 * ServiceAccount and a token for it from the TokenRequest API (as `kubectl create token`), and a
 * kubeconfig that carries that token (what a person's kubeconfig with a token looks like).
 */

export async function serviceAccountToken(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }).catch((error: unknown) => {
    if ((error as { code?: number }).code !== 409) throw error;
  });
  const request = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds } } });
  const token = request.status?.token;
  if (!token) throw new Error(`no token for ServiceAccount ${namespace}/${name}`);
  return token;
}

/** A kubeconfig file for the stack's API server whose user is this bearer token. */
export function tokenKubeconfig(dir: string, name: string, token: string, namespace = 'default'): string {
  const state = stack();
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(state.kube.kubeconfig);
  const cluster = admin.getCurrentCluster()!;
  const file = path.join(dir, `${name}.kubeconfig`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'local', user: name, namespace } }],
    'current-context': name,
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/** The documented query Role (docs/security.md) for one pipeline, bound to a ServiceAccount. */
export async function grantQuery(namespace: string, pipeline: string, serviceAccount: string): Promise<void> {
  const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
  const role = `query-${pipeline}`;
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: role }, rules: [{ apiGroups: [QUERY_ACCESS.group], resources: [`${QUERY_ACCESS.resource}/${QUERY_ACCESS.subresource}`], resourceNames: [pipeline], verbs: [QUERY_ACCESS.verb] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name: `${role}-${serviceAccount}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }] },
  });
}

/** What a worker's ServiceAccount needs for TokenReview and SubjectAccessReview (decision 0121). */
export async function bindAuthDelegator(namespace: string, serviceAccount: string): Promise<string> {
  const rbac = kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
  const name = `${namespace}-${serviceAccount}-auth-delegator`;
  await rbac.createClusterRoleBinding({
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' }, subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }] },
  });
  return name;
}
