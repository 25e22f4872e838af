/**
 * The SQL models and the demo simulator's ground truth (connectors/demo/ground-truth.ts) implement
 * docs/indicators.md independently: fed the simulator's canonical facts as a landed lake, the marts must equal
 * the ground truth row for row. (test/e2e does the same through the whole pipeline.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { plannedEventSnapshots } from '../../connectors/demo/ground-truth-events.js';
import { plannedHotlineVersions } from '../../connectors/demo/ground-truth-hotline.js';
import { buildDemoCity, type DemoCity, groundTruth } from '../../connectors/demo/index.js';
import type { Region } from '../../schemas/index.js';
import { queryMarts, runModels } from './index.js';
import { tempDirs, writeLake } from './testing.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');
const iso = (ms: number) => new Date(ms).toISOString();
const isoOrUndefined = (ms: number | null) => (ms === null ? undefined : iso(ms));

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeAll(async () => {
  dirs = await tempDirs();
});
afterAll(async () => {
  await dirs.cleanup();
});

async function bundledRegions(): Promise<Region[]> {
  const lines = (await readFile(join(sqlDir, 'seeds', 'regions.csv'), 'utf8')).trim().split('\n').slice(1);
  return lines.map((line) => {
    const [code, name, level, parent_code] = line.split(',') as [string, string, Region['level'], string];
    return parent_code ? { code, name, level, parent_code } : { code, name, level };
  });
}

function sortedTuples(rows: unknown[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

function sorted(rows: object[], keys: string[]): Record<string, unknown>[] {
  const key = (r: Record<string, unknown>) => JSON.stringify(keys.map((k) => r[k]));
  return (rows as Record<string, unknown>[])
    .map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The demo city's facts written as a landed lake, once per city: the builds as of different days read the same lake
 * (writing it is most of a case's time).
 */
const landedCities = new Map<string, Promise<{ city: DemoCity; lakeDir: string }>>();
function landedCity(hub: string, months: number, scale: number): Promise<{ city: DemoCity; lakeDir: string }> {
  const key = JSON.stringify([hub, months, scale]);
  let landed = landedCities.get(key);
  if (landed === undefined) {
    landed = landCity(hub, months, scale);
    landedCities.set(key, landed);
  }
  return landed;
}

async function landCity(hub: string, months: number, scale: number): Promise<{ city: DemoCity; lakeDir: string }> {
  const city = buildDemoCity({
    seed: 4242,
    startMonth: '2026-06',
    months,
    scale,
    regions: await bundledRegions(),
    hubRegionCode: hub,
  });
  const facts = city.plan.facts;
  const lakeDir = join(await dirs.make(), 'lake');
  // Facts carry the columns the indicators read; the rest are filled with valid placeholders.
  await writeLake(
    lakeDir,
    'sensor_reading',
    facts.sensor_reading.map((r) => ({ ...r, value: 1, unit: 'cm' as const, observed_at: iso(r.observed_at_ms) })),
  );
  await writeLake(
    lakeDir,
    'video_alert',
    facts.video_alert.map((r) => ({
      ...r,
      status: r.status as 'new',
      camera_id: 'cam',
      vendor_code: 'v',
      confidence: 1,
      occurred_at: iso(r.occurred_at_ms),
      status_at: iso(r.occurred_at_ms),
    })),
  );
  // Hotline versions and event snapshots with every field the hotline and event-closure marts read, as planned.
  // The planned messages (in emission order) are exactly the facts (in planning order).
  const versions = plannedHotlineVersions(city);
  expect(sortedTuples(versions.map((v) => [v.case_id, v.status, v.received_at_ms]))).toEqual(
    sortedTuples(facts.hotline_case.map((f) => [f.case_id, f.status, f.received_at_ms])),
  );
  await writeLake(
    lakeDir,
    'hotline_case',
    versions.map((v) => ({
      case_id: v.case_id,
      status: v.status,
      channel: 'phone' as const,
      request_type: 'other' as const,
      category: v.category,
      region_code: v.region_code,
      received_at: iso(v.received_at_ms),
      updated_at: isoOrUndefined(v.updated_at_ms),
      responded_at: isoOrUndefined(v.responded_at_ms),
      closed_at: isoOrUndefined(v.closed_at_ms),
      deadline_at: isoOrUndefined(v.deadline_at_ms),
      contacted: v.contacted ?? undefined,
      resolved: v.resolved ?? undefined,
      satisfaction: v.satisfaction ?? undefined,
      caller_hash: '0'.repeat(64),
      caller_key_id: '1',
    })),
  );
  const snapshots = plannedEventSnapshots(city);
  expect(
    sortedTuples(snapshots.map((e) => [e.event_id, e.status, e.times[0], e.status === 'closed' ? e.times[5] : null])),
  ).toEqual(sortedTuples(facts.city_event.map((f) => [f.event_id, f.status, f.reported_at_ms, f.closed_at_ms])));
  const [reported, registered, dispatched, handled, verified, closed] = [0, 1, 2, 3, 4, 5];
  await writeLake(
    lakeDir,
    'city_event',
    snapshots.map((e) => ({
      event_id: e.event_id,
      status: e.status,
      source_kind: e.source_kind as 'video',
      source_ref: e.source_ref,
      event_class: e.event_class,
      region_code: e.region_code,
      reported_at: iso(e.times[reported]!),
      registered_at: isoOrUndefined(e.times[registered]!),
      dispatched_at: isoOrUndefined(e.times[dispatched]!),
      handled_at: isoOrUndefined(e.times[handled]!),
      verified_at: isoOrUndefined(e.times[verified]!),
      closed_at: isoOrUndefined(e.times[closed]!),
      deadline_at: isoOrUndefined(e.deadline_at_ms),
    })),
  );
  await writeLake(
    lakeDir,
    'dept_delivery',
    facts.dept_delivery.map((r) => ({
      ...r,
      department_code: 'dept',
      delivered_at: iso(r.delivered_at_ms),
      source_file: 'file.csv',
      checksum: 'sum',
    })),
  );
  return { city, lakeDir };
}

