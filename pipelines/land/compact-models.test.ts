/**
 * The marts built after a compaction are the marts built before it: the models read a compacted day folder as they
 * read its landed files (docs/lake.md "Compaction"). The second build is incremental over the first, so it also
 * shows that a compacted day (its files changed) is recomputed, not taken over stale.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryMarts } from '../models/query.js';
import { runModels } from '../models/run.js';
import { deviceOf, hotline, type LandedRow, reading, tempDirs, testRegions, writeLake } from '../models/testing.js';
import { compactLake } from './compact.js';
import { LocalLakeStore } from './local-store.js';

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeAll(async () => {
  dirs = await tempDirs();
});
afterAll(async () => {
  await dirs.cleanup();
});

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');
const NOW = new Date('2026-08-20T04:00:00Z');
const DAYS = ['2026-08-01', '2026-08-02', '2026-08-03', '2026-08-04'];
const devices = ['HZ-SC-0001', 'HZ-SC-0002', 'HZ-XH-0003'];
const CHUNKS = 9;

/** Nine flushes' worth of files per day: each chunk of readings and 12345 cases lands as files of its own. */
async function landInChunks(lakeDir: string): Promise<void> {
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    const readings: LandedRow<'sensor_reading'>[] = [];
    const cases: LandedRow<'hotline_case'>[] = [];
    let offset = chunk * 1_000;
    for (const day of DAYS) {
      for (const [n, device_id] of devices.entries()) {
        const minute = String(chunk * 5 + n).padStart(2, '0');
        readings.push({
          ...reading({
            device_id,
            observed_at: `${day}T${String(2 + n).padStart(2, '0')}:${minute}:00Z`,
            value: 10 + chunk * 7 + n,
            region_code: n === 2 ? '330106' : '330102',
          }),
          _offset: offset++,
        });
      }
      cases.push({
        ...hotline({
          case_id: `12345-${day}-${chunk}`,
          received_at: `${day}T0${chunk}:30:00Z`,
          status: chunk % 3 === 0 ? 'closed' : 'received',
        }),
        _offset: offset++,
      });
    }
    await writeLake(lakeDir, 'sensor_reading', readings);
    await writeLake(lakeDir, 'hotline_case', cases);
  }
}

async function martRows(martsPath: string, table: string): Promise<unknown[][]> {
  return (await queryMarts({ martsPath, sql: `select * exclude (data_cutoff) from ${table} order by all` })).rows;
}

describe('models after compaction', () => {
  it('build the same marts from the compacted lake as from the landed files', async () => {
    const dir = await dirs.make();
    const lakeDir = join(dir, 'lake');
    const martsPath = join(dir, 'marts.duckdb');
    await landInChunks(lakeDir);
    const build = () =>
      runModels({
        lakeDir,
        martsPath,
        sqlDir,
        regionCode: '330000',
        catalogs: {
          regions: testRegions,
          data_resources: [],
          scenarios: [],
          devices: devices.map((device_id, n) => deviceOf({ device_id, region_code: n === 2 ? '330106' : '330102' })),
        },
        now: NOW,
      });

    await build();
    const before = {
      sensor: await martRows(martsPath, 'mart_sensor_health'),
      hotline: await martRows(martsPath, 'mart_hotline'),
    };
    expect(before.sensor.length).toBeGreaterThan(0);
    expect(before.hotline.length).toBeGreaterThan(0);

    const report = await compactLake({
      store: new LocalLakeStore(lakeDir),
      readDir: lakeDir,
      spillDir: join(dir, 'spill'),
      minFiles: 8,
      now: () => NOW,
    });
    expect(report.compacted).toHaveLength(2 * DAYS.length);
    expect(report.compacted.every((d) => d.filesBefore === CHUNKS)).toBe(true);

    const after = await build();
    expect(after.models.find((m) => m.name === 'int_sensor_device_days')).toMatchObject({
      mode: 'incremental',
      days: DAYS.length,
    });
    expect(await martRows(martsPath, 'mart_sensor_health')).toEqual(before.sensor);
    expect(await martRows(martsPath, 'mart_hotline')).toEqual(before.hotline);
  });
});
