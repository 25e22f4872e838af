import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { LookbackWindow } from './lookback.js';

/**
 * The incremental cursor of a 12345 work-order source (Kafka Connect JDBC's `timestamp+incrementing`): the last
 * order taken, by update time then order id. The next read asks for orders with
 * `updated_at > t OR (updated_at = t AND order_id > id)`, ordered by both, so orders updated in the same second are
 * neither skipped nor asked for again.
 */
export const hotlineCursor = z.object({
  /** The update time as the source wrote it: what the next read asks with, byte for byte. */
  updated_at: z.string(),
  order_id: z.string(),
  /** The same time as comparable UTC text (instant.ts), for ordering. */
  at: z.string(),
});
export type HotlineCursor = z.infer<typeof hotlineCursor>;

/** One work order as read from the source: its cursor fields and the message body. */
export interface SourceOrder {
  order_id: string;
  updated_at: string;
  at: string;
  value: string;
}

/**
 * Order ids compared the way the source orders them: as text (PostgreSQL with `COLLATE "C"`, JavaScript's order for
 * ASCII ids), or as numbers when the source's ids are numeric and it sorts them so.
 */
export function compareIds(a: string, b: string, numeric: boolean): number {
  if (numeric && /^\d+$/.test(a) && /^\d+$/.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareCursor(
  a: Pick<HotlineCursor, 'at' | 'order_id'>,
  b: Pick<HotlineCursor, 'at' | 'order_id'>,
  numericIds: boolean,
): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return compareIds(a.order_id, b.order_id, numericIds);
}

/** What a page of orders means against the cursor. */
export interface TakenPage {
  /** Orders to send, in the source's order. */
  send: SourceOrder[];
  /** The cursor once those are acknowledged: the newest order seen, never older than before. */
  cursor: HotlineCursor | undefined;
  /** Orders at or before the cursor (the source ignored it, or its clock went back). */
  behind: number;
  /** Of those, the ones already sent lately: not sent again. */
  repeated: number;
  /** Orders inside the lookback window, after its start and at or before the cursor, not sent before: sent now. */
  late: SourceOrder[];
  /** The greatest (update time, order id) of the page: how far the poll has read. */
  last: HotlineCursor | undefined;
}

/**
 * Splits each page into what to send and where the cursor goes. The cursor only ever moves forward, so a source that
 * returns older rows never makes the connector loop. An order in the lookback window (lookback.ts) is sent when the
 * window has not sent it. An order at or before the cursor, before any window, is still sent — it may be a real
 * new state stamped by a clock that went back, and losing it is worse than a duplicate the pipeline removes by natural
 * key — unless the same (order id, update time) was sent lately: a source that ignores the cursor is not re-sent
 * page after page.
 */
export class CursorTracker {
  private readonly sentKeys = new Set<string>();
  private readonly ring: string[] = [];
  private head = 0;

  constructor(
    private readonly numericIds: boolean,
    /** How many recently sent (order id, update time) pairs are remembered. */
    private readonly memory = 100_000,
  ) {}

  take(cursor: HotlineCursor | undefined, orders: readonly SourceOrder[], window?: LookbackWindow): TakenPage {
    const send: SourceOrder[] = [];
    const windowStart = window?.start(cursor);
    let next = cursor;
    let last: SourceOrder | undefined;
    let behind = 0;
    let repeated = 0;
    const late: SourceOrder[] = [];
    for (const order of orders) {
      if (last === undefined || compareCursor(order, last, this.numericIds) > 0) last = order;
      if (cursor === undefined || compareCursor(order, cursor, this.numericIds) > 0) {
        send.push(order);
        if (next === undefined || compareCursor(order, next, this.numericIds) > 0)
          next = { updated_at: order.updated_at, order_id: order.order_id, at: order.at };
        continue;
      }
      if (windowStart && compareCursor(order, windowStart, this.numericIds) > 0) {
        // Read again on purpose: within the lookback window. Only what the window has not sent is new.
        if (!window!.has(order)) {
          late.push(order);
          send.push(order);
        }
        continue;
      }
      behind++;
      if (this.sentKeys.has(sentKey(order))) repeated++;
      else send.push(order);
    }
    const lastPosition = last && { updated_at: last.updated_at, order_id: last.order_id, at: last.at };
    return { send, cursor: next, behind, repeated, late, last: lastPosition };
  }

  /** Remembers orders the bus acknowledged. */
  remember(orders: readonly SourceOrder[]): void {
    for (const order of orders) this.add(sentKey(order));
  }

  /**
   * True the first time (lately) an order body that cannot be placed on the cursor is seen: it is dead-lettered
   * once, not at every poll — without a cursor position, the source returns it again each time.
   */
  firstUnusable(value: string): boolean {
    const key = `\u0002${createHash('sha256').update(value).digest('base64url')}`;
    if (this.sentKeys.has(key)) return false;
    this.add(key);
    return true;
  }

  private add(key: string): void {
    if (this.sentKeys.has(key)) return;
    this.sentKeys.add(key);
    if (this.ring.length < this.memory) this.ring.push(key);
    else {
      this.sentKeys.delete(this.ring[this.head]!);
      this.ring[this.head] = key;
      this.head = (this.head + 1) % this.memory;
    }
  }
}

function sentKey(order: SourceOrder): string {
  return `${order.order_id}\u0001${order.at}`;
}
