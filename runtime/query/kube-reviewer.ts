import { RuntimeError } from '../errors.js';
import { apiServerAccess, createObject } from './api-server.js';
import { QUERY_ACCESS, type ReviewedUser, type Reviewer } from './auth.js';

interface TokenReview {
  status?: { authenticated?: boolean; user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } };
}
interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean };
}

/**
 * The API server as the query API's `Reviewer`: TokenReview and SubjectAccessReview with the
 * worker's own ServiceAccount (KUBECONFIG when set, else the in-cluster token). Both are
 * cluster-scoped `create`s; the operator binds the worker's ServiceAccount to
 * `system:auth-delegator` for them (decision 0121).
 */
export function kubeReviewer(kubeconfig?: string): Reviewer {
  const access = apiServerAccess(kubeconfig);
  const unavailable = (what: string, error: unknown) => {
    const code = (error as { code?: number }).code;
    // The worker's own identity lacks the right, or the API server is away: not the caller's fault.
    return new RuntimeError('REVIEW_UNAVAILABLE', `${what} failed${code ? ` (HTTP ${code})` : ''}: ${(error as Error).message}`, { retriable: true, cause: error });
  };
  return {
    async authenticate(token) {
      const review = await createObject<TokenReview>(access, '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }).catch((error: unknown) => {
        throw unavailable('TokenReview', error);
      });
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) return undefined;
      return { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra } satisfies ReviewedUser;
    },
    async authorize(user, pipeline) {
      const review = await createObject<SubjectAccessReview>(access, '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: user.username, uid: user.uid, groups: user.groups, extra: user.extra, resourceAttributes: { ...QUERY_ACCESS, namespace: pipeline.namespace, name: pipeline.name } },
      }).catch((error: unknown) => {
        throw unavailable('SubjectAccessReview', error);
      });
      return review.status?.allowed === true && review.status.denied !== true;
    },
  };
}
