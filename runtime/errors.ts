/**
 * The runtime's one error type. `code` is stable (callers and metrics switch on it), `retriable`
 * says whether trying the same work again later can succeed (HBase restarting, a broker moving),
 * and the message names the pipeline, topic, table or row a person has to look at.
 *
 * A record that is merely invalid is never an error: it travels as an `Invalid` item with its
 * reason to the dead-letter topic. Errors are for the worker's own trouble.
 */
export type RuntimeErrorCode =
  | 'CONFIG'
  | 'SCHEMA_REGISTRY'
  | 'STORE'
  | 'STORE_CONFLICT'
  | 'KAFKA'
  | 'QUERY_ARGUMENT'
  | 'QUERY_RANGE'
  | 'REVIEW_UNAVAILABLE'
  | 'SHUTDOWN';

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode;
  readonly retriable: boolean;

  constructor(code: RuntimeErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Whether trying again can help: our own retriable errors, and anything from a layer below that says so. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof RuntimeError) return error.retriable;
  if (typeof error === 'object' && error !== null && 'retriable' in error) return (error as { retriable: unknown }).retriable === true;
  return false;
}
