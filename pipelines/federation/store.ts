/**
 * What a hub pulled from each member hub, under `<data_dir>/federation/<member>/`: `values.parquet` (the member's
 * indicator values as it served them, with the snapshot they came from) and `state.json` (the last good pull and the
 * last attempt). The values file is replaced whole by rename after it is written; the state after it, so a crash in
 * between leaves a state naming an older snapshot, and the next pull fetches again.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { literal } from '../models/columns.js';

export interface MemberState {
  member_id: string;
  region_code: string;
  /** The member snapshot the stored values come from (null before the first good pull). */
  snapshot_id: string | null;
  /** When those values were pulled. */
  pulled_at: string | null;
  /** The last time the member answered (a pull, or a 304: nothing new). */
  checked_at: string | null;
  /** The last attempt, and its error when it failed (null when it succeeded). */
  attempted_at: string | null;
  last_error: string | null;
  /** Failed pulls in a row (the circuit breaker opens at federation.breaker_failures). */
  failures: number;
  rows: number;
  /** When every period was last pulled (later pulls may ask only for recent ones: federation.recent_days). */
  full_pulled_at?: string | null;
}

/** The columns of a pulled row, as /api/v1/aggregates serves them (mart_indicator_values of the member). */
export const pulledColumns: Record<string, string> = {
  grain: 'VARCHAR',
  period: 'VARCHAR',
  period_start: 'DATE',
  period_end: 'DATE',
  is_complete: 'BOOLEAN',
  counted_end: 'DATE',
  data_cutoff: 'TIMESTAMPTZ',
  region_code: 'VARCHAR',
  region_level: 'VARCHAR',
  indicator_code: 'VARCHAR',
  unit: 'VARCHAR',
  value: 'DOUBLE',
  numerator: 'DOUBLE',
  denominator: 'DOUBLE',
};

export const memberDir = (federationDir: string, memberId: string) => join(federationDir, memberId);
export const valuesFile = (federationDir: string, memberId: string) =>
  join(memberDir(federationDir, memberId), 'values.parquet');

export async function readMemberState(
  federationDir: string,
  member: { id: string; region_code: string },
): Promise<MemberState> {
  try {
    return JSON.parse(await readFile(join(memberDir(federationDir, member.id), 'state.json'), 'utf8')) as MemberState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return {
      member_id: member.id,
      region_code: member.region_code,
      snapshot_id: null,
      pulled_at: null,
      checked_at: null,
      attempted_at: null,
      last_error: null,
      failures: 0,
      rows: 0,
    };
  }
}

export async function writeMemberState(federationDir: string, state: MemberState): Promise<void> {
  const dir = memberDir(federationDir, state.member_id);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, 'state.json.tmp');
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(tmp, join(dir, 'state.json'));
}

/**
 * Replaces the member's values with these rows (objects as the API's JSON serves them), typed, as Parquet. With
 * `keepEndedBefore` (a pull of recent periods only) the stored rows of periods that ended before that day stay, each
 * with the snapshot it was pulled from. Returns the rows stored.
 */
export async function writeMemberValues(
  federationDir: string,
  memberId: string,
  snapshotId: string,
  pulledAt: string,
  rows: readonly Record<string, unknown>[],
  options: { keepEndedBefore?: string | undefined } = {},
): Promise<number> {
  const dir = memberDir(federationDir, memberId);
  await mkdir(dir, { recursive: true });
  const ndjson = join(dir, 'values.ndjson.tmp');
  const parquet = join(dir, 'values.parquet.tmp');
  await writeFile(ndjson, rows.map((r) => JSON.stringify(r)).join('\n'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  let stored = 0;
  try {
    const columns = Object.entries(pulledColumns)
      .map(([name, type]) => `${literal(name)}: ${literal(type)}`)
      .join(', ');
    const typed = Object.keys(pulledColumns)
      .map((c) => `"${c}"`)
      .join(', ');
    const source =
      rows.length === 0
        ? `select ${Object.entries(pulledColumns)
            .map(([c, t]) => `cast(null as ${t}) as "${c}"`)
            .join(', ')} where false`
        : `select ${typed} from read_json(${literal(ndjson)}, format = 'newline_delimited', columns = {${columns}})`;
    const pulled = `select ${literal(memberId)} as member_id, ${literal(snapshotId)} as member_snapshot_id, cast(${literal(pulledAt)} as timestamptz) as pulled_at, * from (${source})`;
    const previous = valuesFile(federationDir, memberId);
    const kept =
      options.keepEndedBefore !== undefined && (await exists(previous))
        ? ` union all by name select * from read_parquet(${literal(previous)}) where period_end < cast(${literal(options.keepEndedBefore)} as date)`
        : '';
    await connection.run(`copy (${pulled}${kept}) to ${literal(parquet)} (format parquet)`);
    const count = await connection.runAndReadAll(`select count(*) from read_parquet(${literal(parquet)})`);
    stored = Number(count.getRows()[0]![0]);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(ndjson, { force: true });
  }
  await rename(parquet, valuesFile(federationDir, memberId));
  return stored;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
