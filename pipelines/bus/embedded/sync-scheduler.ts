/**
 * Group commit for fsync 'always'. An fsync costs about as much for one batch as for a hundred, so writers do not
 * sync themselves: they ask here, and all requests that arrive while a round of fsyncs is running share the next
 * round, one fsync per file. Rounds run one after another, so a file's waiters resolve in the order they asked.
 */
export interface Syncable {
  sync(): Promise<void>;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SyncScheduler {
  private pending = new Map<Syncable, Waiter[]>();
  private running: Promise<void> | null = null;

  /** Resolves once everything written to `target` before this call is on stable storage. */
  request(target: Syncable): Promise<void> {
    return new Promise((resolve, reject) => {
      let waiters = this.pending.get(target);
      if (!waiters) {
        waiters = [];
        this.pending.set(target, waiters);
      }
      waiters.push({ resolve, reject });
      this.running ??= this.run();
    });
  }

  /** Resolves when no round is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending.size > 0) {
      const round = this.pending;
      this.pending = new Map();
      await Promise.all(
        Array.from(round, async ([target, waiters]) => {
          try {
            await target.sync();
          } catch (err) {
            for (const waiter of waiters) waiter.reject(err);
            return;
          }
          for (const waiter of waiters) waiter.resolve();
        }),
      );
    }
    this.running = null;
  }
}
