import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryMarts, runModels } from './index.js';
import { hotline, reading, tempDirs, testRegions, writeLake } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('staging keeps the first landed copy of a natural key', () => {
  it('across two bus generations, the copy landed first wins even though the new bus numbers it lower', async () => {
    const dir = await dirs.make();
    const project = join(dir, 'sql');
    await mkdir(join(project, 'staging'), { recursive: true });
    await mkdir(join(project, 'marts'), { recursive: true });
    const staging = 'stg_lake__sensor_reading.sql';
    await writeFile(join(project, 'staging', staging), await readFile(join(sqlDir, 'staging', staging), 'utf8'));
    await writeFile(
      join(project, 'marts', 'mart_values.sql'),
      [
        '-- name: mart_values',
        '-- description: the value staging kept per reading',
        '-- materialization: table',
        '-- depends_on: stg_lake__sensor_reading',
        '',
        'select device_id, value from stg_lake__sensor_reading',
      ].join('\n'),
    );
    const at = '2026-08-01T00:00:00Z';
    const lakeDir = join(dir, 'lake');
    await writeLake(lakeDir, 'sensor_reading', [
      // Landed first, from the first bus, at a high offset.
      {
        ...reading({ device_id: 'a', observed_at: at, value: 1 }),
        _offset: 9000,
        _ingested_at: '2026-08-01T01:00:00Z',
      },
      // The same reading again, later, through a replaced bus that starts its offsets at 0.
      { ...reading({ device_id: 'a', observed_at: at, value: 2 }), _offset: 5, _ingested_at: '2026-08-02T01:00:00Z' },
    ]);
    const martsPath = join(dir, 'marts.duckdb');
    await runModels({
      lakeDir,
      martsPath,
      sqlDir: project,
      regionCode: '330000',
      now: new Date('2030-01-01T00:00:00+08:00'),
      catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: [] },
    });
    const result = await queryMarts({ martsPath, sql: 'select device_id, value from mart_values' });
    expect(result.rows).toEqual([['a', 1]]);
  });
});

describe('staging keeps the newest version of a 12345 order (issue 8)', () => {
  it('per (case_id, status) the latest updated_at wins whatever the landing order; without one, the first landed', async () => {
    const dir = await dirs.make();
    const project = join(dir, 'sql');
    await mkdir(join(project, 'staging'), { recursive: true });
    await mkdir(join(project, 'marts'), { recursive: true });
    const staging = 'stg_lake__hotline_case.sql';
    await writeFile(join(project, 'staging', staging), await readFile(join(sqlDir, 'staging', staging), 'utf8'));
    await writeFile(
      join(project, 'marts', 'mart_versions.sql'),
      [
        '-- name: mart_versions',
        '-- description: the version staging kept per order and status',
        '-- materialization: table',
        '-- depends_on: stg_lake__hotline_case',
        '',
        "select case_id, status, strftime(updated_at at time zone 'UTC', '%Y-%m-%d %H:%M') as updated_at,",
        '  satisfaction from stg_lake__hotline_case order by case_id, status',
      ].join('\n'),
    );
    const received_at = '2026-08-01T01:12:33Z';
    const closed = { received_at, status: 'closed' as const };
    const landedAt = (day: number) => `2026-08-0${day}T12:00:00Z`;
    const lakeDir = join(dir, 'lake');
    await writeLake(lakeDir, 'hotline_case', [
      // A: closed, then its follow-up visit: the newer version lands second.
      { ...hotline({ case_id: 'A', ...closed, updated_at: '2026-08-02T08:00:00Z' }), _ingested_at: landedAt(2) },
      {
        ...hotline({ case_id: 'A', ...closed, updated_at: '2026-08-03T02:00:00Z', satisfaction: 'satisfied' }),
        _ingested_at: landedAt(3),
      },
      // B: the same two versions, the newer one landed first (a connector re-reading an older page later).
      {
        ...hotline({ case_id: 'B', ...closed, updated_at: '2026-08-03T02:00:00Z', satisfaction: 'satisfied' }),
        _ingested_at: landedAt(2),
      },
      { ...hotline({ case_id: 'B', ...closed, updated_at: '2026-08-02T08:00:00Z' }), _ingested_at: landedAt(3) },
      // C: a source without update times keeps the first landed copy, as before.
      { ...hotline({ case_id: 'C', ...closed, satisfaction: 'unsatisfied' }), _ingested_at: landedAt(2) },
      { ...hotline({ case_id: 'C', ...closed, satisfaction: 'satisfied' }), _ingested_at: landedAt(3) },
      // Another status of A is a row of its own.
      { ...hotline({ case_id: 'A', received_at, updated_at: '2026-08-01T01:13:00Z' }), _ingested_at: landedAt(1) },
    ]);
    const martsPath = join(dir, 'marts.duckdb');
    await runModels({
      lakeDir,
      martsPath,
      sqlDir: project,
      regionCode: '330000',
      now: new Date('2030-01-01T00:00:00+08:00'),
      catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: [] },
    });
    const result = await queryMarts({ martsPath, sql: 'select * from mart_versions' });
    expect(result.rows).toEqual([
      ['A', 'closed', '2026-08-03 02:00', 'satisfied'],
      ['A', 'received', '2026-08-01 01:13', null],
      ['B', 'closed', '2026-08-03 02:00', 'satisfied'],
      ['C', 'closed', null, 'unsatisfied'],
    ]);
  });
});
