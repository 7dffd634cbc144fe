/**
 * Group commit: what is submitted while a run is in flight waits, then goes as one run. Each
 * submitter gets the outputs of its own inputs, in order, or the run's error.
 */
export class GroupCommit<I, O> {
  private queue: { inputs: readonly I[]; resolve: (outputs: O[]) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  /** `run` must return one output per input, in order. */
  constructor(private readonly run: (inputs: I[]) => Promise<O[]>) {}

  submit(inputs: readonly I[]): Promise<O[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ inputs, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const group = this.queue;
      this.queue = [];
      try {
        const outputs = await this.run(group.flatMap((entry) => entry.inputs));
        let at = 0;
        for (const entry of group) {
          entry.resolve(outputs.slice(at, at + entry.inputs.length));
          at += entry.inputs.length;
        }
      } catch (error) {
        for (const entry of group) entry.reject(error);
      }
    }
    this.running = false;
  }
}
