/**
 * The lake's dead letters of the last hour, per feed and reason: read from `<lake>/_dlq/<feed>/dt=<day>/` as
 * `cityhub dlq ls` reads them (an in-memory DuckDB allowed to read the lake folder only), but only the day folders the
 * hour can fall in (today and yesterday, Asia/Shanghai, the days dead letters are filed under), so the cost does not
 * grow with the lake's history. The lake holds what every pipeline process landed, before and after any restart.
 */
import { join, sep } from 'node:path';
import { DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import { walkFiles } from '../land/walk-files.js';
import { literal } from '../models/columns.js';
import { shanghaiDate } from '../normalize/time.js';

export interface LakeDeadLetters {
  feed: string;
  reason: string;
  /** Dead-letter rows (one per rejected record, or per message rejected whole). */
  dead_letters: number;
  /** Source records they stand for. */
  records: number;
}

/** Dead letters filed since `sinceMs` under the lake at `lakeDir` (none when it has no `_dlq`). */
export async function lakeDeadLettersSince(
  lakeDir: string,
  sinceMs: number,
  now = Date.now(),
): Promise<LakeDeadLetters[]> {
  const days = new Set([`dt=${shanghaiDate(sinceMs)}`, `dt=${shanghaiDate(now)}`]);
  const dlqDir = join(lakeDir, '_dlq');
  const files: string[] = [];
  // _dlq/<feed>/dt=<day>/: every feed folder is entered, of its day folders only those of the hour.
  for await (const file of walkFiles(dlqDir, (parent, name) => parent === dlqDir || days.has(name)))
    if (file.endsWith('.parquet')) files.push(file);
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`set allowed_directories = [${literal(`${lakeDir}${sep}`)}]`);
    await connection.run('set enable_external_access = false');
    const reader = await connection.runAndReadAll(
      `select feed, reason_code, count(*), sum(records)
       from read_parquet([${files.map(literal).join(', ')}], union_by_name = true)
       where dead_lettered_at >= cast($since as timestamptz)
       group by feed, reason_code order by feed, reason_code`,
      { since: new Date(sinceMs).toISOString() },
      { since: VARCHAR },
    );
    return reader.getRows().map(([feed, reason, deadLetters, records]) => ({
      feed: String(feed),
      reason: String(reason),
      dead_letters: Number(deadLetters),
      records: Number(records),
    }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
