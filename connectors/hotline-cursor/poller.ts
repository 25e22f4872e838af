import type { Logger } from 'pino';
import {
  backoffDelay,
  defaultRetryPolicy,
  isRetriable,
  RetryAbortedError,
  type RetryPolicy,
  sleep,
} from '../../pipelines/retry.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import type { BusSender } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { Connector, ConnectorContext, ConnectorHealth } from '../types.js';
import { CursorTracker, compareCursor, type HotlineCursor, hotlineCursor, type SourceOrder } from './cursor.js';
import { HotlineSourceError } from './errors.js';
import { LOOKBACK_MEMORY, LookbackWindow, lookbackState } from './lookback.js';

/** An order the source gave that cannot be placed on the cursor (no id, no update time): dead-lettered, not a wedge. */
export interface UnusableOrder {
  value: string;
  reason: string;
  why: string;
  source_ref: string;
}

/** One read of the source. `next` continues the same poll (a next page); absent, the poll is over. */
export interface OrderPage<Continuation> {
  orders: SourceOrder[];
  unusable?: UnusableOrder[];
  next?: Continuation;
  /**
   * How far the read went when that is past its last order: rows that cannot be placed on the cursor (a NULL id) but
   * have a place in the source's order. The poll's next read starts after it, so a page of nothing else is not read
   * again and again.
   */
  readTo?: HotlineCursor;
}

/** A 12345 work-order source read by cursor: a REST API or a database table. */
export interface OrderSource<Continuation> {
  /** Named in logs and health: the URL without its query, the table. */
  readonly name: string;
  /**
   * The orders after `from` (all, when undefined), in (update time, order id) order: the committed cursor, the start
   * of the lookback window, or how far this poll has read. `continuation` is the `next` of the previous page of this
   * poll. Throws a retriable error (HotlineSourceError) when the source cannot be read now.
   */
  read(
    from: HotlineCursor | undefined,
    continuation: Continuation | undefined,
    signal: AbortSignal,
  ): Promise<OrderPage<Continuation>>;
  close(): Promise<void>;
}

export interface PollingOptions {
  id: string;
  kind: string;
  poll_interval_ms: number;
  /** Where the cursor starts without a checkpoint (undefined: the source's first order). */
  start?: HotlineCursor;
  numeric_order_ids: boolean;
  /** How far before the cursor each poll reads again, for orders committed late (0: from the cursor). */
  lookback_ms?: number;
}

/**
 * The connector both hotline kinds are: poll the source from the committed cursor (or from `lookback_ms` before it,
 * lookback.ts: orders committed late are taken once), page by page; send each page's
 * orders to raw.hotline (key = order id); commit the cursor once the bus acknowledged them; wait `poll_interval_ms`
 * when a poll is through. A source that fails is retried with the shared backoff (and its Retry-After), reported in
 * health meanwhile; the bus is waited out by BusSender. The cursor never moves before the append nor backwards.
 */
export class HotlinePollingConnector<Continuation> implements Connector {
  readonly id: string;
  readonly kind: string;
  private readonly lifecycle: ConnectorLifecycle;
  private readonly tracker: CursorTracker;
  private readonly progress = {
    orders_sent: 0,
    pages_read: 0,
    polls: 0,
    rows_behind_cursor: 0,
    rows_repeated_skipped: 0,
    orders_late: 0,
    source_retries: 0,
  };
  private sourceError: { message: string; at: string } | undefined;
  private cursorNote: { message: string; at: string } | undefined;
  private cursor: HotlineCursor | undefined;
  /** Read and handled up to here (past the cursor only by rows that have no place on it); in memory only. */
  private readPast: HotlineCursor | undefined;
  private readonly window: LookbackWindow | undefined;

