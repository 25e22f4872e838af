import type { HotlineSqlConnectorConfig } from './config.js';

/** A configured identifier, double-quoted (the config already allows no quote in it; doubled anyway). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The one query of a poll, parameterized: $1/$2 the cursor (update time as PostgreSQL wrote it, order id), $3 the
 * batch size. Ids are compared and ordered as text in the "C" collation, the order the connector's cursor uses
 * whatever the column's type and the database's locale.
 *
 *   select <columns>, <updated_at>::text as "__cursor_at", <order_id>::text as "__cursor_id" from <table>
 *   where <updated_at> > $1 or (<updated_at> = $1 and <order_id>::text collate "C" > $2)
 *   order by <updated_at>, <order_id>::text collate "C" limit $3
 */
export function cursorQuery(config: HotlineSqlConnectorConfig, withCursor: boolean): string {
  const table = config.schema
    ? `${quoteIdentifier(config.schema)}.${quoteIdentifier(config.table)}`
    : quoteIdentifier(config.table);
  const at = quoteIdentifier(config.updated_at_column);
  const id = `${quoteIdentifier(config.order_id_column)}::text collate "C"`;
  const columns = config.columns ? config.columns.map(quoteIdentifier).join(', ') : '*';
  const where = withCursor ? `${at} > $1 or (${at} = $1 and ${id} > $2)` : `${at} is not null`;
  const limit = withCursor ? '$3' : '$1';
  return (
    `select ${columns}, ${at}::text as "${CURSOR_AT}", ${quoteIdentifier(config.order_id_column)}::text as "${CURSOR_ID}" ` +
    `from ${table} where ${where} order by ${at}, ${id} limit ${limit}`
  );
}

/** Result columns carrying the cursor as PostgreSQL writes it; removed from the message. */
export const CURSOR_AT = '__cityhub_cursor_at';
export const CURSOR_ID = '__cityhub_cursor_id';