// Builds as of a day when every period (the year included) is over, and as of days inside the data: open periods
// count only the days before the cut-off, though the lake holds rows dated after it (Q3 open from mid-August; with
// four months, September starts after the cut-off and counts no day at all).
it.each([
  { hub: '330000', months: 3, scale: 0.2, now: '2027-01-01T00:00:00+08:00' },
  { hub: '330000', months: 3, scale: 0.2, now: '2026-08-15T09:30:00+08:00' },
  { hub: '330100', months: 4, scale: 0.3, now: '2026-08-20T23:59:59+08:00' },
])(
  'equals the simulator ground truth (hub $hub, $months months, scale $scale, built $now)',
  async ({ hub, months, scale, now }) => {
    const { city, lakeDir } = await landedCity(hub, months, scale);
    const truth = groundTruth(city, { now: new Date(now) });
    const result = await runModels({
      lakeDir,
      martsPath: join(await dirs.make(), 'marts.duckdb'),
      sqlDir,
      regionCode: hub,
      catalogs: city.catalogs,
      now: new Date(now),
    });
    expect(result.tests.filter((t) => !t.passed)).toEqual([]);
    for (const [mart, rows] of [
      ['mart_data_sharing', truth.data_sharing],
      ['mart_scenario_coverage', truth.scenario_coverage],
      ['mart_scenario_status', truth.scenario_status],
    ] as const) {
      expect(rows.length).toBeGreaterThan(0);
      const keys = Object.keys(rows[0]!);
      const r = await queryMarts({ martsPath: result.martsPath, sql: `select ${keys.join(', ')} from ${mart}` });
      const actual = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
      expect(sorted(actual, keys), mart).toEqual(sorted(rows, keys));
    }
    // The marts with a day grain: their total rows ('all'), every grain, period and region.
    for (const [mart, rows, where] of [
      ['mart_hotline', truth.hotline, "breakdown = 'all'"],
      ['mart_event_closure', truth.event_closure, "breakdown = 'all'"],
      ['mart_sensor_health', truth.sensor_health, "device_type = 'all'"],
    ] as const) {
      expect(rows.length).toBeGreaterThan(0);
      const all = Object.keys(rows[0]!);
      // Sums of DOUBLE hours add up in another order in SQL: compared to 1e-6 h, every other column exactly.
      const approx = all.filter((k) => k.endsWith('_hours_sum'));
      const keys = all.filter((k) => !approx.includes(k));
      const r = await queryMarts({
        martsPath: result.martsPath,
        sql: `select ${all.join(', ')} from ${mart} where ${where}`,
      });
      const actual = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
      expect(sorted(actual, keys), mart).toEqual(sorted(rows, keys));
      if (approx.length > 0) {
        const id = ['grain', 'period', 'region_code'];
        const got = sorted(actual, [...id, ...approx]);
        const want = sorted(rows, [...id, ...approx]);
        for (const [i, row] of want.entries()) {
          for (const k of approx)
            expect(got[i]![k], `${mart} ${JSON.stringify(id.map((c) => row[c]))} ${k}`).toBeCloseTo(
              row[k] as number,
              6,
            );
        }
      }
    }
    if (now.startsWith('2027')) expect(zeroColumns(truth)).toEqual(demoZeroColumns);
  },
);

/**
 * The numeric columns of the new marts' truth that are 0 in every row: what the comparison cannot check with the
 * demo's data. The demo's events all carry a deadline, and it configures no sensor alarm thresholds.
 */
function zeroColumns(truth: ReturnType<typeof groundTruth>): Record<string, string[]> {
  const columns = (rows: readonly object[]) =>
    Object.keys(rows[0]!)
      .filter((k) => (rows as Record<string, unknown>[]).every((r) => r[k] === 0 || r[k] === null))
      .filter((k) => (rows as Record<string, unknown>[]).some((r) => r[k] === 0))
      .sort();
  return {
    hotline: columns(truth.hotline),
    event_closure: columns(truth.event_closure),
    sensor_health: columns(truth.sensor_health),
  };
}

const demoZeroColumns = {
  hotline: [],
  event_closure: ['no_deadline_count'],
  sensor_health: [
    'alarm_device_days',
    'alarm_readings',
    'alarm_readings_level_1',
    'alarm_readings_level_2',
    'alarm_readings_level_3',
  ],
};
