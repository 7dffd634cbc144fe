/**
 * The operator's one error hierarchy: a stable code, whether a retry can help, the cause, and a
 * message that names the pipeline, topic or table a person has to look at. Messages never carry
 * secret values (connection errors are reduced to their kind and broker address).
 */
export type OperatorErrorCode =
  | 'KAFKA_UNAVAILABLE'
  | 'KAFKA_TOPIC_OPERATION'
  | 'HBASE_UNAVAILABLE'
  | 'HBASE_TABLE_OPERATION'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_NOT_ALLOWED'
  | 'KUBE_APPLY'
  | 'INVALID_SPEC';

export class OperatorError extends Error {
  constructor(
    readonly code: OperatorErrorCode,
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OperatorError';
  }
}

/** The first line of an error's message, without anything that looks like a credential. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.replace(/(password|secret|token)=\S+/gi, '$1=<redacted>').slice(0, 400);
}
