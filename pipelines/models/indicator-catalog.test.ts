import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ident } from './columns.js';
import { ModelDefinitionError } from './errors.js';
import { type Indicator, indicatorCatalogFile, loadIndicatorCatalog } from './indicator-catalog.js';
import { runModels } from './run.js';
import {
  buildTestMarts,
  cityEvent,
  delivery,
  deviceOf,
  hotline,
  reading,
  resource,
  tempDirs,
  testRegions,
} from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

describe('the indicator catalog', () => {
  it('is served as mart_indicators, and every ratio indicator is its numerator over its denominator in its mart', async () => {
    const catalog = await loadIndicatorCatalog(sqlDir);
    const { result, query } = await buildTestMarts(dirs, {
      regionCode: '330100',
      now: new Date('2026-10-01T00:00:00+08:00'),
      catalogs: {
        devices: [deviceOf({ device_id: 'dev-1', reporting_interval_s: 3600 })],
        data_resources: [resource({ resource_code: 'r1' })],
      },
      lake: {
        sensor_reading: [
          reading({ observed_at: '2026-09-01T02:00:00Z' }),
          reading({ observed_at: '2026-09-03T02:00:00Z' }),
        ],
        hotline_case: [
          hotline({
            case_id: 'c1',
            received_at: '2026-09-02T01:00:00Z',
            status: 'closed',
            responded_at: '2026-09-02T02:00:00Z',
            closed_at: '2026-09-03T01:00:00Z',
            deadline_at: '2026-09-04T01:00:00Z',
            contacted: true,
            resolved: true,
            satisfaction: 'basically_satisfied',
          }),
          hotline({ case_id: 'c2', received_at: '2026-09-02T03:00:00Z' }),
        ],
        city_event: [
          cityEvent({
            event_id: 'e1',
            reported_at: '2026-09-02T01:00:00Z',
            registered_at: '2026-09-02T01:10:00Z',
            dispatched_at: '2026-09-02T01:20:00Z',
            handled_at: '2026-09-02T05:20:00Z',
            closed_at: '2026-09-02T06:00:00Z',
            deadline_at: '2026-09-02T04:00:00Z',
            status: 'closed',
          }),
        ],
        dept_delivery: [delivery({ delivery_id: 'd1', resource_code: 'r1', delivered_at: '2026-09-05T02:00:00Z' })],
      },
    });
    expect(result.tests.filter((t) => !t.passed)).toEqual([]);

    const served = await query('select code, mart, grains, row_filter from mart_indicators order by code');
    expect(served.map((r) => r.code)).toEqual(catalog.map((i) => i.code).sort());
    expect(catalog.length).toBeGreaterThanOrEqual(15);

    const checked: string[] = [];
    for (const indicator of catalog.filter((i) => i.numerator_column !== null)) {
      const filter = Object.entries(indicator.row_filter)
        .map(([c, v]) => `and ${ident(c)} = '${v.replaceAll("'", "''")}'`)
        .join(' ');
      const [row] = await query(
        `select count(*) as rows, count(*) filter (where ${ident(indicator.value_column)} is not null) as valued,
                count(*) filter (where ${ident(indicator.value_column)} is distinct from
                  cast(${ident(indicator.numerator_column!)} as double) / nullif(${ident(indicator.denominator_column)}, 0)) as wrong
         from ${ident(indicator.mart)} where grain in (${indicator.grains.map((g) => `'${g}'`).join(', ')}) ${filter}`,
      );
      expect({ code: indicator.code, wrong: row!.wrong }).toEqual({ code: indicator.code, wrong: 0 });
      // Each one is computed on some row of this lake, so the check above compared real values.
      if (Number(row!.valued) > 0) checked.push(indicator.code);
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'data_sharing_rate',
        'hotline_resolution_rate',
        'hotline_satisfaction_rate',
        'event_closure_rate',
        'event_handling_hours',
        'sensor_online_rate',
      ]),
    );
  });

  it('names the entry and key when an indicator points at a column its mart does not have', async () => {
    const dir = await dirs.make();
    const ownSql = join(dir, 'sql');
    await cp(sqlDir, ownSql, { recursive: true });
    const catalog = JSON.parse(await readFile(indicatorCatalogFile(ownSql), 'utf8')) as Indicator[];
    catalog.push({ ...catalog[0]!, code: 'local_rate', kind: 'local', value_column: 'no_such_rate' });
    await writeFile(indicatorCatalogFile(ownSql), JSON.stringify(catalog));
    const error = await runModels({
      lakeDir: join(dir, 'lake'),
      martsPath: join(dir, 'marts.duckdb'),
      sqlDir: ownSql,
      regionCode: '330100',
      catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: [] },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelDefinitionError);
    expect(error).toMatchObject({ field: `indicators[${catalog.length - 1}].value_column` });
    expect((error as Error).message).toMatch(/local_rate: mart_data_sharing has no column no_such_rate/);

    await writeFile(indicatorCatalogFile(ownSql), JSON.stringify([{ ...catalog[0]!, dimension: 'weather' }]));
    await expect(loadIndicatorCatalog(ownSql)).rejects.toMatchObject({ field: 'indicators[0].dimension' });
  });
});
