/**
 * The coordinator's only source of time: session expiry, rebalance timeouts and pending-member expiry are timers, so
 * tests drive them with a manual clock instead of sleeping.
 */
export type CancelTimer = () => void;

export interface GroupTimers {
  setTimeout(fire: () => void, ms: number): CancelTimer;
}

/** Real timers, unref'd: a test broker left running must not keep the test process alive. */
export const systemTimers: GroupTimers = {
  setTimeout(fire, ms) {
    const handle = setTimeout(fire, ms);
    handle.unref();
    return () => clearTimeout(handle);
  },
};

/** A clock that only moves when told to: `advance(ms)` fires every timer due by then, in deadline order. */
export class ManualTimers implements GroupTimers {
  now = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { at: number; seq: number; fire: () => void }>();

  setTimeout(fire: () => void, ms: number): CancelTimer {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + Math.max(0, ms), seq: id, fire });
    return () => {
      this.pending.delete(id);
    };
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: { at: number; seq: number; fire: () => void } | undefined;
      for (const [id, timer] of this.pending) {
        if (timer.at > until) continue;
        if (due === undefined || timer.at < due.at || (timer.at === due.at && timer.seq < due.seq)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === undefined || dueId === undefined) break;
      this.pending.delete(dueId);
      this.now = due.at;
      due.fire();
    }
    this.now = until;
  }

  get size(): number {
    return this.pending.size;
  }
}
