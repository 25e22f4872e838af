/**
 * `cityhub dlq ls|show|replay`: the dead letters of the lake (`<lake>/_dlq/<feed>/dt=…/*.parquet`, docs/lake.md) as
 * an operator looks for them — which feeds, which reasons, since when — one message's dead letters in full, and
 * their replay after a fix (pipelines/dlq/replay.ts).
 */
import { parseArgs } from 'node:util';
import type { DuckDBConnection } from '@duckdb/node-api';
import { EmbeddedBusLockedError } from '../bus/embedded/errors.js';
import { openBus } from '../bus/index.js';
import { loadConfig } from '../config/load.js';
import { deadLetterFeeds, filterClause, filterParams, openDeadLetters, selectRows, sinceInstant } from '../dlq/read.js';
import { replayDeadLetters } from '../dlq/replay.js';
import { CityhubError, UsageError } from '../errors.js';
import { LocalLakeStore } from '../land/local-store.js';
import { S3LakeStore } from '../land/s3-store.js';
import { createRowWriter, type RowFormat } from '../models/format.js';
import { parseDuration } from './duration.js';

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
      id: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const action = positionals[0];
  if (action !== 'ls' && action !== 'show' && action !== 'replay')
    throw new UsageError('expected `cityhub dlq ls`, `cityhub dlq show ID` or `cityhub dlq replay`');
  const format = values.format as RowFormat;
  if (!['table', 'csv', 'json'].includes(format))
    throw new UsageError(`--format must be table, csv or json (got ${format})`);
  if (values.feed !== undefined && !(deadLetterFeeds as readonly string[]).includes(values.feed))
    throw new UsageError(`--feed must be one of ${deadLetterFeeds.join(', ')} (got ${values.feed})`);
  if (!/^\d{1,7}$/.test(values.limit!) || Number(values.limit) < 1)
    throw new UsageError('--limit is a whole number ≥ 1');
  if (action !== 'replay' && (values.id !== undefined || values['dry-run']))
    throw new UsageError('--id and --dry-run go with `cityhub dlq replay`');
  for (const id of values.id ?? [])
    if (!/^.+:\d+:\d+$/.test(id))
      throw new UsageError(`--id ${id}: expected <topic>:<partition>:<offset> (from dlq ls)`);
  const loaded = loadConfig(values.config);
  const filter = {
    feed: values.feed,
    reason: values.reason,
    since: values.since === undefined ? undefined : sinceInstant(values.since, parseDuration),
  };
  if (action === 'replay') return replay(loaded, filter, values.id ?? [], values['dry-run']!, format, out);
  const reader = await openDeadLetters(loaded.paths.lakeDir);
  try {
    if (action === 'show') return await show(reader.connection, reader.source, positionals[1], format, out);
    const params = filterParams(filter);
    const listed = await selectRows(
      reader.connection,
      `select _topic || ':' || _partition || ':' || _offset as id, feed, reason_code, records, dead_lettered_at, source,
              reason
       from ${reader.source} where ${filterClause}
       order by dead_lettered_at desc, _topic, _partition, _offset limit ${Number(values.limit)}`,
      params,
    );
    const writer = createRowWriter(format);
    out(writer.begin(listed.columns) + writer.rows(listed.rows) + writer.end());
    if (format === 'table') {
      const counts = await selectRows(
        reader.connection,
        `select feed, reason_code, count(*) as dead_letters, sum(records) as records from ${reader.source}
         where ${filterClause} group by feed, reason_code order by feed, reason_code`,
        params,
      );
      const summary = createRowWriter('table');
      out(`\n${summary.begin(counts.columns)}${summary.rows(counts.rows)}${summary.end()}`);
    }
    return 0;
  } finally {
    reader.close();
  }
}

async function replay(
  loaded: ReturnType<typeof loadConfig>,
  filter: Parameters<typeof replayDeadLetters>[0]['filter'],
  ids: string[],
  dryRun: boolean,
  format: RowFormat,
  out: (text: string) => void,
): Promise<number> {
  const { config, paths } = loaded;
  const s3Store =
    config.lake.type === 's3' ? new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir }) : undefined;
  const store = s3Store ?? new LocalLakeStore(paths.lakeDir);
  try {
    const bus = await openReplayBus(loaded);
    try {
      const outcome = await replayDeadLetters({ bus, store, lakeDir: paths.lakeDir, filter, ids, dryRun });
      // Notes only beside a table: JSON and CSV stay parseable.
      if (format === 'table') {
        for (const id of outcome.pending)
          out(
            `the interrupted ${id} is pending: the next replay records what it appended first, and does not append it again\n`,
          );
        for (const record of outcome.recovered) {
          const appended = record.messages.filter((m) => m.as !== null).length;
          out(`finished the interrupted ${record.replay_id}: ${appended} message(s) it had appended are recorded\n`);
        }
      }
      const rows = outcome.messages.map((m) => [
        m.of,
        m.feed,
        m.reason_codes.join(','),
        m.records,
        m.lines?.join(',') ?? '',
        m.skipped !== undefined ? 'skipped' : dryRun ? 'would replay' : 'replayed',
        m.as ?? '',
        m.skipped ?? '',
      ]);
      const writer = createRowWriter(format);
      out(
        writer.begin(['id', 'feed', 'reason_codes', 'records', 'lines', 'action', 'replayed_as', 'why']) +
          writer.rows(rows) +
          writer.end(),
      );
      if (format === 'table') {
        const replayed = outcome.messages.filter((m) => m.skipped === undefined);
        const records = replayed.reduce((n, m) => n + m.records, 0);
        const skipped = outcome.messages.length - replayed.length;
        out(
          `${dryRun ? 'would replay' : 'replayed'} ${replayed.length} message(s), ${records} record(s); skipped ${skipped}; ` +
            `${outcome.alreadyReplayed} dead letter(s) chosen were replayed before` +
            `${outcome.replayId === undefined ? '' : `; recorded as ${outcome.replayId}`}\n`,
        );
        if (!dryRun && replayed.length > 0 && config.bus.type === 'embedded')
          out('start the hub (cityhub run) to land them\n');
      }
      return 0;
    } finally {
      await bus.close();
    }
  } finally {
    s3Store?.client.destroy();
  }
}
/** The embedded bus is open by a running hub: a replay must wait for it to stop. */
export class ReplayBusBusyError extends CityhubError {}

async function openReplayBus(loaded: ReturnType<typeof loadConfig>) {
  try {
    return await openBus(loaded.config.bus, loaded.paths);
  } catch (error) {
    if (!(error instanceof EmbeddedBusLockedError)) throw error;
    const holder = error.pid === null ? 'another process' : `process ${error.pid}`;
    throw new ReplayBusBusyError(
      `the embedded bus (${error.dir}) is held by the running hub (${holder}): stop it (it drains and lands what it holds), run \`cityhub dlq replay\`, then start it again; over Kafka (bus.type kafka) a replay runs beside the hub`,
      { cause: error },
    );
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
  const rows = await selectRows(
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
