/**
 * The city's 12345 work-order system, as a REST API a hotline-rest connector polls (its defaults): GET /api/orders
 * with `updated_since`, `after_id`, `page_size` and `page`, answering `{ code, data: [...] }` ordered by
 * (updateTime, orderNo) — the orders updated after the cursor, page by page.
 *
 * It serves every version of an order (one per updateTime), as a poller running all along would have seen them: the
 * demo's history is compressed in time, so by the time the hub polls, most orders have changed several times. A
 * version stamped later than now (the history's last closures fall after its end, which may be today) is served once
 * its time has come, as a real system would: served early, it would carry the poller's cursor past the live orders
 * stamped before it, and they would never be read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { instantKey } from '../../hotline-cursor/instant.js';
import type { DemoWireConfig } from '../config.js';
import type { RawMessage } from '../types.js';
import { nextWake } from './wake.js';

type HotlineApiConfig = NonNullable<DemoWireConfig['hotline_api']>;

/** Update times written without a zone are Asia/Shanghai wall time (docs/feeds.md "hotline"). */
const OFFSET = '+08:00';

interface Version {
  /** instantKey of updateTime, then the order id: the API's order and the cursor's. */
  at: string;
  orderNo: string;
  /** The order as JSON text, served as it is. */
  json: string;
}

/** Cursor positions compare as (instant, order id). */
function compare(a: { at: string; orderNo: string }, b: { at: string; orderNo: string }): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.orderNo === b.orderNo ? 0 : a.orderNo < b.orderNo ? -1 : 1;
}

export class DemoHotlineApi {
  private readonly versions: Version[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  /** The furthest version the poller has taken: it asked for what comes after it. */
  private taken: { at: string; orderNo: string } = { at: '', orderNo: '' };
  /** The newest version each page of the current cursor served, by page number. */
  private servedPages = new Map<number, { at: string; orderNo: string }>();
  private cursorOfPages = '';
  private readonly waiters: (() => void)[] = [];
  requests = 0;

  constructor(
    private readonly config: HotlineApiConfig,
    /** The API's clock (tests fix it). */
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Adds work-order versions (raw.hotline message values). Each must be an object with `orderNo` and a valid
   * `updateTime`: a version without them could not be served in cursor order.
   */
  add(messages: readonly RawMessage[]): void {
    let sorted = true;
    for (const message of messages) {
      const order = JSON.parse(message.value) as { orderNo?: unknown; updateTime?: unknown };
      const at = instantKey(order.updateTime, OFFSET);
      if (typeof order.orderNo !== 'string' || at === undefined)
        throw new Error(`demo 12345 order without orderNo or updateTime: ${message.value.slice(0, 120)}`);
      const version = { at, orderNo: order.orderNo, json: message.value };
      const last = this.versions.at(-1);
      if (last && compare(last, version) > 0) sorted = false;
      this.versions.push(version);
    }
    if (!sorted) this.versions.sort(compare);
  }

  /** Resolves once the poller has taken every version added so far whose time has come. */
  async allTaken(signal: AbortSignal): Promise<void> {
    const last = this.versions[this.visibleEnd() - 1];
    if (!last) return;
    while (compare(this.taken, last) < 0) await nextWake(this.waiters, signal);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.answer(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => resolve());
    });
    // The hub's shutdown must not wait on the demo's listener if the demo never got to close it.
    server.unref();
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const wake of this.waiters.splice(0)) wake();
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    const url = new URL(req.url ?? '/', 'http://demo');
    if (req.method !== 'GET' || url.pathname !== '/api/orders') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":404,"msg":"not found"}');
      return;
    }
    const since = url.searchParams.get('updated_since');
    const cursor = {
      at: since === null ? '' : (instantKey(since, OFFSET) ?? ''),
      orderNo: url.searchParams.get('after_id') ?? '',
    };
    if (since !== null && cursor.at === '') {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":400,"msg":"bad updated_since"}');
      return;
    }
    const size = Math.min(Math.max(Number(url.searchParams.get('page_size')) || 100, 1), 10_000);
    const page = Math.max(Number(url.searchParams.get('page')) || 1, 1);
    this.noteTaken(cursor, page);
    const first = this.firstAfter(cursor) + (page - 1) * size;
    const rows = this.versions.slice(first, Math.min(first + size, this.visibleEnd()));
    const newest = rows.at(-1);
    if (newest) this.servedPages.set(page, newest);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      `{"code":0,"data":[${rows.map((v) => v.json).join(',')}],"total":${Math.max(this.visibleEnd() - first, 0)}}`,
    );
  }

  /**
   * What a request tells of the poller's progress: it asks with its committed cursor (everything up to it is
   * taken), and asks for page n of a cursor only after it took pages before n.
   */
  private noteTaken(cursor: { at: string; orderNo: string }, page: number): void {
    const key = `${cursor.at}|${cursor.orderNo}`;
    if (key !== this.cursorOfPages) {
      this.cursorOfPages = key;
      this.servedPages = new Map();
    }
    let furthest = cursor;
    for (const [servedPage, newest] of this.servedPages)
      if (servedPage < page && compare(newest, furthest) > 0) furthest = newest;
    if (compare(furthest, this.taken) > 0) {
      this.taken = furthest;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Index past the last version whose update time has come (binary search, as firstAfter). */
  private visibleEnd(): number {
    const now = instantKey(this.now(), OFFSET)!;
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.versions[mid]!.at > now) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index of the first version after the cursor (binary search: the versions are in cursor order). */
  private firstAfter(cursor: { at: string; orderNo: string }): number {
    let lo = 0;
    let hi = this.versions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(this.versions[mid]!, cursor) > 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
