import { HBaseError } from './errors.js';

/**
 * One retry loop for every operation: exponential backoff with jitter, bounded by a deadline.
 * Only retriable HBaseErrors are retried; anything else (a programmer error, a rejected request)
 * surfaces at once.
 */

export interface RetryPolicy {
  /** The whole operation, all attempts and waits included, fails after this long. */
  operationTimeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Told about every error that is about to be retried (for metrics and logs). */
  onRetry?: (error: HBaseError) => void;
}

export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface AttemptContext {
  attempt: number;
  /** Milliseconds left before the deadline: bound each RPC's timeout by it. */
  remainingMs: number;
}

export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  run: (context: AttemptContext) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + policy.operationTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await run({ attempt, remainingMs: Math.max(1, deadline - Date.now()) });
    } catch (error) {
      if (!(error instanceof HBaseError) || !error.retriable) throw error;
      const delay = backoffDelay(attempt, policy);
      if (Date.now() + delay >= deadline) {
        throw new HBaseError('DEADLINE_EXCEEDED', `${what} did not succeed within ${policy.operationTimeoutMs} ms (${attempt + 1} attempts); last error: ${error.message}`, {
          retriable: true,
          context: error.context,
          cause: error,
        });
      }
      policy.onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
