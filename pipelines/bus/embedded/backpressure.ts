/**
 * Producer backpressure: a send to a partition waits while the partition's end is more than maxLagBytes ahead of
 * the slowest subscribed group's committed position, so a stalled consumer bounds the disk the log can fill.
 * Waiters of a partition are released in arrival order (re-checked after every durable commit and rebalance);
 * once one partition has waiters, later sends queue behind them instead of overtaking.
 */
import type { Partition } from './partition.js';

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Backpressure {
  private readonly waiting = new Map<Partition, Waiter[]>();

  constructor(
    private readonly maxLagBytes: number,
    /** Bytes between the partition's end and the slowest subscribed group's commit; 0 without subscribed groups. */
    private readonly lagOf: (partition: Partition) => number,
  ) {}

  /** Undefined when the send may go ahead now (the common case: no promise, no extra tick). */
  admit(partition: Partition, bytes: number): Promise<void> | undefined {
    if (this.maxLagBytes === 0) return undefined;
    const queue = this.waiting.get(partition);
    if (!queue && this.lagOf(partition) <= this.maxLagBytes) return undefined;
    return new Promise((resolve, reject) => {
      if (queue) queue.push({ bytes, resolve, reject });
      else this.waiting.set(partition, [{ bytes, resolve, reject }]);
    });
  }

  /** Lets waiting senders through where the lag dropped (after a commit, or a group went away). */
  recheck(): void {
    for (const [partition, queue] of this.waiting) {
      // Count what released senders are about to append, so one commit does not release the whole queue.
      let lag = this.lagOf(partition);
      while (queue.length > 0 && lag <= this.maxLagBytes) {
        const waiter = queue.shift()!;
        lag += waiter.bytes;
        waiter.resolve();
      }
      if (queue.length === 0) this.waiting.delete(partition);
    }
  }

  get waiters(): number {
    let n = 0;
    for (const queue of this.waiting.values()) n += queue.length;
    return n;
  }

  rejectAll(err: unknown): void {
    const queues = [...this.waiting.values()];
    this.waiting.clear();
    for (const queue of queues) for (const waiter of queue) waiter.reject(err);
  }
}
