/**
 * A 12345 work-order API on loopback for tests and measurements (node:http, a real server): it keeps orders in memory,
 * answers GET /api/orders?updated_since=&after_id=&page_size=&page= with `{ data: [...], total }` ordered by
 * (updateTime, orderNo), and can be scripted to fail: a queue of canned answers (500, 429 with Retry-After, an HTML
 * page), stopped and started again on the same port, or made to ignore the cursor. `served` lets a test await the
 * connector catching up: the poller asks for a page only after the previous one is acknowledged and committed.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { instantKey } from '../hotline-cursor/instant.js';

export interface ApiOrder {
  orderNo: string;
  updateTime: string;
  state: string;
  [field: string]: unknown;
}

export interface CannedAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface ServedRequest {
  url: URL;
  status: number;
  /** Orders in the answer; -1 for a canned answer. */
  orders: number;
}

const OFFSET = '+08:00';

export class HotlineApiPeer extends EventEmitter {
  readonly orders = new Map<string, ApiOrder>();
  readonly requests: ServedRequest[] = [];
  readonly canned: CannedAnswer[] = [];
  /** Answer every order whatever the cursor: an API that ignores `updated_since`. */
  ignoreCursor = false;
  /** Give `links.next` (this query's next page) while a page is full, as cursor-paging APIs do. */
  nextLinks = false;
  /** Required `authorization` header, when set. */
  token: string | undefined;
  private server: Server | undefined;
  private sockets = new Set<import('node:net').Socket>();
  port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The orders in (updateTime, orderNo) order, kept between requests so a large peer answers in O(page). */
  private sorted: { o: ApiOrder; at: string }[] | undefined;

  upsert(...orders: ApiOrder[]): void {
    for (const order of orders) this.orders.set(order.orderNo, order);
    this.sorted = undefined;
  }

  /** Listens on `port` (0: a free one, kept for later restarts). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => this.answer(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts open connections: the peer is down. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves on the first request after this call that answers 200 with no order: the connector has caught up. */
  caughtUp(): Promise<void> {
    return new Promise((resolve) => {
      const onServed = (served: ServedRequest) => {
        if (served.status !== 200 || served.orders !== 0) return;
        this.off('served', onServed);
        resolve();
      };
      this.on('served', onServed);
    });
  }

  /** Resolves once `count` requests have been answered in all. */
  answered(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.requests.length < count) return;
        this.off('served', check);
        resolve();
      };
      this.on('served', check);
      check();
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const served = (status: number, orders: number) => {
      const record = { url, status, orders };
      this.requests.push(record);
      // After the answer is written: a test that awaits this sees the connector's next step, not this one.
      res.on('finish', () => this.emit('served', record));
    };
    const canned = this.canned.shift();
    if (canned) {
      served(canned.status, -1); // not a page of orders: never "caught up"
      res.writeHead(canned.status, { 'content-type': 'text/html; charset=utf-8', ...canned.headers });
      res.end(canned.body);
      return;
    }
    if (this.token !== undefined && req.headers.authorization !== this.token) {
      served(401, 0);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"code":401,"msg":"token invalid"}');
      return;
    }
    if (url.pathname !== '/api/orders') {
      served(404, 0);
      res.writeHead(404).end();
      return;
    }
    const page = this.page(url);
    served(200, page.length);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    const size = Number(url.searchParams.get('page_size') ?? 100);
    let next: string | null = null;
    if (this.nextLinks && page.length >= size) {
      const link = new URL(url);
      link.searchParams.set('page', String(Number(url.searchParams.get('page') ?? 1) + 1));
      next = `${link.pathname}${link.search}`;
    }
    res.end(JSON.stringify({ code: 0, data: page, total: this.orders.size, links: { next } }));
  }

  private page(url: URL): ApiOrder[] {
    const since = url.searchParams.get('updated_since');
    const afterId = url.searchParams.get('after_id') ?? '';
    const size = Number(url.searchParams.get('page_size') ?? 100);
    const page = Number(url.searchParams.get('page') ?? 1);
    const sinceKey = since === null ? undefined : instantKey(since, OFFSET);
    this.sorted ??= [...this.orders.values()]
      .map((o) => ({ o, at: instantKey(o.updateTime, OFFSET)! }))
      .sort((a, b) => (a.at === b.at ? (a.o.orderNo < b.o.orderNo ? -1 : 1) : a.at < b.at ? -1 : 1));
    const after = (r: { o: ApiOrder; at: string }) => r.at > sinceKey! || (r.at === sinceKey && r.o.orderNo > afterId);
    let rows = this.sorted;
    if (!this.ignoreCursor && sinceKey !== undefined) {
      // Binary search for the first order past the cursor: the list is sorted by the same key.
      let lo = 0;
      let hi = rows.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (after(rows[mid]!)) hi = mid;
        else lo = mid + 1;
      }
      rows = rows.slice(lo, lo + page * size);
    }
    return rows.slice((page - 1) * size, page * size).map(({ o }) => o);
  }
}
