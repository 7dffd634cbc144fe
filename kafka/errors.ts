/**
 * How a kafkajs error reads to a person, for the operator and the runtime alike (one home, so the
 * operator's condition reasons and the worker's readiness reasons can never disagree about what a
 * refusal is): an unreachable broker, or a broker that refuses us and why.
 */

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

export function isConnectionError(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown; originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause) {
    const name = (e as Error).name;
    if (CONNECTION_ERRORS.has(name)) return true;
    if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection error|Closed connection/i.test((e as Error).message ?? '')) return true;
    if (e === (e as { originalError?: unknown }).originalError) break;
  }
  return false;
}

/**
 * What kind of refusal a Kafka error is, so status can say which one a person has to fix: the
 * SASL credentials (authentication), the principal's ACLs (authorization), or the broker's TLS
 * certificate, which the configured CA does not vouch for (tls). Walks causes and aggregated errors.
 */
export const KAFKA_REFUSALS = ['authentication', 'authorization', 'tls'] as const;
export type KafkaRefusal = (typeof KAFKA_REFUSALS)[number];
/** A refusal and its detail (the error code or kafkajs's name for it): no credential in it. */
export interface Refusal {
  kind: KafkaRefusal;
  detail: string;
}

const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function kafkaRefusal(error: unknown): Refusal | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  let authorization: string | undefined;
  while (queue.length) {
    const e = queue.shift() as { name?: string; code?: unknown; type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown } | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (e.name === 'KafkaJSSASLAuthenticationError') return { kind: 'authentication', detail: 'SASL authentication failed' };
    if (typeof e.code === 'string' && UNTRUSTED_CERTIFICATE.has(e.code)) return { kind: 'tls', detail: e.code };
    if (typeof e.type === 'string' && e.type.endsWith('_AUTHORIZATION_FAILED')) authorization ??= e.type;
    queue.push(e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors : []));
  }
  return authorization ? { kind: 'authorization', detail: authorization } : undefined;
}

/** The condition reason (operator) and readiness reason (worker) of each refusal. */
export const REFUSAL_REASONS = {
  authentication: 'KafkaAuthenticationFailed',
  authorization: 'KafkaAuthorizationFailed',
  tls: 'KafkaTLSUntrusted',
} as const satisfies Record<KafkaRefusal, string>;
