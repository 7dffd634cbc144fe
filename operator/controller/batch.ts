/**
 * Strimzi's BatchingLoop idea: callers submit one item each and get one result each, while the items
 * that arrive within `lingerMs` of each other go to the server in one call. `run` returns one
 * outcome per item, in order, so a bad item fails alone and never the batch.
 */

export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

export interface BatcherOptions {
  lingerMs?: number;
  maxBatch?: number;
}

export class Batcher<I, R> {
  private pending: Array<{ item: I; resolve: (value: R) => void; reject: (error: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly lingerMs: number;
  private readonly maxBatch: number;
  /** Calls made to `run`, for the bench's admin-calls figure. */
  calls = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<Outcome<R>[]>,
    options: BatcherOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 20;
    this.maxBatch = options.maxBatch ?? 500;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length) this.timer = setTimeout(() => this.flush(), this.lingerMs);
    if (!batch.length) return;
    this.calls++;
    this.run(batch.map((entry) => entry.item)).then(
      (outcomes) =>
        batch.forEach((entry, i) => {
          const outcome = outcomes[i];
          if (!outcome) entry.reject(new Error('the batch returned no outcome for this item'));
          else if (outcome.ok) entry.resolve(outcome.value);
          else entry.reject(outcome.error);
        }),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    );
  }
}
