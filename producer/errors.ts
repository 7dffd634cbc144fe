/** The producer's errors: a stable code, whether retrying can help, and the cause. */
export type ProducerErrorCode = 'PRODUCE_OPTIONS' | 'PRODUCE_INPUT' | 'PRODUCE_TOPIC' | 'PRODUCE_KAFKA';

export class ProducerError extends Error {
  constructor(
    readonly code: ProducerErrorCode,
    message: string,
    readonly retriable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProducerError';
  }
}
