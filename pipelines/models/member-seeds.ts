/**
 * The seeds of a hub that rolls up member hubs (federation.members): `hub_members` (each member, its region and the
 * state of its pulls) and `hub_member_values` (the indicator values last pulled from each, with their provenance),
 * read from the federation folder the pulls write (pipelines/federation/store.ts). Empty for a hub without members.
 */
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { pulledColumns, readMemberState, valuesFile } from '../federation/store.js';
import { literal } from './columns.js';
import { ModelBuildError } from './errors.js';
import { loadSeedTable } from './seeds.js';

export interface MemberSeedsOptions {
  /** `<data_dir>/federation`. */
  dir: string;
  members: readonly { id: string; region_code: string }[];
  /** federation.stale_after_ms: kept with each member so readers can tell staleness at their own time. */
  staleAfterMs: number;
}

const memberValueColumns = [
  ['member_id', 'VARCHAR'],
  ['member_snapshot_id', 'VARCHAR'],
  ['pulled_at', 'TIMESTAMPTZ'],
  ...Object.entries(pulledColumns),
] as const;

/** Creates both seeds; returns their fingerprints (the member states name the snapshots the values come from). */
export async function loadMemberSeeds(
  connection: DuckDBConnection,
  o: MemberSeedsOptions | undefined,
): Promise<{ hub_members: string; hub_member_values: string }> {
  const members = o?.members ?? [];
  const states = await Promise.all(members.map((m) => readMemberState(o!.dir, m)));
  const membersFingerprint = await loadSeedTable(
    connection,
    'hub_members',
    [
      { name: 'member_id', type: 'VARCHAR' },
      { name: 'region_code', type: 'VARCHAR' },
      { name: 'snapshot_id', type: 'VARCHAR' },
      { name: 'pulled_at', type: 'TIMESTAMPTZ' },
      { name: 'checked_at', type: 'TIMESTAMPTZ' },
      { name: 'attempted_at', type: 'TIMESTAMPTZ' },
      { name: 'last_error', type: 'VARCHAR' },
      { name: 'failures', type: 'INTEGER' },
      { name: 'rows', type: 'BIGINT' },
      { name: 'stale_after_ms', type: 'BIGINT' },
    ],
    states.map((s, i) => ({
      ...s,
      member_id: members[i]!.id,
      region_code: members[i]!.region_code,
      stale_after_ms: o!.staleAfterMs,
    })),
  );
  const files: string[] = [];
  for (const member of members) {
    const file = valuesFile(o!.dir, member.id);
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      files.push(file);
  }
  const typed = memberValueColumns.map(([name, type]) => `cast("${name}" as ${type}) as "${name}"`).join(', ');
  const empty = memberValueColumns.map(([name, type]) => `cast(null as ${type}) as "${name}"`).join(', ');
  const sql =
    files.length === 0
      ? `create table hub_member_values as select ${empty} where false`
      : `create table hub_member_values as select ${typed} from read_parquet([${files.map(literal).join(', ')}])`;
  try {
    await connection.run(sql);
  } catch (err) {
    throw new ModelBuildError('hub_member_values', undefined, sql, err);
  }
  const valuesFingerprint = createHash('sha256')
    .update(
      JSON.stringify(
        states.map((s, i) => [members[i]!.id, members[i]!.region_code, s.snapshot_id, s.pulled_at, s.rows]),
      ),
    )
    .digest('hex');
  return { hub_members: membersFingerprint, hub_member_values: valuesFingerprint };
}
