/**
 * Test helpers: a tiny Parquet lake written exactly as docs/lake.md lays it out, and catalog builders.
 * Used by the model tests only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  type CanonicalRecord,
  type DataResource,
  type DatasetName,
  type Device,
  datasetMeta,
  datasets,
  type Region,
  type Scenario,
} from '../../schemas/index.js';
import { createTableWithRows } from './append.js';
import { columnSpecs, landingColumnSpecs, literal } from './columns.js';
import type { IndicatorSettingsInput } from './indicator-settings.js';
import { queryMarts } from './query.js';
import { type ModelsRunResult, runModels } from './run.js';
import type { ModelCatalogs } from './seeds.js';

export type LandedRow<D extends DatasetName> = CanonicalRecord<D> & {
  _topic?: string;
  _partition?: number;
  _offset?: number;
  _source?: string;
  _ingested_at?: string;
};

/** The Asia/Shanghai calendar day of an ISO instant. */
export function shanghaiDate(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

/** Writes rows as landed Parquet: one file per (dt, topic, partition), named by its offset range. */
export async function writeLake<D extends DatasetName>(
  lakeDir: string,
  dataset: D,
  rows: LandedRow<D>[],
): Promise<void> {
  const columns = [...columnSpecs(datasets[dataset]), ...landingColumnSpecs];
  const eventTime = datasetMeta(dataset).event_time;
  let nextOffset = 0;
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) {
    const full: Record<string, unknown> = {
      _source: 'test',
      _ingested_at: '2026-09-01T00:00:00Z',
      _topic: `norm.${dataset}`,
      _partition: 0,
      ...row,
    };
    full._offset ??= nextOffset;
    nextOffset = Number(full._offset) + 1;
    const dt = shanghaiDate(String(full[eventTime]));
    const key = `${dt}|${full._topic}|${full._partition}`;
    groups.set(key, [...(groups.get(key) ?? []), full]);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const [key, group] of groups) {
      const [dt, topic, partition] = key.split('|') as [string, string, string];
      const offsets = group.map((r) => Number(r._offset));
      const pad = (n: number) => String(n).padStart(20, '0');
      const dir = join(lakeDir, dataset, `dt=${dt}`);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${topic}~${partition}~${pad(Math.min(...offsets))}~${pad(Math.max(...offsets))}.parquet`);
      await createTableWithRows(connection, 'landed', columns, group);
      await connection.run(`copy landed to ${literal(file)} (format parquet, compression zstd)`);
      await connection.run('drop table landed');
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A temp folder per test, removed by cleanup() (call it in afterEach). */
export async function tempDirs(): Promise<{
  make: () => Promise<string>;
  /** A new folder holding these files (relative path → text), e.g. a models folder. */
  withFiles: (files: Record<string, string>) => Promise<string>;
  cleanup: () => Promise<void>;
}> {
  const made: string[] = [];
  const make = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cityhub-models-'));
    made.push(dir);
    return dir;
  };
  return {
    make,
    withFiles: async (files) => {
      const dir = await make();
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), text);
      }
      return dir;
    },
    cleanup: async () => {
      await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** 浙江省 → 杭州市 (上城区, 西湖区) and 宁波市 (海曙区), as in sql/seeds/regions.csv. */
export const testRegions: Region[] = [
  { code: '330000', name: '浙江省', level: 'province' },
  { code: '330100', name: '杭州市', level: 'city', parent_code: '330000' },
  { code: '330102', name: '上城区', level: 'district', parent_code: '330100' },
  { code: '330106', name: '西湖区', level: 'district', parent_code: '330100' },
  { code: '330200', name: '宁波市', level: 'city', parent_code: '330000' },
  { code: '330203', name: '海曙区', level: 'district', parent_code: '330200' },
];

/** The level of each region of testRegions, as the marts' region_level column says it. */
export const testRegionLevels: Record<string, string> = Object.fromEntries(testRegions.map((r) => [r.code, r.level]));

export function resource(over: Partial<DataResource> & Pick<DataResource, 'resource_code'>): DataResource {
  return {
    name: over.resource_code,
    department_code: 'dept_test',
    region_code: '330102',
    share_type: 'unconditional',
    update_frequency: 'monthly',
    ...over,
  };
}

export function scenarioOf(over: Partial<Scenario> & Pick<Scenario, 'scenario_code'>): Scenario {
  return {
    name: over.scenario_code,
    dimension: 'operation',
    level: 'district',
    regions: [],
    required_device_types: [],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: [],
    closed_loop: false,
    event_classes: [],
    ...over,
  };
}

export function deviceOf(over: Partial<Device> & Pick<Device, 'device_id'>): Device {
  return { device_type: 'drain_level', region_code: '330102', reporting_interval_s: 300, ...over };
}

export function reading(
  over: Partial<LandedRow<'sensor_reading'>> & { observed_at: string },
): LandedRow<'sensor_reading'> {
  return {
    device_id: 'dev-1',
    device_type: 'drain_level',
    metric: 'level',
    value: 1.5,
    unit: 'cm',
    region_code: '330102',
    ...over,
  };
}

export function delivery(
  over: Partial<LandedRow<'dept_delivery'>> & Pick<LandedRow<'dept_delivery'>, 'delivery_id' | 'delivered_at'>,
): LandedRow<'dept_delivery'> {
  return {
    resource_code: 'res-1',
    department_code: 'dept_test',
    region_code: '330102',
    source_file: `in/${over.delivery_id}.csv`,
    record_count: 10,
    valid_count: 10,
    checksum: 'sha256:0',
    ...over,
  };
}

export function alert(
  over: Partial<LandedRow<'video_alert'>> & Pick<LandedRow<'video_alert'>, 'alert_id' | 'occurred_at'>,
): LandedRow<'video_alert'> {
  return {
    camera_id: 'cam-1',
    event_type: '0101',
    vendor_code: 'V01',
    confidence: 0.9,
    region_code: '330102',
    status: 'new',
    status_at: over.occurred_at,
    ...over,
  };
}

export function hotline(
  over: Partial<LandedRow<'hotline_case'>> & Pick<LandedRow<'hotline_case'>, 'case_id' | 'received_at'>,
): LandedRow<'hotline_case'> {
  return {
    channel: 'phone',
    request_type: 'complaint',
    category: '城市管理/市容环境/暴露垃圾',
    region_code: '330102',
    status: 'received',
    caller_hash: 'a'.repeat(64),
    caller_key_id: '1',
    ...over,
  };
}

export function cityEvent(
  over: Partial<LandedRow<'city_event'>> & Pick<LandedRow<'city_event'>, 'event_id' | 'reported_at' | 'status'>,
): LandedRow<'city_event'> {
  return {
    source_kind: 'video',
    source_ref: 'alert-1',
    event_class: '0101',
    region_code: '330102',
    ...over,
  };
}

/**
 * The last day a period counts (mart column counted_end): its end, or for a period still open at the build's data
 * cut-off (00:00 Asia/Shanghai of the build's day, an ISO instant) the day before that day.
 */
export function countedEnd(periodEnd: string, dataCutoff: string): string {
  const dayBeforeCutoff = shanghaiDate(new Date(Date.parse(dataCutoff) - 86_400_000).toISOString());
  return periodEnd < dayBeforeCutoff ? periodEnd : dayBeforeCutoff;
}

/** The first and last day of a period (`2026-08-16`, `2026-08`, `2026-Q3`, `2026`), as int_periods gives them. */
export function periodBounds(grain: string, period: string): { period_start: string; period_end: string } {
  const iso = (y: number, m: number, d: number) => new Date(Date.UTC(y, m, d)).toISOString().slice(0, 10);
  const year = Number(period.slice(0, 4));
  switch (grain) {
    case 'day':
      return { period_start: period, period_end: period };
    case 'month': {
      const month = Number(period.slice(5, 7)) - 1;
      return { period_start: iso(year, month, 1), period_end: iso(year, month + 1, 0) };
    }
    case 'quarter': {
      const first = (Number(period.slice(6)) - 1) * 3;
      return { period_start: iso(year, first, 1), period_end: iso(year, first + 3, 0) };
    }
    default:
      return { period_start: iso(year, 0, 1), period_end: iso(year, 12, 0) };
  }
}

/** The period columns of a mart row of a period over before the build's data cut-off (an ISO instant). */
export function completePeriod(grain: string, period: string, dataCutoff: string) {
  const bounds = periodBounds(grain, period);
  return { ...bounds, is_complete: true, counted_end: bounds.period_end, data_cutoff: dataCutoff };
}

export type TestLake = { [D in DatasetName]?: LandedRow<D>[] };
export type MartRow = Record<string, unknown>;

const bundledSqlDir = join(import.meta.dirname, '..', '..', 'sql');

/**
 * Writes `lake`, builds the bundled models for the hub region `regionCode` at `now` and returns the build result with
 * a query function answering rows as objects. Catalogs default to testRegions and nothing else.
 */
export async function buildTestMarts(
  dirs: { make: () => Promise<string> },
  o: {
    regionCode: string;
    lake: TestLake;
    catalogs?: Partial<ModelCatalogs>;
    now: Date;
    indicators?: IndicatorSettingsInput;
  },
): Promise<{ result: ModelsRunResult; query: (sql: string) => Promise<MartRow[]> }> {
  const dir = await dirs.make();
  const lakeDir = join(dir, 'lake');
  for (const [dataset, rows] of Object.entries(o.lake) as [DatasetName, LandedRow<DatasetName>[]][]) {
    await writeLake(lakeDir, dataset, rows);
  }
  const result = await runModels({
    lakeDir,
    martsPath: join(dir, 'marts.duckdb'),
    sqlDir: bundledSqlDir,
    regionCode: o.regionCode,
    catalogs: { regions: testRegions, data_resources: [], scenarios: [], devices: [], ...o.catalogs },
    now: o.now,
    ...(o.indicators === undefined ? {} : { indicators: o.indicators }),
  });
  const query = async (sql: string): Promise<MartRow[]> => {
    const r = await queryMarts({ martsPath: result.martsPath, sql });
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
  };
  return { result, query };
}
