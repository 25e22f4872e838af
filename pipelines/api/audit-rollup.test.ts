/**
 * Past days of the API audit log move into the lake as typed Parquet (the audit dataset), one file per source, and
 * the sources go; today's and yesterday's stay where processes append; an interrupted roll-up leaves no second copy.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalLakeStore } from '../land/local-store.js';
import { rollUpAuditDays } from './audit-rollup.js';

let root: string;
let auditDir: string;
let lakeDir: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityhub-audit-'));
  auditDir = join(root, 'audit', 'api');
  lakeDir = join(root, 'lake');
  await mkdir(lakeDir, { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const entry = (at: string, token: string, status: number) =>
  JSON.stringify({
    at,
    token_id: token,
    method: 'GET',
    route: '/api/v1/aggregates',
    query: 'grain=month',
    status,
    rows: status === 200 ? 12 : null,
    ms: 1.5,
    client: '127.0.0.1',
  });

async function auditFile(day: string, name: string, lines: string[]): Promise<void> {
  await mkdir(join(auditDir, `dt=${day}`), { recursive: true });
  await writeFile(join(auditDir, `dt=${day}`, name), lines.join('\n'));
}

async function dataset(): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `select token_id, status, rows, typeof("at") as at_type, filename like '%/_audit/api/dt=%' as in_lake
       from read_parquet('${lakeDir}/_audit/api/*/*.parquet', filename = true) order by "at"`,
    );
    return reader.getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('rollUpAuditDays', () => {
  it('moves days at least two days old into the lake, typed, and leaves the days still appended to', async () => {
    // A process that died mid-append left a torn last line.
    await auditFile('2026-11-30', 'api-11.ndjson', [
      entry('2026-11-30T08:00:00.000Z', 'zhejiang', 200),
      entry('2026-11-30T09:00:00.000Z', 'anhui', 403),
      '{"at":"2026-11-30T09:',
    ]);
    await auditFile('2026-12-01', 'api-12.ndjson', [entry('2026-12-01T10:00:00.000Z', 'zhejiang', 304)]);
    await auditFile('2026-12-02', 'api-12.ndjson', [entry('2026-12-02T10:00:00.000Z', 'zhejiang', 200)]);
    const store = new LocalLakeStore(lakeDir);
    const outcome = await rollUpAuditDays(auditDir, store, { now: new Date('2026-12-03T01:00:00Z') });
    expect(outcome).toEqual({ files: 2, rows: 3, unreadable: 1 });
    expect(await dataset()).toEqual([
      { token_id: 'zhejiang', status: 200, rows: 12n, at_type: 'TIMESTAMP WITH TIME ZONE', in_lake: true },
      { token_id: 'anhui', status: 403, rows: null, at_type: 'TIMESTAMP WITH TIME ZONE', in_lake: true },
      { token_id: 'zhejiang', status: 304, rows: null, at_type: 'TIMESTAMP WITH TIME ZONE', in_lake: true },
    ]);
    expect((await readdir(auditDir)).sort()).toEqual(['dt=2026-12-02']);
    // Nothing more to move.
    expect(await rollUpAuditDays(auditDir, store, { now: new Date('2026-12-03T01:00:00Z') })).toEqual({
      files: 0,
      rows: 0,
      unreadable: 0,
    });
  });

  it('writes the same file again, not a second copy, when a roll-up stopped before removing its source', async () => {
    await auditFile('2026-11-30', 'api-11.ndjson', [entry('2026-11-30T08:00:00.000Z', 'zhejiang', 200)]);
    const store = new LocalLakeStore(lakeDir);
    await rollUpAuditDays(auditDir, store, { now: new Date('2026-12-03T01:00:00Z') });
    // As if the removal had not happened.
    await auditFile('2026-11-30', 'api-11.ndjson', [entry('2026-11-30T08:00:00.000Z', 'zhejiang', 200)]);
    await rollUpAuditDays(auditDir, store, { now: new Date('2026-12-03T01:00:00Z') });
    expect(await dataset()).toHaveLength(1);
  });
});
