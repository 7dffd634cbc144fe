/** A command line the CLI cannot run: exit code 2, with what to change. */
export class UsageError extends Error {
  readonly code = 'CLI_USAGE';

  constructor(
    message: string,
    /** The command path whose --help tells more, e.g. `produce`. */
    readonly command = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 0 ok, 1 the work failed (Kafka down, bad input data, ...), 2 the command line is wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
