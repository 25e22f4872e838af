/**
 * Incremental builds: a build takes the unchanged lake days of incremental models over from the previous marts file,
 * recomputes the changed ones, and ends with exactly what a full rebuild gives.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { literal } from './columns.js';
import { type ModelsRunOptions, queryMarts, runModels } from './index.js';
import { cityEvent, deviceOf, hotline, reading, tempDirs, testRegions, writeLake } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');
const now = new Date('2026-10-01T00:00:00+08:00');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const devices = [
  deviceOf({ device_id: 'dev-1', device_type: 'gas', region_code: '330102', reporting_interval_s: 3600 }),
  deviceOf({ device_id: 'dev-2', device_type: 'gas', region_code: '330106', reporting_interval_s: 3600 }),
];

/** `count` readings of a device on an Asia/Shanghai day, hourly from 01:00, offsets from `firstOffset`. */
function readingsOn(day: string, device: string, count: number, firstOffset: number, value = 10) {
  return Array.from({ length: count }, (_, i) =>
    reading({
      device_id: device,
      device_type: 'gas',
      metric: 'methane',
      value,
      unit: '%LEL',
      region_code: device === 'dev-1' ? '330102' : '330106',
      observed_at: new Date(Date.parse(`${day}T01:00:00+08:00`) + i * 3600_000).toISOString(),
      _offset: firstOffset + i,
    }),
  );
}

async function setup() {
  const dir = await dirs.make();
  const lakeDir = join(dir, 'lake');
  const options = (over: Partial<ModelsRunOptions> = {}): ModelsRunOptions => ({
    lakeDir,
    martsPath: join(dir, 'marts.duckdb'),
    sqlDir,
    regionCode: '330100',
    catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices, ...over.catalogs },
    now,
    ...over,
  });
  return { dir, lakeDir, options };
}

const statOf = (result: Awaited<ReturnType<typeof runModels>>, model: string) =>
  result.models.find((m) => m.name === model);

