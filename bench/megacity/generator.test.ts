/**
 * The megacity generator at a tiny scale (three days across a month boundary): the canonical layout, the row counts
 * of the plan (computed independently in plan.ts), the landing's column types, a day appended as new files only,
 * and a models build over it with every data test passing.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDataFileName } from '../../pipelines/land/layout.js';
import { columnSpecs, landingColumnSpecs, literal } from '../../pipelines/models/columns.js';
import { queryMarts } from '../../pipelines/models/query.js';
import { runModels } from '../../pipelines/models/run.js';
import { tempDirs } from '../../pipelines/models/testing.js';
import { packageRoot } from '../../pipelines/package-root.js';
import { datasetMeta, datasets } from '../../schemas/index.js';
import { appendDay, generatedDatasets, generateMegacity, paths, readCatalogs, readManifest } from './generate.js';
import type { MegacityPlan } from './plan.js';

const dirs = await tempDirs();
let out: string;
let plan: MegacityPlan;
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
await connection.run("set TimeZone = 'UTC'");

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql);
  const names = reader.columnNames();
  return reader.getRows().map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
}
async function scalar(sql: string): Promise<number> {
  return Number(Object.values((await rows(sql))[0]!)[0]);
}
const lakeGlob = (dataset: string) =>
  `read_parquet(${literal(join(paths(out).lake, dataset, '*', '*.parquet'))}, hive_partitioning = true, filename = true)`;

/** Every file of the lake: dataset, dt folder, name. */
async function lakeListing(): Promise<{ dataset: string; dt: string; name: string; size: number }[]> {
  const listing: { dataset: string; dt: string; name: string; size: number }[] = [];
  for (const dataset of await readdir(paths(out).lake)) {
    for (const dt of await readdir(join(paths(out).lake, dataset))) {
      for (const name of await readdir(join(paths(out).lake, dataset, dt))) {
        listing.push({ dataset, dt, name, size: (await stat(join(paths(out).lake, dataset, dt, name))).size });
      }
    }
  }
  return listing;
}

const topicOf: Record<string, string> = {
  sensor_reading: 'raw.sensor',
  hotline_case: 'raw.hotline',
  video_alert: 'raw.video',
  city_event: 'raw.event',
  dept_delivery: 'raw.dept',
  dept_record: 'raw.dept',
};

beforeAll(async () => {
  out = join(await dirs.make(), 'megacity');
  // Scale 1/1000 of a megacity year: 66 cases, 3 alerts and 3 events a day, 4 sensors, 6 resources.
  ({ plan } = await generateMegacity(out, { scale: 0.001, days: 3, startDate: '2025-01-30', seed: 7 }));
});

afterAll(async () => {
  connection.closeSync();
  instance.closeSync();
  await dirs.cleanup();
});

