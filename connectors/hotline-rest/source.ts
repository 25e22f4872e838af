import { abortAfter } from '../../pipelines/abort-after.js';
import type { HotlineCursor } from '../hotline-cursor/cursor.js';
import { HotlineBadPageError, HotlineSourceError } from '../hotline-cursor/errors.js';
import { atPath, ordersOf } from '../hotline-cursor/orders.js';
import type { OrderPage, OrderSource } from '../hotline-cursor/poller.js';
import type { HotlineRestConnectorConfig } from './config.js';

/** Within a poll: the next page number (asked with the poll's starting cursor), or the link the API gave. */
export type RestContinuation = { page: number; since: HotlineCursor | undefined } | { url: string };

/** The first characters of a body that is not the expected page: enough to see an HTML login page for what it is. */
const PREVIEW_CHARS = 120;

/**
 * Reads pages of work orders from a 12345 REST API: GET `<base_url><path>?<updated_since>=…&<after_id>=…&<page_size>=…`
 * (+ the page number, or the API's next link). Every failure is a retriable HotlineSourceError: unreachable, no answer
 * within request_timeout_ms, a non-2xx status (with its Retry-After), or a body that is not the expected JSON page.
 */
export class HotlineRestSource implements OrderSource<RestContinuation> {
  readonly name: string;
  private readonly base: URL;

  constructor(private readonly config: HotlineRestConnectorConfig) {
    this.base = new URL(
      config.path.replace(/^\//, ''),
      config.base_url.endsWith('/') ? config.base_url : `${config.base_url}/`,
    );
    this.name = `${this.base.origin}${this.base.pathname}`;
  }

  async read(
    cursor: HotlineCursor | undefined,
    continuation: RestContinuation | undefined,
    signal: AbortSignal,
  ): Promise<OrderPage<RestContinuation>> {
    const { pagination, page_size } = this.config;
    let url: URL;
    let page: number | undefined;
    let since = cursor;
    if (continuation && 'url' in continuation) url = new URL(continuation.url, this.base);
    else {
      since = continuation ? continuation.since : cursor;
      page = pagination.type === 'page_number' ? (continuation?.page ?? pagination.first_page) : undefined;
      url = this.listUrl(since, page);
    }
    const body = await this.getJson(url, signal);
    const records = atPath(body, this.config.records_path);
    if (!Array.isArray(records))
      throw new HotlineBadPageError(
        `${this.name} answered JSON without an array at ${this.config.records_path === '' ? 'its root' : `"${this.config.records_path}"`}`,
        { source: this.name },
      );
    const where = page === undefined ? url.pathname : `${url.pathname} page ${page}`;
    const { orders, unusable } = ordersOf(
      records,
      { ...this.config.fields, utc_offset: this.config.source_utc_offset },
      where,
    );
    const result: OrderPage<RestContinuation> = { orders, unusable };
    if (pagination.type === 'page_number') {
      if (records.length >= page_size) result.next = { page: page! + 1, since };
    } else {
      const next = atPath(body, pagination.next_path);
      if (typeof next === 'string' && next !== '') result.next = { url: new URL(next, this.base).href };
    }
    return result;
  }

  async close(): Promise<void> {}

  private listUrl(since: HotlineCursor | undefined, page: number | undefined): URL {
    const url = new URL(this.base);
    const { query } = this.config;
    if (since) {
      url.searchParams.set(query.updated_since, since.updated_at);
      url.searchParams.set(query.after_id, since.order_id);
    }
    url.searchParams.set(query.page_size, String(this.config.page_size));
    if (page !== undefined && this.config.pagination.type === 'page_number')
      url.searchParams.set(this.config.pagination.page_param, String(page));
    return url;
  }

  private async getJson(url: URL, signal: AbortSignal): Promise<unknown> {
    const deadline = abortAfter(this.config.request_timeout_ms, signal);
    const source = this.name;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: { accept: 'application/json', ...this.config.headers },
        signal: deadline.signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw error;
      const why = deadline.timedOut()
        ? `no answer within ${this.config.request_timeout_ms} ms`
        : `cannot be reached: ${causeMessage(error)}`;
      throw new HotlineSourceError(`${source} ${why}`, { source, cause: error });
    } finally {
      deadline.clear();
    }
    if (!response.ok) {
      const retryAfterMs = retryAfter(response.headers.get('retry-after'));
      throw new HotlineSourceError(`${source} answered ${response.status}: ${preview(text)}`, {
        source,
        status: response.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    try {
      return JSON.parse(text);
    } catch {
      const type = response.headers.get('content-type') ?? 'no content-type';
      throw new HotlineBadPageError(
        `${source} answered ${response.status} with a page that is not JSON (${type}): ${preview(text)}`,
        {
          source,
          status: response.status,
        },
      );
    }
  }
}

/** Retry-After in ms: delay-seconds or an HTTP date. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS)}…` : flat);
}

/** undici hides the socket error (ECONNREFUSED …) in `cause`. */
function causeMessage(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const inner = cause instanceof Error ? cause.message : undefined;
  const outer = error instanceof Error ? error.message : String(error);
  return inner ? `${outer} (${inner})` : outer;
}
