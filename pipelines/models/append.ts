import { type DuckDBConnection, dateValue, LIST, listValue, timestampTZValue, VARCHAR } from '@duckdb/node-api';
import { type ColumnSpec, ident } from './columns.js';

function parseDate(field: string, value: string) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) throw new TypeError(`${field}: expected YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return dateValue({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) });
}

function parseTimestamp(field: string, value: string) {
  const m = /\.(\d+)Z$/.exec(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError(`${field}: expected an ISO timestamp, got ${JSON.stringify(value)}`);
  // Date.parse keeps milliseconds; add the sub-millisecond digits back.
  const subMs = m ? BigInt(`${m[1]!.slice(3)}000`.slice(0, 3)) : 0n;
  return timestampTZValue(BigInt(ms) * 1000n + subMs);
}

/**
 * Creates `table` with the given typed columns and appends the rows (values as zod outputs: strings, numbers,
 * booleans, string arrays, ISO dates and timestamps; undefined or null → NULL).
 */
export async function createTableWithRows(
  connection: DuckDBConnection,
  table: string,
  columns: ColumnSpec[],
  rows: Record<string, unknown>[],
): Promise<void> {
  await connection.run(`create table ${ident(table)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
  const appender = await connection.createAppender(table);
  try {
    for (const row of rows) {
      for (const c of columns) {
        const v = row[c.name];
        if (v === undefined || v === null) {
          appender.appendNull();
          continue;
        }
        switch (c.type) {
          case 'VARCHAR':
            appender.appendVarchar(String(v));
            break;
          case 'DATE':
            appender.appendDate(parseDate(c.name, String(v)));
            break;
          case 'TIMESTAMPTZ':
            appender.appendTimestampTZ(parseTimestamp(c.name, String(v)));
            break;
          case 'DOUBLE':
            appender.appendDouble(Number(v));
            break;
          case 'BIGINT':
            appender.appendBigInt(BigInt(v as number));
            break;
          case 'INTEGER':
            appender.appendInteger(Number(v));
            break;
          case 'BOOLEAN':
            appender.appendBoolean(Boolean(v));
            break;
          case 'VARCHAR[]':
            appender.appendList(listValue((v as unknown[]).map(String)), LIST(VARCHAR));
            break;
        }
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}
