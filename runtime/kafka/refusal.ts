import type { RuntimeConfig } from '../../api/runtime-config.js';
import { backoffDelay } from '../../hbase/retry.js';
import { REFUSAL_REASONS, type Refusal } from '../../kafka/errors.js';

/**
 * A worker that Kafka refuses (credentials, ACLs, certificate) stays up and unready and tries again
 * (decision 0116): restarting the process cannot fix what is wrong outside it. These are the pure
 * parts: how long to wait before the next attempt, and what /readyz and the log say.
 */

/** 1 s, doubling, at most 5 min; each wait jittered down to half its ceiling so replicas spread out. */
export const REFUSAL_BACKOFF = { baseDelayMs: 1000, maxDelayMs: 300_000 } as const;

/** The wait after failed attempt `attempt` (0 for the first); `maxDelayMs` is lowered by tests (ADPIPE_REFUSAL_BACKOFF_MAX_MS). */
export function refusalBackoffMs(attempt: number, maxDelayMs: number = REFUSAL_BACKOFF.maxDelayMs, random: () => number = Math.random): number {
  return backoffDelay(attempt, { baseDelayMs: REFUSAL_BACKOFF.baseDelayMs, maxDelayMs }, random);
}

/**
 * The readiness reason: the condition reason the operator would give, then what to fix. Names
 * files and brokers, never what the files hold.
 */
export function refusalReason(refusal: Refusal, kafka: RuntimeConfig['kafka']): string {
  const brokers = kafka.brokers.join(',');
  const reason = REFUSAL_REASONS[refusal.kind];
  switch (refusal.kind) {
    case 'authentication': {
      const credentials = kafka.sasl ? `the ${kafka.sasl.mechanism} credentials in ${kafka.sasl.usernameFile} and ${kafka.sasl.passwordFile}` : 'the connection (no SASL credentials are configured)';
      return `${reason}: Kafka ${brokers} refused ${credentials} (${refusal.detail}): check them against the broker's SCRAM credentials; the worker tries again with backoff`;
    }
    case 'authorization':
      return `${reason}: Kafka ${brokers} denied the workers' principal (${refusal.detail}): grant it the workers' ACLs of docs/security.md (read the source topics, group ${kafka.groupId}, the task topic and transactional ids); the worker tries again with backoff`;
    case 'tls': {
      const ca = kafka.tls?.caFile ? `the CA in ${kafka.tls.caFile}` : 'the system CAs (no CA file is configured)';
      return `${reason}: Kafka ${brokers} presented a TLS certificate not signed by ${ca} (${refusal.detail}): configure the CA that signed the broker's certificate; the worker tries again with backoff`;
    }
  }
}
