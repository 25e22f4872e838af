import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Region } from '../../schemas/index.js';
import {
  DataTestsFailedError,
  ModelBuildError,
  ModelDefinitionError,
  type ModelsRunOptions,
  queryMarts,
  runModels,
  testModels,
} from './index.js';
import { delivery, reading, resource, tempDirs, testRegions, writeLake } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

async function setup(): Promise<ModelsRunOptions & { dir: string }> {
  const dir = await dirs.make();
  return {
    dir,
    lakeDir: join(dir, 'lake'),
    martsPath: join(dir, 'data', 'marts.duckdb'),
    sqlDir,
    regionCode: '330000',
    now: new Date('2030-01-01T00:00:00+08:00'),
    catalogs: {
      regions: testRegions,
      data_resources: [resource({ resource_code: 'res-1' })],
      scenarios: [],
      devices: [],
    },
  };
}

const sqlDirWith = (files: Record<string, string>) => dirs.withFiles(files);

const receivedSql = `select received_records from mart_data_sharing where grain = 'month' and region_code = '330000'`;

describe('runModels', () => {
  it('swaps the new marts file in atomically while a reader of the old file keeps reading it', async () => {
    const o = await setup();
    await writeLake(o.lakeDir, 'dept_delivery', [
      delivery({ delivery_id: 'd1', delivered_at: '2026-08-05T02:00:00Z', record_count: 10 }),
    ]);
    const progress: string[] = [];
    const first = await runModels({ ...o, onProgress: (e) => progress.push(e.model) });
    expect(first.martsPath).toBe(o.martsPath);
    expect(progress).toEqual(first.models.map((m) => m.name));
    expect(first.models.find((m) => m.name === 'mart_data_sharing')?.rows).toBe(18);
    expect(first.models.find((m) => m.name === 'stg_lake__dept_delivery')?.rows).toBeNull();
    const firstInode = (await stat(o.martsPath)).ino;

    const oldReader = await DuckDBInstance.create(o.martsPath, { access_mode: 'READ_ONLY' });
    const oldConnection = await oldReader.connect();
    try {
      const readOld = async () => (await oldConnection.runAndReadAll(receivedSql)).getRowsJS();
      expect(await readOld()).toEqual([[10n]]);

      await writeLake(o.lakeDir, 'dept_delivery', [
        delivery({
          delivery_id: 'd2',
          delivered_at: '2026-08-06T02:00:00Z',
          record_count: 5,
          valid_count: 5,
          _topic: 'norm.dept_delivery.b',
        }),
      ]);
      await runModels(o);

      expect((await stat(o.martsPath)).ino).not.toBe(firstInode);
      expect((await queryMarts({ martsPath: o.martsPath, sql: receivedSql })).rows).toEqual([[15]]);
      expect(await readOld()).toEqual([[10n]]);
    } finally {
      oldConnection.closeSync();
      oldReader.closeSync();
    }
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
  });

  it('leaves a self-contained file: no views over the lake, readable after the lake is gone', async () => {
    const o = await setup();
    await writeLake(o.lakeDir, 'sensor_reading', [reading({ observed_at: '2026-08-01T00:00:00Z' })]);
    await runModels(o);
    await rm(o.lakeDir, { recursive: true });
    const views = await queryMarts({
      martsPath: o.martsPath,
      sql: 'select view_name from duckdb_views() where not internal',
    });
    expect(views.rows).toEqual([]);
    const definitions = await queryMarts({ martsPath: o.martsPath, sql: 'select sql from duckdb_tables()' });
    expect(definitions.rows.flat().join('\n')).not.toContain(o.lakeDir);
    const tables = await queryMarts({
      martsPath: o.martsPath,
      sql: 'select table_name from duckdb_tables() order by 1',
    });
    expect(tables.rows.flat()).toEqual(
      expect.arrayContaining(['hub_settings', 'seed_data_resources', 'seed_devices', 'seed_regions', 'seed_scenarios']),
    );
    const comment = await queryMarts({
      martsPath: o.martsPath,
      sql: `select comment from duckdb_tables() where table_name = 'mart_data_sharing'`,
    });
    expect(comment.rows[0]![0]).toMatch(/^数据共享率/);
    const sharing = await queryMarts({ martsPath: o.martsPath, sql: 'select * from mart_data_sharing' });
    expect(sharing.rows).toHaveLength(18);
  });

  it('loads catalogs as typed seed tables: lists as VARCHAR[], dates as DATE, absent fields as NULL', async () => {
    const o = await setup();
    o.catalogs.data_resources = [resource({ resource_code: 'r1', valid_from: '2026-01-01' })];
    o.catalogs.scenarios = [
      {
        scenario_code: 's1',
        name: '防汛',
        dimension: 'operation',
        level: 'district',
        regions: [],
        required_device_types: ['drain_level'],
        required_video_event_types: [],
        required_hotline_categories: [],
        required_resources: [],
        closed_loop: false,
        event_classes: [],
      },
    ];
    await runModels(o);
    const r = await queryMarts({
      martsPath: o.martsPath,
      sql: `select r.valid_from, r.valid_to, typeof(r.valid_from), s.required_device_types, typeof(s.required_device_types), s.min_online_rate, h.region_code
            from seed_data_resources r, seed_scenarios s, hub_settings h`,
    });
    expect(r.rows).toEqual([['2026-01-01', null, 'DATE', ['drain_level'], 'VARCHAR[]', null, '330000']]);
  });

  async function devicesProject(tests: string): Promise<string> {
    return sqlDirWith({
      'staging/stg_lake__sensor_reading.sql': await readFile(
        join(sqlDir, 'staging', 'stg_lake__sensor_reading.sql'),
        'utf8',
      ),
      'marts/mart_devices.sql': [
        '-- name: mart_devices',
        '-- description: readings per device and metric',
        '-- materialization: table',
        '-- depends_on: stg_lake__sensor_reading',
        `-- tests: ${tests}`,
        '',
        'select device_id, metric, value from stg_lake__sensor_reading',
      ].join('\n'),
      'marts/mart_known.sql':
        "-- name: mart_known\n-- description: known devices\n-- materialization: table\n\nselect 'a' as device_id",
    });
  }

  const threeReadings = [
    reading({ device_id: 'a', observed_at: '2026-08-01T00:00:00Z' }),
    reading({ device_id: 'a', metric: 'flow', observed_at: '2026-08-01T00:00:00Z' }),
    reading({ device_id: 'b', observed_at: '2026-08-01T00:00:00Z' }),
  ];

  it('publishes a build whose failing tests are all of warn severity, returning them as warnings', async () => {
    const o = await setup();
    await writeLake(o.lakeDir, 'sensor_reading', threeReadings);
    const dir = await devicesProject(
      'warn: unique(device_id); not_null(metric); warn: accepted_values(device_id: a|c); warn: expression(value > 2);' +
        ' warn: relationships(device_id -> mart_known.device_id)',
    );
    const result = await runModels({ ...o, sqlDir: dir });
    const byName = Object.fromEntries(
      result.tests
        .filter((t) => t.model === 'mart_devices')
        .map((t) => [t.name, [t.severity, t.passed, t.failing_rows]]),
    );
    expect(byName).toEqual({
      'unique(device_id)': ['warn', false, 1],
      'not_null(metric)': ['error', true, 0],
      'accepted_values(device_id: a|c)': ['warn', false, 1],
      'expression(value > 2)': ['warn', false, 3],
      'relationships(device_id -> mart_known.device_id)': ['warn', false, 1],
    });
    expect(result.warnings.map((t) => t.name)).toEqual([
      'unique(device_id)',
      'accepted_values(device_id: a|c)',
      'expression(value > 2)',
      'relationships(device_id -> mart_known.device_id)',
    ]);
    expect((await queryMarts({ martsPath: o.martsPath, sql: 'select count(*) from mart_devices' })).rows).toEqual([
      [3],
    ]);
  });

  it('keeps the previous marts published, byte for byte, when a test of error severity fails, naming the test', async () => {
    const o = await setup();
    await writeLake(o.lakeDir, 'sensor_reading', threeReadings);
    await runModels(o);
    const before = await readFile(o.martsPath);
    const dir = await devicesProject('unique(device_id); not_null(metric); warn: expression(value > 2)');
    const err = await runModels({ ...o, sqlDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataTestsFailedError);
    expect((err as DataTestsFailedError).failures).toEqual([
      { model: 'mart_devices', test: 'unique(device_id)', failing_rows: 1 },
    ]);
    expect((err as Error).message).toContain('mart_devices: unique(device_id): 1 failing rows');
    expect((err as DataTestsFailedError).retriable).toBe(false);
    expect((await readFile(o.martsPath)).equals(before)).toBe(true);
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
    const previous = await queryMarts({ martsPath: o.martsPath, sql: 'select count(*) from mart_data_sharing' });
    expect(previous.rows).toEqual([[18]]);
  });

  it('removes building files left by killed builds (dead pids), never those of a live process', async () => {
    const o = await setup();
    const deadPid = await new Promise<number>((resolvePid, reject) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('error', reject);
      child.on('exit', () => resolvePid(child.pid!));
    });
    const livePid = process.ppid;
    await mkdir(dirname(o.martsPath), { recursive: true });
    for (const name of [`marts.duckdb.building-${deadPid}`, `marts.duckdb.building-${deadPid}.wal`]) {
      await writeFile(join(dirname(o.martsPath), name), 'half a build');
    }
    await writeFile(join(dirname(o.martsPath), `marts.duckdb.building-${livePid}`), 'another build in progress');
    await runModels(o);
    expect((await readdir(dirname(o.martsPath))).sort()).toEqual(['marts.duckdb', `marts.duckdb.building-${livePid}`]);
  });

  it('fails with ModelBuildError naming the model and file, keeping the previous marts file', async () => {
    const o = await setup();
    await runModels(o);
    const before = await readFile(o.martsPath);
    const dir = await sqlDirWith({
      'marts/mart_broken.sql':
        '-- name: mart_broken\n-- description: broken\n-- materialization: table\n-- depends_on: seed_regions\n\nselect no_such_column from seed_regions',
    });
    const err = await runModels({ ...o, sqlDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelBuildError);
    expect(err).toMatchObject({ model: 'mart_broken', file: join(dir, 'marts', 'mart_broken.sql') });
    expect((err as ModelBuildError).sql).toContain('no_such_column');
    expect((await readFile(o.martsPath)).equals(before)).toBe(true);
    expect(await readdir(dirname(o.martsPath))).toEqual(['marts.duckdb']);
  });

  it('rejects a model that reads a model its header does not declare, before building anything', async () => {
    const o = await setup();
    const dir = await sqlDirWith({
      'intermediate/int_a.sql': '-- name: int_a\n-- description: a\n-- materialization: table\n\nselect 1 as x',
      'marts/mart_b.sql':
        '-- name: mart_b\n-- description: b\n-- materialization: table\n-- depends_on: int_a\n\nselect * from int_a join seed_regions on true',
    });
    const err = await runModels({ ...o, sqlDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelDefinitionError);
    expect(err).toMatchObject({ field: 'depends_on', file: join(dir, 'marts', 'mart_b.sql') });
    await expect(stat(o.martsPath)).rejects.toThrow();
  });
});

describe('testModels', () => {
  it('re-runs the header tests on a marts file, skipping models not stored in it', async () => {
    const o = await setup();
    await writeLake(o.lakeDir, 'dept_delivery', [
      delivery({ delivery_id: 'd1', delivered_at: '2026-08-05T02:00:00Z' }),
    ]);
    const built = await runModels(o);
    const results = await testModels({ martsPath: o.martsPath, sqlDir });
    expect(results.map((t) => [t.model, t.name])).toEqual(built.tests.map((t) => [t.model, t.name]));
    const skipped = new Set(results.filter((t) => t.skipped).map((t) => t.model));
    expect([...skipped].sort()).toEqual([
      'stg_lake__city_event',
      'stg_lake__dept_delivery',
      'stg_lake__dept_record',
      'stg_lake__hotline_case',
      'stg_lake__sensor_reading',
      'stg_lake__video_alert',
    ]);
    expect(results.filter((t) => !t.passed)).toEqual([]);
  });
});

describe('the sql/ project with the real region table', () => {
  it('gives every region under the hub one row per period (sql/seeds/regions.csv, 杭州市 hub)', async () => {
    const o = await setup();
    const csv = (await readFile(join(sqlDir, 'seeds', 'regions.csv'), 'utf8')).trim().split('\n').slice(1);
    o.catalogs.regions = csv.map((line) => {
      const [code, name, level, parent_code] = line.split(',') as [string, string, Region['level'], string];
      return parent_code ? { code, name, level, parent_code } : { code, name, level };
    });
    o.regionCode = '330100';
    await writeLake(o.lakeDir, 'dept_delivery', [
      delivery({ delivery_id: 'd1', delivered_at: '2026-08-05T02:00:00Z' }),
    ]);
    const result = await runModels(o);
    expect(result.tests.filter((t) => !t.passed)).toEqual([]);
    const r = await queryMarts({
      martsPath: o.martsPath,
      sql: `select region_level, count(*) as n, sum(required_count) as required from mart_data_sharing where grain = 'month' group by all order by all`,
    });
    // 杭州市 and its 13 districts; res-1 (330102) counts for 上城区 and for 杭州市.
    expect(r.rows).toEqual([
      ['city', 1, 1],
      ['district', 13, 1],
    ]);
  });
});
