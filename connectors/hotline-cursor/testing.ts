/**
 * Test helpers of the hotline connectors (free of vitest imports): a logger whose lines a test can await — the
 * connector's own "retrying", "recovered" and "cursor went backwards" lines are the events a fault test waits for,
 * instead of sleeping.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export class CapturedLog {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;
  private waiters: { msg: string; count: number; resolve: () => void }[] = [];

  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const text of chunk.toString('utf8').split('\n')) if (text) this.add(JSON.parse(text) as LogLine);
        done();
      },
    });
    this.logger = pino({ level: 'info' }, stream);
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }

  /** Resolves once `count` lines with this message have been logged in all. */
  waitFor(msg: string, count = 1): Promise<void> {
    if (this.count(msg) >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ msg, count, resolve }));
  }

  private add(line: LogLine): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (this.count(w.msg) < w.count) return true;
      w.resolve();
      return false;
    });
  }
}

import { EventEmitter } from 'node:events';
import type { OrderPage, OrderSource } from './poller.js';

/**
 * A source wrapped so a test can await the poller's reads: `caughtUp()` resolves on the first read after the call
 * that returns no order (the poller reads again only once the previous page is acknowledged and committed).
 */
export class ObservedSource<C> extends EventEmitter implements OrderSource<C> {
  reads = 0;
  constructor(private readonly inner: OrderSource<C>) {
    super();
  }
  get name(): string {
    return this.inner.name;
  }
  async read(...args: Parameters<OrderSource<C>['read']>): Promise<OrderPage<C>> {
    const page = await this.inner.read(...args);
    this.reads++;
    setImmediate(() => this.emit('read', page, args[1] === undefined));
    return page;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  /**
   * Resolves once `polls` polls have started after the call (a read without a continuation starts one): with 2, a
   * whole poll ran after the call, its orders sent and committed. For a lookback window, whose reads always return
   * orders, so that `caughtUp()` never sees an empty one.
   */
  polled(polls = 2): Promise<void> {
    return new Promise((resolve) => {
      let started = 0;
      const onRead = (_page: unknown, startsPoll: boolean) => {
        if (!startsPoll || ++started < polls) return;
        this.off('read', onRead);
        resolve();
      };
      this.on('read', onRead);
    });
  }
  caughtUp(): Promise<void> {
    return new Promise((resolve) => {
      const onRead = (page: OrderPage<C>) => {
        if (page.orders.length > 0) return;
        this.off('read', onRead);
        resolve();
      };
      this.on('read', onRead);
    });
  }
}
