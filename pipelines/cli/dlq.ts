/**
 * `cityhub dlq ls|show`: the dead letters of the lake (`<lake>/_dlq/<feed>/dt=…/*.parquet`, docs/lake.md) as an
 * operator looks for them — which feeds, which reasons, since when — and one message's dead letters in full.
 * Read-only, through an in-memory DuckDB allowed to read the lake folder only; filters are bound, never spliced.
 */
import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { type DuckDBConnection, DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { literal } from '../models/columns.js';
import { createRowWriter, type RowFormat } from '../models/format.js';
import { type JsValue, toJsValue } from '../models/query.js';
import { parseDuration } from './duration.js';

export const dlqHelp = `Usage: cityhub dlq ls [--feed FEED] [--reason CODE] [--since DURATION|YYYY-MM-DD] [--limit N]
                      [--format table|csv|json] [--config FILE]
       cityhub dlq show ID [--format table|json] [--config FILE]

  ls    the lake's dead letters, newest first: id (<topic>:<partition>:<offset>, the bus message they came from),
        feed, reason_code, records (how many source records it stands for), dead_lettered_at, source, reason;
        then, in table format, the count per feed and reason. --since 1h (a duration back from now) or a day.
  show  every dead letter of one message (its id from ls): reason, coordinates (which record, line or file), and
        the payload as it was on the bus (personal data masked, docs/privacy.md).
Reads <lake>/_dlq (for an S3 lake, the local mirror the models role syncs). Replaying dead letters after a mapping
fix is not available yet.`;

const feeds = ['sensor', 'video', 'hotline', 'event', 'dept'];

export async function commandDlq(args: string[], out: (text: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      feed: { type: 'string' },
      reason: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '100' },
      format: { type: 'string', default: 'table' },
    },
    allowPositionals: true,
    strict: true,
  });
  const action = positionals[0];
  if (action !== 'ls' && action !== 'show') throw new UsageError('expected `cityhub dlq ls` or `cityhub dlq show ID`');
  const format = values.format as RowFormat;
  if (!['table', 'csv', 'json'].includes(format))
    throw new UsageError(`--format must be table, csv or json (got ${format})`);
  if (values.feed !== undefined && !feeds.includes(values.feed))
    throw new UsageError(`--feed must be one of ${feeds.join(', ')} (got ${values.feed})`);
  if (!/^\d{1,7}$/.test(values.limit!) || Number(values.limit) < 1)
    throw new UsageError('--limit is a whole number ≥ 1');
  const { paths } = loadConfig(values.config);
  const dlqDir = join(paths.lakeDir, '_dlq');
  const files = await parquetFiles(dlqDir);
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`set allowed_directories = [${literal(`${paths.lakeDir}${sep}`)}]`);
    await connection.run('set enable_external_access = false');
    const source =
      files.length === 0
        ? `(select cast(null as varchar) as feed, cast(null as varchar) as source, cast(null as varchar) as reason_code,
             cast(null as varchar) as reason, cast(null as varchar) as raw, cast(null as boolean) as raw_truncated,
             cast(null as bigint) as records, cast(null as varchar) as coordinates, cast(null as varchar) as _topic,
             cast(null as integer) as _partition, cast(null as bigint) as _offset,
             cast(null as timestamptz) as dead_lettered_at where false)`
        : `read_parquet([${files.map(literal).join(', ')}], union_by_name = true)`;
    if (action === 'show') return await show(connection, source, positionals[1], format, out);
    const params = {
      feed: values.feed ?? null,
      reason: values.reason ?? null,
      since: values.since === undefined ? null : sinceInstant(values.since),
    };
    const where = `where ($feed is null or feed = $feed) and ($reason is null or reason_code = $reason)
      and ($since is null or dead_lettered_at >= cast($since as timestamptz))`;
    const listed = await select(
      connection,
      `select _topic || ':' || _partition || ':' || _offset as id, feed, reason_code, records, dead_lettered_at, source,
              reason
       from ${source} ${where}
       order by dead_lettered_at desc, _topic, _partition, _offset limit ${Number(values.limit)}`,
      params,
    );
    const writer = createRowWriter(format);
    out(writer.begin(listed.columns) + writer.rows(listed.rows) + writer.end());
    if (format === 'table') {
      const counts = await select(
        connection,
        `select feed, reason_code, count(*) as dead_letters, sum(records) as records from ${source} ${where}
         group by feed, reason_code order by feed, reason_code`,
        params,
      );
      const summary = createRowWriter('table');
      out(`\n${summary.begin(counts.columns)}${summary.rows(counts.rows)}${summary.end()}`);
    }
    return 0;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function show(
  connection: DuckDBConnection,
  source: string,
  id: string | undefined,
  format: RowFormat,
  out: (text: string) => void,
): Promise<number> {
  const m = /^(.+):(\d+):(\d+)$/.exec(id ?? '');
  if (m === null)
    throw new UsageError('expected `cityhub dlq show <topic>:<partition>:<offset>` (an id from `dlq ls`)');
  const rows = await select(
    connection,
    `select feed, source, reason_code, reason, records, coordinates, dead_lettered_at, raw_truncated, raw
     from ${source} where _topic = $topic and _partition = cast($partition as integer) and _offset = cast($offset as bigint)
     order by coordinates`,
    { topic: m[1]!, partition: m[2]!, offset: m[3]! },
  );
  if (rows.rows.length === 0) {
    out(`no dead letter of message ${id} in the lake\n`);
    return 1;
  }
  if (format === 'table') {
    for (const [i, row] of rows.rows.entries()) {
      out(`dead letter ${i + 1} of ${rows.rows.length} (message ${id})\n`);
      for (const [c, column] of rows.columns.entries()) out(`  ${column.padEnd(16)} ${String(row[c])}\n`);
    }
  } else {
    const writer = createRowWriter(format);
    out(writer.begin(rows.columns) + writer.rows(rows.rows) + writer.end());
  }
  return 0;
}

/** `1h`-style durations count back from now; a day (YYYY-MM-DD) starts at 00:00 Asia/Shanghai. */
function sinceInstant(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const day = new Date(`${text}T00:00:00+08:00`);
    if (Number.isNaN(day.getTime())) throw new UsageError(`--since ${text}: not a day`);
    return day.toISOString();
  }
  return new Date(Date.now() - parseDuration(text)).toISOString();
}

async function parquetFiles(dir: string): Promise<string[]> {
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

async function select(
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
