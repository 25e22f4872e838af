/**
 * The last published marts build, from the marts file's own run log (`cityhub_run_log`, one row per model and
 * build), read-only. A build that failed its data tests is not published, so it is not there: the status file of
 * the process that built it says so.
 */
import { stat } from 'node:fs/promises';
import { MartsQueryError } from '../models/errors.js';
import { RUN_LOG_TABLE } from '../models/incremental.js';
import { queryMarts } from '../models/query.js';

export interface PublishedBuild {
  marts_path: string;
  /** The build's id: when it started (ISO 8601). */
  build_id: string;
  /** When the file was swapped in (its modification time). */
  published_at: string;
  models: number;
  /** The models' build times added up. */
  models_ms: number;
  /** Models with a data test of warn severity failing. */
  tests_warned: number;
}

/** Undefined when there is no marts file yet, or it holds no run log (not written by a cityhub build). */
export async function lastPublishedBuild(martsPath: string): Promise<PublishedBuild | undefined> {
  let publishedAt: Date;
  try {
    publishedAt = (await stat(martsPath)).mtime;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let rows: unknown[][];
  try {
    ({ rows } = await queryMarts({
      martsPath,
      sql: `select build_id, count(*), coalesce(sum(ms), 0), count(*) filter (where tests = 'warned')
            from ${RUN_LOG_TABLE} where build_id = (select max(build_id) from ${RUN_LOG_TABLE}) group by build_id`,
    }));
  } catch (error) {
    if (error instanceof MartsQueryError) return undefined;
    throw error;
  }
  const [row] = rows;
  if (row === undefined) return undefined;
  return {
    marts_path: martsPath,
    build_id: String(row[0]),
    published_at: publishedAt.toISOString(),
    models: Number(row[1]),
    models_ms: Number(row[2]),
    tests_warned: Number(row[3]),
  };
}
