import { createHash } from 'node:crypto';

/**
 * Who may read a pipeline's query API (the kube-rbac-proxy pattern, decision 0120): the caller's
 * bearer token is authenticated by the API server (TokenReview) and the identity it names is
 * authorized by the API server (SubjectAccessReview) for verb `get` on `adpipelines/query` of this
 * pipeline, so access is granted with an ordinary Role and RoleBinding. Pure logic around a
 * `Reviewer` (the API server, or a fake in unit tests); answers are cached briefly per token hash
 * so the query path does not wait on two API requests each time.
 */

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface Reviewer {
  /** TokenReview: the token's user, or undefined when the API server does not accept it. */
  authenticate(token: string): Promise<ReviewedUser | undefined>;
  /** SubjectAccessReview of `get adpipelines/query` on the pipeline. */
  authorize(user: ReviewedUser, pipeline: { namespace: string; name: string }): Promise<boolean>;
}

export type AuthDecision =
  | { allowed: true; user: string }
  | { allowed: false; status: 401 | 403; code: 'UNAUTHENTICATED' | 'FORBIDDEN'; message: string };

/** What the SubjectAccessReview asks; the Role that grants it is documented in docs/security.md. */
export const QUERY_ACCESS = { group: 'adpipe.io', resource: 'adpipelines', subresource: 'query', verb: 'get' } as const;

export interface AuthorizerOptions {
  pipeline: { namespace: string; name: string };
  /** How long an answer (either way) is reused for the same token. */
  ttlMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

export class QueryAuthorizer {
  private readonly cache = new Map<string, { until: number; decision: AuthDecision }>();
  private readonly now: () => number;

  constructor(
    private readonly reviewer: Reviewer,
    private readonly options: AuthorizerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The decision for a request's `Authorization` header. A review that fails (API server
   * unreachable) throws: the caller answers 503, and nothing is cached.
   */
  async decide(authorization: string | undefined): Promise<AuthDecision> {
    const token = bearerToken(authorization);
    if (!token) return { allowed: false, status: 401, code: 'UNAUTHENTICATED', message: 'a bearer token is required: Authorization: Bearer <token> (a Kubernetes token of your identity)' };
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.until > this.now()) return cached.decision;
    const decision = await this.review(token);
    this.cache.delete(key);
    this.cache.set(key, { until: this.now() + this.options.ttlMs, decision });
    const max = this.options.maxEntries ?? 10_000;
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= max) break;
      this.cache.delete(oldest);
    }
    return decision;
  }

  private async review(token: string): Promise<AuthDecision> {
    const user = await this.reviewer.authenticate(token);
    if (!user) return { allowed: false, status: 401, code: 'UNAUTHENTICATED', message: 'the bearer token was not accepted by the Kubernetes API server (expired, revoked or not a token of this cluster)' };
    const { namespace, name } = this.options.pipeline;
    if (await this.reviewer.authorize(user, this.options.pipeline)) return { allowed: true, user: user.username };
    return {
      allowed: false,
      status: 403,
      code: 'FORBIDDEN',
      message: `${user.username} may not ${QUERY_ACCESS.verb} ${QUERY_ACCESS.resource}/${QUERY_ACCESS.subresource} (${QUERY_ACCESS.group}) of AdPipeline ${namespace}/${name}: grant it with a Role and RoleBinding (docs/security.md)`,
    };
  }
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}
