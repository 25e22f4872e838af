/**
 * Reading the lake's dead letters (`<lake>/_dlq/<feed>/dt=…/*.parquet`, docs/lake.md) with an in-memory DuckDB that
 * may read the lake folder only; filters are bound, never spliced into the SQL.
 */
import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import { UsageError } from '../errors.js';
import { literal } from '../models/columns.js';
import { type JsValue, toJsValue } from '../models/query.js';

export const deadLetterFeeds = ['sensor', 'video', 'hotline', 'event', 'dept'] as const;

/** Which dead letters: each filter is optional; `since` is an ISO instant. */
export interface DeadLetterFilter {
  feed?: string | undefined;
  reason?: string | undefined;
  since?: string | undefined;
}

export interface DeadLetterReader {
  connection: DuckDBConnection;
  /** A relation of every dead letter (with `filename`), or an empty one of the same columns when there are none. */
  source: string;
  close(): void;
}

/** The WHERE clause of a filter, over bound parameters `$feed`, `$reason`, `$since`. */
export const filterClause = `($feed is null or feed = $feed) and ($reason is null or reason_code = $reason)
  and ($since is null or dead_lettered_at >= cast($since as timestamptz))`;

export function filterParams(filter: DeadLetterFilter): Record<string, string | null> {
  return { feed: filter.feed ?? null, reason: filter.reason ?? null, since: filter.since ?? null };
}

export async function openDeadLetters(lakeDir: string): Promise<DeadLetterReader> {
  const files = await deadLetterFiles(join(lakeDir, '_dlq'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`set allowed_directories = [${literal(`${lakeDir}${sep}`)}]`);
    await connection.run('set enable_external_access = false');
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }
  const source =
    files.length === 0
      ? `(select cast(null as varchar) as feed, cast(null as varchar) as source, cast(null as varchar) as reason_code,
           cast(null as varchar) as reason, cast(null as varchar) as raw, cast(null as boolean) as raw_truncated,
           cast(null as bigint) as records, cast(null as varchar) as coordinates, cast(null as varchar) as _topic,
           cast(null as integer) as _partition, cast(null as bigint) as _offset,
           cast(null as timestamptz) as dead_lettered_at, cast(null as varchar) as filename where false)`
      : `read_parquet([${files.map(literal).join(', ')}], union_by_name = true, filename = true)`;
  return {
    connection,
    source,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Rows of a query with VARCHAR-bound parameters, as plain JS values. */
export async function selectRows(
  connection: DuckDBConnection,
  sql: string,
  params: Record<string, string | null>,
): Promise<{ columns: string[]; rows: JsValue[][] }> {
  const types = Object.fromEntries(Object.keys(params).map((k) => [k, VARCHAR]));
  const reader = await connection.runAndReadAll(sql, params, types);
  const columnTypes = reader.columnTypes();
  return {
    columns: reader.columnNames(),
    rows: reader.getRows().map((row) => row.map((v, c) => toJsValue(v, columnTypes[c]!))),
  };
}

/** `1h`-style durations count back from now; a day (YYYY-MM-DD) starts at 00:00 Asia/Shanghai. */
export function sinceInstant(text: string, parseDuration: (text: string) => number): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = new Date(`${text}T00:00:00+08:00`);
    if (Number.isNaN(day.getTime())) throw new UsageError(`--since ${text}: not a day`);
    return day.toISOString();
  }
  return new Date(Date.now() - parseDuration(text)).toISOString();
}

async function deadLetterFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true }))
      .filter((f) => f.endsWith('.parquet') && !f.split(sep).some((part) => part.endsWith('.tmp')))
      .map((f) => join(dir, f))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
