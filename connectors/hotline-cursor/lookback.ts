import { z } from 'zod';
import { compareCursor, type HotlineCursor, hotlineCursor, type SourceOrder } from './cursor.js';
import { earlierKey, earlierText } from './instant.js';

/** Most (order id, update time) pairs a lookback window remembers; past it the window shrinks to the newest. */
export const LOOKBACK_MEMORY = 10_000;

/**
 * What the window keeps in the connector's checkpoint, beside the cursor: the orders sent within it, and where it
 * starts at the latest (`floor`: nothing at or before it is looked at again).
 */
export const lookbackState = z.object({
  lookback_ms: z.number(),
  /** [order id, update time as comparable text (instantKey), as the source wrote it] of each order sent in the window. */
  sent: z.array(z.tuple([z.string(), z.string(), z.string()])),
  floor: hotlineCursor.optional(),
});
export type LookbackState = z.infer<typeof lookbackState>;
type Sent = LookbackState['sent'][number];

/**
 * The lookback window (`lookback_ms`): each poll reads from the cursor's update time minus `lookback_ms` instead of
 * from the cursor, so an order committed late — stamped before orders the connector already took, because the case
 * system's transaction or clock lagged — is still found. Which orders of the window were already sent is remembered
 * here (and in the checkpoint, so a restart does not send them again); one not remembered is the late order, sent once.
 *
 * The window never reaches before `floor`: where the connector started (a fresh window has sent nothing before the
 * cursor, so it cannot tell a late order from an old one there), where a smaller lookback left off, or the newest
 * order it had to forget when more than LOOKBACK_MEMORY were sent within the window.
 */
export class LookbackWindow {
  private readonly sent = new Map<string, Sent>();
  private floor: HotlineCursor | undefined;
  /** Orders forgotten because the window held more than the memory allows (for the connector's log). */
  forgotten = 0;

  constructor(
    readonly lookbackMs: number,
    private readonly numericIds: boolean,
    private readonly memory = LOOKBACK_MEMORY,
  ) {}

  /** Takes the window back from a checkpoint; without one (or from a smaller lookback), it starts at the cursor. */
  restore(cursor: HotlineCursor | undefined, state: LookbackState | undefined): void {
    this.sent.clear();
    this.floor = cursor;
    if (!state || cursor === undefined) return;
    for (const pair of state.sent) this.sent.set(key(pair[0], pair[1]), pair);
    // A wider window than before: only the part the old one covered has its sent orders remembered.
    this.floor =
      state.lookback_ms >= this.lookbackMs
        ? state.floor
        : this.later(state.floor, shifted(cursor, state.lookback_ms) ?? cursor);
  }

  /** Where a poll reads from: after this position (undefined: from the first order). */
  start(cursor: HotlineCursor | undefined): HotlineCursor | undefined {
    if (cursor === undefined) return undefined;
    return this.later(shifted(cursor, this.lookbackMs) ?? cursor, this.floor);
  }

  has(order: SourceOrder): boolean {
    return this.sent.has(key(order.order_id, order.at));
  }

  /** Remembers acknowledged orders, then forgets what the window (from `cursor`) no longer covers. */
  remember(orders: readonly SourceOrder[], cursor: HotlineCursor | undefined): void {
    for (const order of orders)
      this.sent.set(key(order.order_id, order.at), [order.order_id, order.at, order.updated_at]);
    const from = this.start(cursor);
    if (from === undefined) return;
    for (const [k, [id, at]] of this.sent)
      if (compareCursor({ at, order_id: id }, from, this.numericIds) <= 0) this.sent.delete(k);
    if (this.sent.size > this.memory) this.forgetOldest();
  }

  state(): LookbackState {
    const state: LookbackState = { lookback_ms: this.lookbackMs, sent: [...this.sent.values()] };
    if (this.floor) state.floor = this.floor;
    return state;
  }

  /** Keeps the newest `memory` orders; the window then starts after the newest one forgotten. */
  private forgetOldest(): void {
    const ordered = [...this.sent.values()].sort((a, b) =>
      compareCursor({ order_id: a[0], at: a[1] }, { order_id: b[0], at: b[1] }, this.numericIds),
    );
    const drop = ordered.length - this.memory;
    for (let i = 0; i < drop; i++) this.sent.delete(key(ordered[i]![0], ordered[i]![1]));
    const [order_id, at, updated_at] = ordered[drop - 1]!;
    this.floor = this.later(this.floor, { updated_at, order_id, at });
    this.forgotten += drop;
  }

  private later(a: HotlineCursor | undefined, b: HotlineCursor | undefined): HotlineCursor | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    return compareCursor(a, b, this.numericIds) >= 0 ? a : b;
  }
}

/** The cursor's time `ms` earlier, before every order id of that time. */
function shifted(cursor: HotlineCursor, ms: number): HotlineCursor | undefined {
  const updated = earlierText(cursor.updated_at, ms);
  return updated === undefined ? undefined : { updated_at: updated, order_id: '', at: earlierKey(cursor.at, ms) };
}

function key(id: string, at: string): string {
  return `${id}\u0001${at}`;
}
