import { createRequire } from 'node:module';
import type pg from 'pg';
import type { HotlineCursor, SourceOrder } from '../hotline-cursor/cursor.js';
import { HotlineSourceError } from '../hotline-cursor/errors.js';
import { instantKey, isoText } from '../hotline-cursor/instant.js';
import type { OrderPage, OrderSource, UnusableOrder } from '../hotline-cursor/poller.js';
import type { HotlineSqlConnectorConfig } from './config.js';
import { CURSOR_AT, CURSOR_ID, cursorQuery } from './query.js';

/** pg, loaded by the first PostgreSQL source: a hub without one (npm start) starts without loading it. */
let loaded: typeof pg | undefined;
function pgModule(): typeof pg {
  loaded ??= createRequire(import.meta.url)('pg') as typeof pg;
  return loaded;
}

/** PostgreSQL type OIDs whose JavaScript values would not survive JSON as the source wrote them. */
const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;
const DATE = 1082;
const BYTEA = 17;

/**
 * Values as JSON can carry them: timestamptz as ISO 8601 UTC text (microseconds kept), timestamp without a zone as
 * ISO text without one (the mapping names its zone), dates as YYYY-MM-DD, bytea as PostgreSQL's hex text; int8 and
 * numeric stay text (pg's default) so no digit is lost. NULL stays null: the mapping decides whether that is allowed.
 */
const jsonTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ) return (text: string) => isoText(instantKey(text, '+00:00') ?? text);
    if (oid === TIMESTAMP) return (text: string) => text.replace(' ', 'T');
    if (oid === DATE || oid === BYTEA) return (text: string) => text;
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads differ by format; the default parser is what we want.
    return pgModule().types.getTypeParser(oid, format as any);
  },
};

/**
 * Reads work orders from a PostgreSQL table or view over a small pool: one parameterized cursor query per read
 * (query.ts), the session in UTC so update times compare and print the same on every connection. Any failure (the
 * server down, a statement timeout, a missing table) is a retriable HotlineSourceError naming the SQLSTATE.
 */
export class HotlineSqlSource implements OrderSource<true> {
  readonly name: string;
  private readonly pool: pg.Pool;
  private readonly withCursor: string;
  private readonly fromStart: string;

  constructor(private readonly config: HotlineSqlConnectorConfig) {
    const url = new URL(config.connection_string);
    this.name = `postgres://${url.host}${url.pathname} ${config.schema ? `${config.schema}.` : ''}${config.table}`;
    this.pool = new (pgModule().Pool)({
      connectionString: config.connection_string,
      max: config.pool_size,
      connectionTimeoutMillis: config.connect_timeout_ms,
      statement_timeout: config.statement_timeout_ms,
      // The server cancels a slow statement itself; a server that hangs or a connection that went silent (no FIN, no
      // RST) never answers at all: the client gives up too, a little later, and the connection is discarded.
      query_timeout: config.statement_timeout_ms + config.connect_timeout_ms,
      application_name: 'cityhub',
      options: '-c TimeZone=UTC',
      types: jsonTypes,
    });
    // An idle connection the server dropped: the next query reconnects; without a listener it would crash the hub.
    this.pool.on('error', () => {});
    this.withCursor = cursorQuery(config, true);
    this.fromStart = cursorQuery(config, false);
  }

  async read(cursor: HotlineCursor | undefined): Promise<OrderPage<true>> {
    const limit = this.config.batch_size;
    let rows: Record<string, unknown>[];
    try {
      const result = cursor
        ? await this.pool.query({ text: this.withCursor, values: [cursor.updated_at, cursor.order_id, limit] })
        : await this.pool.query({ text: this.fromStart, values: [limit] });
      rows = result.rows as Record<string, unknown>[];
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message = error instanceof Error ? error.message : String(error);
      throw new HotlineSourceError(`${this.name}: ${message}${code ? ` (${code})` : ''}`, {
        source: this.name,
        cause: error,
      });
    }
    const orders: SourceOrder[] = [];
    const unusable: UnusableOrder[] = [];
    let pastIdless: HotlineCursor | undefined;
    for (const row of rows) {
      const updated = row[CURSOR_AT] as string;
      const id = row[CURSOR_ID] as string | null;
      const at = instantKey(updated, '+00:00')!;
      delete row[CURSOR_AT];
      delete row[CURSOR_ID];
      if (id === null) {
        unusable.push(this.idless(row, updated));
        pastIdless = { updated_at: updated, order_id: '', at };
      } else orders.push({ order_id: id, updated_at: updated, at, value: JSON.stringify(row) });
    }
    // A full batch: more may wait right behind it (asked for at once, from the advanced cursor).
    const page: OrderPage<true> = rows.length >= limit ? { orders, next: true } : { orders };
    if (unusable.length > 0) page.unusable = unusable;
    // A row without an order id cannot move the connector's cursor (it is dead-lettered), so a page of nothing else
    // would be read again and again: the poller reads on from here. NULL ids sort after every id of the same update
    // time, so nothing of that time is left behind. In memory only: after a restart those rows are read (and
    // dead-lettered) once more.
    if (pastIdless) page.readTo = pastIdless;
    return page;
  }

  /** A row whose order id is NULL: it cannot be keyed nor placed on the cursor, so it is a connector dead letter. */
  private idless(row: Record<string, unknown>, updated: string): UnusableOrder {
    const { order_id_column, updated_at_column } = this.config;
    return {
      value: JSON.stringify(row),
      reason: 'no_cursor_fields',
      why: `a row of ${this.name} has a NULL ${order_id_column} (id); ${updated_at_column} ${updated}`,
      source_ref: `${this.name} ${updated_at_column}=${updated}`,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
