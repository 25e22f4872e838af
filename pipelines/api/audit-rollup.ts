/**
 * The API audit log as a lake dataset: each audit file of a past day (`<data_dir>/audit/api/dt=<day>/api-<pid>.ndjson`,
 * appended by audit.ts) becomes `<lake>/_audit/api/dt=<day>/api-<pid>.parquet`, typed, and the NDJSON file goes.
 * Only days at least two days old move (no process appends to them any more: an entry goes to the file of its own UTC
 * day), each source to a file of its own name, so a roll-up interrupted after its commit and before the source's removal
 * writes the same file again next time instead of a second copy.
 */
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from 'pino';
import type { LakeStore } from '../land/store.js';
import { literal } from '../models/columns.js';

export const AUDIT_DATASET_DIR = '_audit/api';

/** The audit entry's columns (audit.ts AuditEntry) as the dataset types them. */
const auditColumns: Record<string, string> = {
  at: 'TIMESTAMPTZ',
  token_id: 'VARCHAR',
  method: 'VARCHAR',
  route: 'VARCHAR',
  query: 'VARCHAR',
  status: 'INTEGER',
  rows: 'BIGINT',
  ms: 'DOUBLE',
  client: 'VARCHAR',
};

export interface AuditRollup {
  files: number;
  rows: number;
  /** Lines that were not JSON (the torn last line of a process that died mid-append). */
  unreadable: number;
}

export async function rollUpAuditDays(
  auditDir: string,
  store: LakeStore,
  options: { now?: Date; log?: Logger } = {},
): Promise<AuditRollup> {
  const now = options.now ?? new Date();
  const newestToMove = new Date(now.getTime() - 2 * 86_400_000).toISOString().slice(0, 10);
  const outcome: AuditRollup = { files: 0, rows: 0, unreadable: 0 };
  const days = (await listOrEmpty(auditDir))
    .map((name) => /^dt=(\d{4}-\d{2}-\d{2})$/.exec(name)?.[1])
    .filter((day): day is string => day !== undefined && day <= newestToMove)
    .sort();
  if (days.length === 0) return outcome;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const day of days) {
      const folder = join(auditDir, `dt=${day}`);
      for (const name of (await listOrEmpty(folder)).filter((n) => n.endsWith('.ndjson')).sort()) {
        const source = join(folder, name);
        if ((await stat(source)).size > 0) {
          const relPath = `${AUDIT_DATASET_DIR}/dt=${day}/${name.slice(0, -'.ndjson'.length)}.parquet`;
          const staged = await store.stagingPath(relPath);
          const columns = Object.entries(auditColumns)
            .map(([column, type]) => `${literal(column)}: ${literal(type)}`)
            .join(', ');
          const read = `read_json(${literal(source)}, format = 'newline_delimited', columns = {${columns}}, ignore_errors = true)`;
          await connection.run(
            `copy (select * from ${read} where "at" is not null order by "at") to ${literal(staged)} (format parquet)`,
          );
          const counts = await connection.runAndReadAll(
            `select (select count(*) from read_parquet(${literal(staged)})),
                    (select count(*) from read_text(${literal(source)}), unnest(string_split(content, chr(10))) as t(line)
                     where trim(line) <> '')`,
          );
          const [rows, lines] = counts.getRows()[0]!.map(Number) as [number, number];
          await store.commit([relPath]);
          outcome.files++;
          outcome.rows += rows;
          outcome.unreadable += lines - rows;
          if (lines > rows)
            options.log?.warn({ file: source, unreadable: lines - rows }, 'api audit log: lines that are not JSON');
        }
        await rm(source, { force: true });
      }
      // Empty now, unless a process still appends to it (then it goes next time).
      await rmdir(folder).catch(() => {});
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return outcome;
}

async function listOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
