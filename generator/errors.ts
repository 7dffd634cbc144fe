/** The generator's errors: a stable code, and the cause when there is one. None is retriable. */
export type GeneratorErrorCode = 'GEN_OPTIONS' | 'GEN_BASE_TOO_RECENT' | 'GEN_OUTPUT' | 'GEN_INPUT';

export class GeneratorError extends Error {
  readonly retriable = false;

  constructor(
    readonly code: GeneratorErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GeneratorError';
  }
}