/** Every table of two marts files holds the same rows (as multisets), but the run log. */
async function expectSameMarts(a: string, b: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`attach ${literal(a)} as a (read_only)`);
    await connection.run(`attach ${literal(b)} as b (read_only)`);
    const tables = (
      await connection.runAndReadAll(
        `select table_name from information_schema.tables where table_catalog = 'a' and table_name <> 'cityhub_run_log' order by 1`,
      )
    )
      .getRows()
      .map((r) => String(r[0]));
    expect(tables).toContain('mart_sensor_health');
    const differing: string[] = [];
    for (const t of tables) {
      const reader = await connection.runAndReadAll(
        `select (select count(*) from (select * from a.${t} except all select * from b.${t})) + (select count(*) from (select * from b.${t} except all select * from a.${t}))`,
      );
      if (Number(reader.getRows()[0]![0]) !== 0) differing.push(t);
    }
    expect(differing).toEqual([]);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('incremental builds', () => {
  it('after one new day recomputes only that day, after a late record only its day, and equals a full rebuild', async () => {
    const { dir, lakeDir, options } = await setup();
    await writeLake(lakeDir, 'sensor_reading', [
      ...readingsOn('2026-09-01', 'dev-1', 3, 0),
      ...readingsOn('2026-09-02', 'dev-1', 2, 10),
      ...readingsOn('2026-09-02', 'dev-2', 4, 20),
    ]);
    const first = await runModels(options());
    expect(first.fullBuildReason).toBe('no previous marts file');
    expect(statOf(first, 'int_sensor_device_days')).toMatchObject({ mode: 'full', rows: 3 });

    // One new day lands.
    await writeLake(lakeDir, 'sensor_reading', readingsOn('2026-09-03', 'dev-2', 5, 30, 60));
    const second = await runModels(options());
    expect(second.fullBuildReason).toBeUndefined();
    expect(statOf(second, 'int_sensor_device_days')).toMatchObject({ mode: 'incremental', days: 1, rows: 4 });
    // The periods containing the new day: the day itself, its month, quarter and year.
    expect(statOf(second, 'mart_sensor_health')).toMatchObject({ mode: 'incremental', periods: 4 });

    // A late record of an old day lands beside that day's first file.
    await writeLake(lakeDir, 'sensor_reading', readingsOn('2026-09-01', 'dev-2', 1, 100));
    const third = await runModels(options());
    expect(statOf(third, 'int_sensor_device_days')).toMatchObject({ mode: 'incremental', days: 1, rows: 5 });
    expect(statOf(third, 'mart_sensor_health')).toMatchObject({ mode: 'incremental', periods: 4 });
    const health = await queryMarts({
      martsPath: third.martsPath,
      sql: `select period, online_device_days, readings_received from mart_sensor_health
            where grain = 'month' and region_code = '330100' and device_type = 'all'`,
    });
    expect(health.rows).toEqual([['2026-09', 5, 15]]);

    const full = await runModels(options({ martsPath: join(dir, 'full.duckdb'), fullRefresh: true }));
    expect(full.fullBuildReason).toBe('full refresh asked for');
    expect(statOf(full, 'int_sensor_device_days')).toMatchObject({ mode: 'full' });
    await expectSameMarts(third.martsPath, full.martsPath);

    // The run log keeps every build, newest first.
    const log = await queryMarts({
      martsPath: third.martsPath,
      sql: `select mode, days_recomputed from cityhub_run_log where model = 'int_sensor_device_days' order by build_id`,
    });
    expect(log.rows).toEqual([
      ['full', null],
      ['incremental', 1],
      ['incremental', 1],
    ]);
  });

  it('recomputes the periods of a new day and of a late update, and those whose facts the moving cut-off passed', async () => {
    const { dir, lakeDir, options } = await setup();
    const at = (local: string) => new Date(`${local}+08:00`).toISOString();
    await writeLake(lakeDir, 'hotline_case', [
      hotline({ case_id: 'c1', received_at: at('2026-09-10T10:00:00'), deadline_at: at('2026-09-20T10:00:00') }),
      hotline({
        case_id: 'c2',
        received_at: at('2026-09-12T09:00:00'),
        status: 'closed',
        closed_at: at('2026-09-30T20:00:00'),
        deadline_at: at('2026-10-05T09:00:00'),
      }),
      // Answered and closed after the first build's cut-off (2026-10-01 00:00), before the second's.
      hotline({
        case_id: 'c3',
        received_at: at('2026-09-30T23:00:00'),
        status: 'closed',
        responded_at: at('2026-10-01T00:30:00'),
        closed_at: at('2026-10-01T09:00:00'),
        deadline_at: at('2026-10-01T23:00:00'),
      }),
    ]);
    await writeLake(lakeDir, 'city_event', [
      cityEvent({
        event_id: 'e1',
        reported_at: at('2026-09-30T22:00:00'),
        status: 'closed',
        registered_at: at('2026-09-30T22:10:00'),
        dispatched_at: at('2026-09-30T22:20:00'),
        handled_at: at('2026-09-30T23:30:00'),
        closed_at: at('2026-10-01T01:00:00'),
        deadline_at: at('2026-10-02T22:00:00'),
      }),
    ]);
    const first = await runModels(options({ now: new Date(at('2026-10-01T10:00:00')) }));
    expect(statOf(first, 'mart_hotline')).toMatchObject({ mode: 'full' });

    // A day later: a new day's case, and case c1 closed (its new version lands in its received day's folder).
    await writeLake(lakeDir, 'hotline_case', [
      hotline({ case_id: 'c4', received_at: at('2026-10-01T11:00:00'), _offset: 100 }),
      hotline({
        case_id: 'c1',
        received_at: at('2026-09-10T10:00:00'),
        status: 'closed',
        closed_at: at('2026-09-18T10:00:00'),
        deadline_at: at('2026-09-25T10:00:00'),
        _offset: 101,
      }),
    ]);
    const later = new Date(at('2026-10-02T10:00:00'));
    const second = await runModels(options({ now: later }));
    for (const mart of ['mart_hotline', 'mart_event_closure', 'mart_sensor_health']) {
      expect(statOf(second, mart), mart).toMatchObject({ mode: 'incremental' });
      expect(statOf(second, mart)!.periods, mart).toBeLessThan(statOf(second, 'int_periods')!.rows!);
    }
    const sept = await queryMarts({
      martsPath: second.martsPath,
      sql: `select responded_within_2h_count, due_count, closed_on_time_count from mart_hotline
            where grain = 'month' and period = '2026-09' and region_code = '330100' and breakdown = 'all'`,
    });
    expect(sept.rows).toEqual([[1, 1, 1]]);
    const closed = await queryMarts({
      martsPath: second.martsPath,
      sql: `select closed_count from mart_event_closure
            where grain = 'day' and period = '2026-09-30' and region_code = '330100' and breakdown = 'all'`,
    });
    expect(closed.rows).toEqual([[1]]);

    const full = await runModels(options({ now: later, martsPath: join(dir, 'full.duckdb'), fullRefresh: true }));
    await expectSameMarts(second.martsPath, full.martsPath);
  });

  it("a recomputed month still counts its unchanged days' facts (a late file on one day of the month)", async () => {
    const { dir, lakeDir, options } = await setup();
    const at = (local: string) => new Date(`${local}+08:00`).toISOString();
    const event = (id: string, day: string, offset: number) =>
      cityEvent({ event_id: id, reported_at: at(`${day}T09:00:00`), status: 'reported', _offset: offset });
    await writeLake(lakeDir, 'city_event', [event('e1', '2026-09-05', 0), event('e2', '2026-09-20', 1)]);
    await writeLake(lakeDir, 'hotline_case', [
      hotline({ case_id: 'c1', received_at: at('2026-09-05T10:00:00') }),
      hotline({ case_id: 'c2', received_at: at('2026-09-20T10:00:00'), _offset: 1 }),
    ]);
    await writeLake(lakeDir, 'sensor_reading', [
      ...readingsOn('2026-09-05', 'dev-1', 2, 0),
      ...readingsOn('2026-09-20', 'dev-1', 2, 10),
    ]);
    await runModels(options());

    // Late records of 2026-09-20 only: September is recomputed, 2026-09-05 is not.
    await writeLake(lakeDir, 'city_event', [event('e3', '2026-09-20', 2)]);
    await writeLake(lakeDir, 'hotline_case', [
      hotline({ case_id: 'c3', received_at: at('2026-09-20T11:00:00'), _offset: 2 }),
    ]);
    await writeLake(lakeDir, 'sensor_reading', readingsOn('2026-09-20', 'dev-2', 2, 20));
    const second = await runModels(options());
    for (const mart of ['mart_hotline', 'mart_event_closure', 'mart_sensor_health']) {
      expect(statOf(second, mart), mart).toMatchObject({ mode: 'incremental' });
    }
    const month = await queryMarts({
      martsPath: second.martsPath,
      sql: `select reported_count from mart_event_closure
            where grain = 'month' and period = '2026-09' and region_code = '330100' and breakdown = 'all'`,
    });
    expect(month.rows).toEqual([[3]]);
    const full = await runModels(options({ martsPath: join(dir, 'full.duckdb'), fullRefresh: true }));
    await expectSameMarts(second.martsPath, full.martsPath);
  });

  it('drops the rows of a day whose files are gone, and recomputes in full when the registry changes', async () => {
    const { lakeDir, options } = await setup();
    await writeLake(lakeDir, 'sensor_reading', [
      ...readingsOn('2026-09-01', 'dev-1', 3, 0),
      ...readingsOn('2026-09-02', 'dev-1', 2, 10),
    ]);
    await runModels(options());
    await rm(join(lakeDir, 'sensor_reading', 'dt=2026-09-01'), { recursive: true });
    const afterRetention = await runModels(options());
    expect(statOf(afterRetention, 'int_sensor_device_days')).toMatchObject({ mode: 'incremental', days: 1, rows: 1 });

    const moved = [{ ...devices[0]!, reporting_interval_s: 600 }, devices[1]!];
    const registryChanged = await runModels(
      options({ catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: moved } }),
    );
    expect(statOf(registryChanged, 'int_sensor_device_days')).toMatchObject({ mode: 'full', rows: 1 });
    const expected = await queryMarts({
      martsPath: registryChanged.martsPath,
      sql: 'select readings_expected from int_sensor_device_days',
    });
    expect(expected.rows).toEqual([[144]]);
  });

  it('--select MODEL+ rebuilds that model and everything downstream, and copies the others', async () => {
    const { lakeDir, options } = await setup();
    await writeLake(lakeDir, 'sensor_reading', readingsOn('2026-09-01', 'dev-1', 3, 0));
    await runModels(options());
    const selected = await runModels(options({ select: ['int_sensor_device_periods+'] }));
    const modes = Object.fromEntries(selected.models.map((m) => [m.name, m.mode]));
    expect(modes).toMatchObject({
      int_sensor_device_periods: 'incremental',
      mart_sensor_health: 'incremental',
      int_sensor_device_days: 'copied',
      mart_hotline: 'copied',
      stg_lake__sensor_reading: 'view',
    });
    await expect(runModels(options({ select: ['int_nothing'] }))).rejects.toThrow(
      /--select int_nothing: no such model/,
    );
  });
});