  constructor(
    private readonly options: PollingOptions,
    private readonly source: OrderSource<Continuation>,
  ) {
    this.id = options.id;
    this.kind = options.kind;
    this.lifecycle = new ConnectorLifecycle(options.id, options.kind);
    this.tracker = new CursorTracker(options.numeric_order_ids);
    if (options.lookback_ms) this.window = new LookbackWindow(options.lookback_ms, options.numeric_order_ids);
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  /** The cursor of the last acknowledged page (for tests and logs). */
  get position(): HotlineCursor | undefined {
    return this.cursor;
  }

  async start(context: ConnectorContext): Promise<void> {
    const sender = this.lifecycle.openSender(context);
    const position = context.checkpoint?.position;
    const stored = hotlineCursor.safeParse(position);
    this.cursor = stored.success ? stored.data : this.options.start;
    // A window state that does not parse costs only the window (it restarts at the cursor), never the cursor.
    const window = stored.success ? lookbackState.safeParse((position as { window?: unknown }).window) : undefined;
    this.window?.restore(this.cursor, window?.success ? window.data : undefined);
    this.readPast = this.cursor;
    context.log.info({ connector: this.id, source: this.source.name, cursor: this.cursor }, `${this.kind} starts`);
    this.lifecycle.run(
      context.log,
      () => this.run(sender, context).finally(() => this.source.close()),
      // Stopped in a poll wait or while a source was failing: an ordinary end. A bus that was failing is not.
      (error) => error instanceof RetryAbortedError && !sender.health.error,
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  health(): ConnectorHealth {
    const health = this.lifecycle.health();
    const note = this.sourceError ?? this.cursorNote;
    if (note && health.error === undefined) health.error = note.message;
    const lastAt = [health.last_error_at, this.sourceError?.at, this.cursorNote?.at]
      .filter((t) => t !== undefined)
      .sort()
      .at(-1);
    if (lastAt) health.last_error_at = lastAt;
    health.progress = { ...this.progress };
    return health;
  }

  private async run(sender: BusSender, context: ConnectorContext): Promise<void> {
    const { log, checkpoint } = context;
    const signal = this.lifecycle.stopWaiting.signal;
    while (!this.lifecycle.stopping) {
      this.progress.polls++;
      let continuation: Continuation | undefined;
      let from = this.window ? this.window.start(this.cursor) : this.readPast;
      let behindThisPoll = 0;
      for (;;) {
        const page = await this.read(from, continuation, context);
        this.progress.pages_read++;
        const taken = this.tracker.take(this.cursor, page.orders, this.window);
        const unusable = (page.unusable ?? []).filter((bad) => this.tracker.firstUnusable(bad.value));
        for (const bad of unusable)
          await sender.deadLetter('hotline', { key: null, value: bad.value }, bad.reason, bad.why, bad.source_ref);
        if (taken.send.length > 0)
          await sender.send(
            'hotline',
            taken.send.map((o) => ({ key: o.order_id, value: o.value })),
            taken.send.map((o) => o.order_id),
          );
        this.tracker.remember(taken.send);
        this.progress.orders_sent += taken.send.length;
        if (taken.cursor !== this.cursor || taken.send.length > 0 || unusable.length > 0) {
          this.cursor = taken.cursor;
          this.window?.remember(taken.send, this.cursor);
          await commit(checkpoint, this.checkpointPosition());
        }
        if (taken.late.length > 0) this.reportLate(taken.late, log);
        if (this.window && this.window.forgotten > 0) this.reportForgotten(this.window, log);
        if (taken.behind > 0) {
          behindThisPoll += taken.behind;
          this.reportBehind(taken.behind, taken.repeated, log);
        }
        const readTo = this.later(this.later(from, taken.last), page.readTo);
        const advanced = readTo !== from;
        from = readTo;
        this.readPast = this.later(this.readPast, readTo);
        // A page that read nothing new ends the poll: a source that ignores the cursor is not paged forever.
        if (page.next === undefined || !advanced || this.lifecycle.stopping) break;
        continuation = page.next;
      }
      if (behindThisPoll === 0 && this.cursorNote) this.cursorNote = undefined;
      await sleep(this.options.poll_interval_ms, signal, `${this.kind} ${this.id} poll`);
    }
  }

  /** What the checkpoint keeps: the cursor, and the lookback window's orders when there is one. */
  private checkpointPosition(): unknown {
    if (this.cursor === undefined) return null;
    return this.window ? { ...this.cursor, window: this.window.state() } : this.cursor;
  }

  private later(a: HotlineCursor | undefined, b: HotlineCursor | undefined): HotlineCursor | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    return compareCursor(b, a, this.options.numeric_order_ids) > 0 ? b : a;
  }

  /** One page, retried with the shared backoff (at least the source's Retry-After) until it comes or stop(). */
  private async read(
    from: HotlineCursor | undefined,
    continuation: Continuation | undefined,
    context: ConnectorContext,
  ): Promise<OrderPage<Continuation>> {
    const signal = this.lifecycle.stopWaiting.signal;
    const policy: RetryPolicy = context.retryPolicy ?? defaultRetryPolicy;
    const what = `${this.kind} ${this.id} read of ${this.source.name}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const page = await this.source.read(from, continuation, signal);
        if (this.sourceError) {
          this.sourceError = undefined;
          context.log.info({ connector: this.id, source: this.source.name }, 'hotline source recovered');
        }
        return page;
      } catch (error) {
        if (signal.aborted) throw new RetryAbortedError(what, error);
        if (!isRetriable(error)) throw error;
        const retryAfter = error instanceof HotlineSourceError ? (error.retryAfterMs ?? 0) : 0;
        const delayMs = Math.max(backoffDelay(attempt, policy), retryAfter);
        const message = error instanceof Error ? error.message : String(error);
        this.progress.source_retries++;
        this.sourceError = {
          message: `${this.source.name} failing (attempt ${attempt}, next in ${delayMs} ms): ${message}`,
          at: new Date().toISOString(),
        };
        context.log.warn(
          { connector: this.id, source: this.source.name, attempt, delay_ms: delayMs, err: error },
          'hotline source read failed; retrying',
        );
        await sleep(delayMs, signal, what);
      }
    }
  }

  /** Late orders are handled, not failures: counted and logged (the first 20 named), health stays clear. */
  private reportLate(late: readonly SourceOrder[], log: Logger): void {
    this.progress.orders_late += late.length;
    log.warn(
      {
        connector: this.id,
        source: this.source.name,
        late: late.length,
        orders: late.slice(0, 20).map((o) => `${o.order_id}@${o.updated_at}`),
        cursor: this.cursor,
        lookback_ms: this.options.lookback_ms,
      },
      'late orders taken from the lookback window',
    );
  }

  private reportForgotten(window: LookbackWindow, log: Logger): void {
    log.warn(
      { connector: this.id, forgotten: window.forgotten, memory: LOOKBACK_MEMORY, cursor: this.cursor },
      'lookback window shortened: more orders were sent within it than it remembers',
    );
    window.forgotten = 0;
  }

  private reportBehind(behind: number, repeated: number, log: Logger): void {
    this.progress.rows_behind_cursor += behind;
    this.progress.rows_repeated_skipped += repeated;
    const message =
      `${this.source.name} returned ${behind} order(s) at or before the cursor ` +
      `(${this.cursor?.updated_at} / ${this.cursor?.order_id}): the source ignores the cursor or its clock went back; ` +
      `${behind - repeated} sent, ${repeated} already sent skipped, the cursor kept`;
    this.cursorNote = { message, at: new Date().toISOString() };
    log.warn(
      { connector: this.id, source: this.source.name, behind, repeated, cursor: this.cursor },
      'cursor went backwards',
    );
  }
}

async function commit(checkpoint: SourceCheckpoint | undefined, position: unknown): Promise<void> {
  await checkpoint?.commit(position);
}