describe('megacity generator', () => {
  it('writes the canonical layout: dt folders of the event day, file names that parse, offsets as named', async () => {
    const listing = await lakeListing();
    expect(new Set(listing.map((f) => f.dataset))).toEqual(new Set(generatedDatasets));
    expect(new Set(listing.map((f) => f.dt))).toEqual(new Set(['dt=2025-01-30', 'dt=2025-01-31', 'dt=2025-02-01']));
    for (const f of listing) {
      const c = parseDataFileName(f.name);
      expect(c, f.name).toBeDefined();
      expect(c!.topic).toBe(topicOf[f.dataset]);
      expect(c!.generation).toBe(plan.generation);
      expect(c!.partition).toBeLessThan(plan.partitions);
      expect(c!.firstOffset).toBeLessThanOrEqual(c!.lastOffset);
    }
    for (const dataset of generatedDatasets) {
      const eventTime = datasetMeta(dataset).event_time;
      // Each file's rows carry the topic, partition and offsets of its name, and the dt of their event time.
      const files = await rows(`
        select filename, any_value(_topic) as topic, count(distinct _topic) as topics, min(_partition) as partition,
            count(distinct _partition) as partitions, min(_offset) as first, max(_offset) as last,
            bool_and(cast(dt as varchar) = strftime(timezone('UTC', ${eventTime}) + interval 8 hour, '%Y-%m-%d')) as dt_ok
        from ${lakeGlob(dataset)} group by filename`);
      expect(files.length).toBe(listing.filter((f) => f.dataset === dataset).length);
      for (const f of files) {
        const c = parseDataFileName(String(f.filename).split('/').at(-1)!)!;
        expect({ topics: f.topics, partitions: f.partitions, dt_ok: f.dt_ok }).toEqual({
          topics: 1n,
          partitions: 1n,
          dt_ok: true,
        });
        expect([f.topic, Number(f.partition), Number(f.first), Number(f.last)]).toEqual([
          c.topic,
          c.partition,
          c.firstOffset,
          c.lastOffset,
        ]);
      }
      // Offsets are unique within a partition (dept records share their delivery's message offset).
      if (dataset !== 'dept_record') {
        expect(
          await scalar(
            `select count(*) from (select _partition, _offset from ${lakeGlob(dataset)} group by all having count(*) > 1)`,
          ),
        ).toBe(0);
      }
    }
  });

  it('holds the records of the plan, with versions and re-landed duplicates on top', async () => {
    const e = plan.expected;
    expect(e).toMatchObject({ hotlineCases: 66 * 3, videoAlerts: 3 * 3, cityEvents: 3 * 3 });
    expect(await scalar(`select count(distinct case_id) from ${lakeGlob('hotline_case')}`)).toBe(e.hotlineCases);
    expect(await scalar(`select count(distinct alert_id) from ${lakeGlob('video_alert')}`)).toBe(e.videoAlerts);
    expect(await scalar(`select count(distinct event_id) from ${lakeGlob('city_event')}`)).toBe(e.cityEvents);
    expect(
      await scalar(`select count(distinct (device_id, metric, observed_at)) from ${lakeGlob('sensor_reading')}`),
    ).toBe(e.sensorReadings);
    expect(await scalar(`select count(distinct delivery_id) from ${lakeGlob('dept_delivery')}`)).toBe(e.deliveries);
    // Records: the valid ones of each delivery, once per delivery.
    expect(await scalar(`select count(distinct (delivery_id, line)) from ${lakeGlob('dept_record')}`)).toBe(
      await scalar(
        `select sum(valid_count) from (select distinct delivery_id, valid_count from ${lakeGlob('dept_delivery')})`,
      ),
    );
    // The manifest counts what is in the files.
    const manifest = (await readManifest(out))!;
    for (const dataset of generatedDatasets) {
      expect(await scalar(`select count(*) from ${lakeGlob(dataset)}`), dataset).toBe(manifest.datasets[dataset].rows);
    }
    // Dispatched cases have several versions (received, closed, closed again after the follow-up visit); nothing
    // happens after the cut-off.
    const versions = await rows(`
      select max(n) as most, count(*) filter (where n >= 3) as with_follow_up
      from (select case_id, count(distinct updated_at) as n from ${lakeGlob('hotline_case')} group by case_id)`);
    expect(Number(versions[0]!.most)).toBe(3);
    expect(Number(versions[0]!.with_follow_up)).toBeGreaterThan(0);
    expect(
      await scalar(
        `select count(*) from ${lakeGlob('hotline_case')} where updated_at >= make_timestamptz(${plan.cutoffMs}::bigint * 1000)`,
      ),
    ).toBe(0);
    // Device-days online of registered devices, as the plan computed them.
    const catalogs = await readCatalogs(out);
    const registered = catalogs.catalogs.devices.map((d) => `'${d.device_id}'`).join(', ');
    expect(
      await scalar(
        `select count(*) from (select distinct device_id, dt from ${lakeGlob('sensor_reading')} where device_id in (${registered}))`,
      ),
    ).toBe(e.deviceDaysOnline);
  });

  it('writes the columns and physical types the landing writes', async () => {
    for (const dataset of generatedDatasets) {
      const expected = [...columnSpecs(datasets[dataset]), ...landingColumnSpecs].map((c) => ({
        name: c.name,
        type: c.type === 'TIMESTAMPTZ' ? 'TIMESTAMP WITH TIME ZONE' : c.type,
      }));
      const file = (await lakeListing()).find((f) => f.dataset === dataset)!;
      const described = await rows(
        `describe select * from read_parquet(${literal(join(paths(out).lake, dataset, file.dt, file.name))}, hive_partitioning = false)`,
      );
      expect(
        described.map((c) => ({ name: c.column_name, type: c.column_type })),
        dataset,
      ).toEqual(expected);
    }
    // Timestamps are microseconds adjusted to UTC, and the files zstd-compressed, as docs/lake.md says.
    const file = (await lakeListing()).find((f) => f.dataset === 'hotline_case')!;
    const path = literal(join(paths(out).lake, 'hotline_case', file.dt, file.name));
    const schema = await rows(`select name, logical_type from parquet_schema(${path}) where name = 'received_at'`);
    expect(String(schema[0]!.logical_type)).toMatch(/isAdjustedToUTC=1.*MICROS|MICROS.*isAdjustedToUTC=1/i);
    expect(await scalar(`select count(*) from parquet_metadata(${path}) where compression <> 'ZSTD'`)).toBe(0);
  });

  it('builds the marts over it with every data test passing, and again after one more day lands as new files', async () => {
    const build = async () => {
      const c = await readCatalogs(out);
      return runModels({
        lakeDir: paths(out).lake,
        martsPath: join(out, 'marts.duckdb'),
        sqlDir: join(packageRoot(), 'sql'),
        regionCode: c.regionCode,
        catalogs: c.catalogs,
        indicators: c.indicators,
        now: new Date(c.now),
      });
    };
    const first = await build();
    expect(first.tests.filter((t) => !t.passed)).toEqual([]);
    const sharing = await queryMarts({
      martsPath: first.martsPath,
      sql: `select count(*) from mart_data_sharing where grain = 'month' and period = '2025-01' and region_code in ('110000', '110100', '110105')`,
    });
    expect(Number(sharing.rows[0]![0])).toBe(3);

    const before = await lakeListing();
    const added = await appendDay(out);
    const after = await lakeListing();
    // Nothing rewritten: every earlier file is still there with its size; the new ones carry higher offsets.
    for (const f of before) expect(after).toContainEqual(f);
    const fresh = after.filter(
      (f) => !before.some((b) => b.dataset === f.dataset && b.dt === f.dt && b.name === f.name),
    );
    expect(fresh.some((f) => f.dt === 'dt=2025-02-02')).toBe(true);
    expect(fresh.some((f) => f.dataset === 'hotline_case' && f.dt !== 'dt=2025-02-02')).toBe(true); // later versions
    expect(fresh.length).toBe(generatedDatasets.reduce((n, d) => n + added[d].files, 0));
    for (const f of fresh) {
      const c = parseDataFileName(f.name)!;
      const olderMax = Math.max(
        -1,
        ...before
          .map((b) => ({ b, c: parseDataFileName(b.name)! }))
          .filter((x) => x.c.topic === c.topic && x.c.partition === c.partition)
          .map((x) => x.c.lastOffset),
      );
      expect(c.firstOffset, f.name).toBeGreaterThan(olderMax);
    }
    expect((await readManifest(out))!.daysLanded).toBe(4);
    expect((await readCatalogs(out)).now).toBe('2025-02-02T18:00:00.000Z');
    const second = await build();
    expect(second.tests.filter((t) => !t.passed)).toEqual([]);
  });
});
