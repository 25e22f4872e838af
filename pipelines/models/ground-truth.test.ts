/**
 * The SQL models and the demo simulator's ground truth (connectors/demo/ground-truth.ts) implement
 * docs/indicators.md independently: fed the simulator's canonical facts as a landed lake, every mart must equal
 * the ground truth row for row — every grain, period, region, breakdown, resource and evaluation level — and
 * mart_indicators must be the catalog file. (test/e2e does the same through the whole pipeline.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventClassNames } from '../../connectors/demo/codes.js';
import { type CatalogIndicator, evaluationTruth } from '../../connectors/demo/ground-truth.js';
import { martDifferences, martTruths, truthColumns } from '../../connectors/demo/ground-truth-compare.js';
import { plannedEventSnapshots } from '../../connectors/demo/ground-truth-events.js';
import { plannedHotlineVersions } from '../../connectors/demo/ground-truth-hotline.js';
import { buildDemoCity, type DemoCity, groundTruth } from '../../connectors/demo/index.js';
import { type DatasetName, datasetMeta, type Region } from '../../schemas/index.js';
import { queryMarts, runModels } from './index.js';
import { type LandedRow, tempDirs, writeLake as writeLakeNow } from './testing.js';

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

/**
 * Which rows land only later (`landRest`): a growing lake, as a hub's builds see it while files keep landing. Given a
 * row's event day (as written, in UTC) and its index among its dataset's rows.
 */
type LandsLater = (day: string, index: number) => boolean;

async function landCity(
  hub: string,
  months: number,
  scale: number,
  landsLater?: LandsLater,
): Promise<{ city: DemoCity; lakeDir: string; landRest: () => Promise<void> }> {
  const later: (() => Promise<void>)[] = [];
  const writeLake = async <D extends DatasetName>(lakeDir: string, dataset: D, rows: LandedRow<D>[]) => {
    if (landsLater === undefined) return writeLakeNow(lakeDir, dataset, rows);
    const timeField = datasetMeta(dataset).event_time as keyof LandedRow<D>;
    const isLate = (row: LandedRow<D>, i: number) => landsLater(String(row[timeField]).slice(0, 10), i);
    await writeLakeNow(
      lakeDir,
      dataset,
      rows.filter((r, i) => !isLate(r, i)),
    );
    const rest = rows.filter(isLate);
    if (rest.length > 0) later.push(() => writeLakeNow(lakeDir, dataset, rest));
  };
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
      channel: v.channel as 'phone',
      request_type: v.request_type as 'other',
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
  return {
    city,
    lakeDir,
    landRest: async () => {
      for (const land of later.splice(0)) await land();
    },
  };
}

/** The indicator catalog as its file lists it, read without the models' loader. */
async function catalogFile(): Promise<(CatalogIndicator & Record<string, unknown>)[]> {
  return JSON.parse(await readFile(join(sqlDir, 'seeds', 'indicators.json'), 'utf8'));
}

/** A locality's own settings: other hotline weights and an evaluation scheme with weights, full scores and a 0. */
const tunedIndicators = {
  hotline_weights: { response: 0.2, resolution: 0.5, satisfaction: 0.3 },
  basically_satisfied_weight: 0.8,
  evaluation: {
    dimension_weights: { service: 2, operation: 0 },
    indicators: [
      { code: 'hotline_resolution_rate', weight: 2, full_score_at: 0.8 },
      { code: 'hotline_composite_score' },
      { code: 'event_closure_rate', full_score_at: 0.5 },
      { code: 'event_handling_hours' },
      { code: 'sensor_online_rate' },
      { code: 'data_sharing_rate', weight: 3, full_score_at: 0.9 },
      { code: 'scenario_coverage_rate' },
    ],
  },
};

// Builds as of a day when every period (the year included) is over, and as of days inside the data: open periods
// count only the days before the cut-off, though the lake holds rows dated after it (Q3 open from mid-August; with
// four months, September starts after the cut-off and counts no day at all). The last one with a locality's own
// indicator settings.
it.each([
  { hub: '330000', months: 3, scale: 0.2, now: '2027-01-01T00:00:00+08:00', indicators: undefined },
  { hub: '330000', months: 3, scale: 0.2, now: '2026-08-15T09:30:00+08:00', indicators: undefined },
  { hub: '330100', months: 4, scale: 0.3, now: '2026-08-20T23:59:59+08:00', indicators: tunedIndicators },
])(
  'every mart equals the simulator ground truth (hub $hub, $months months, scale $scale, built $now)',
  async ({ hub, months, scale, now, indicators }) => {
    const { city, lakeDir } = await landedCity(hub, months, scale);
    const truth = groundTruth(city, { now: new Date(now), indicators });
    const catalog = await catalogFile();
    const result = await runModels({
      lakeDir,
      martsPath: join(await dirs.make(), 'marts.duckdb'),
      sqlDir,
      regionCode: hub,
      catalogs: city.catalogs,
      now: new Date(now),
      indicators,
    });
    expect(result.tests.filter((t) => !t.passed)).toEqual([]);
    await expectMartsEqualTruth(result.martsPath, truth, catalog);
    await expectReasonsInWords(result.martsPath, truth, city);
    expect(await martIndicators(result.martsPath)).toEqual(catalog.map(withCatalogDefaults).sort(byCode));
    expectEveryBreakdown(truth);
    if (now.startsWith('2027')) expect(zeroColumns(truth)).toEqual(demoZeroColumns);
  },
);

/** Every mart row for row against the ground truth (soft: one run reports the differences of every mart). */
async function expectMartsEqualTruth(
  martsPath: string,
  truth: ReturnType<typeof groundTruth>,
  catalog: CatalogIndicator[],
): Promise<void> {
  for (const t of martTruths(truth, evaluationTruth(truth, catalog))) {
    expect(t.rows.length, t.mart).toBeGreaterThan(0);
    const actual = await queryMarts({ martsPath, sql: `select ${truthColumns(t).join(', ')} from ${t.mart}` });
    expect.soft(martDifferences(t, actual), t.mart).toEqual([]);
  }
}

// Late files on a few days: an incremental build recomputes the periods they fall in and takes the other days over,
// and must end where one build over the whole lake does (a month recomputed for one of its days still counts the
// others: mart_event_closure once counted only the changed days).
it('an incremental build after late files on a few days equals the ground truth', async () => {
  const hub = '330000';
  const now = new Date('2027-01-01T00:00:00+08:00');
  // Every other row of about one day in eight lands after the first build.
  const fewDays = (day: string, index: number) => index % 2 === 1 && Number(day.slice(8, 10)) % 8 === 3;
  const { city, lakeDir, landRest } = await landCity(hub, 3, 0.2, fewDays);
  const martsPath = join(await dirs.make(), 'marts.duckdb');
  const build = () => runModels({ lakeDir, martsPath, sqlDir, regionCode: hub, catalogs: city.catalogs, now });
  await build();
  await landRest();
  const result = await build();
  expect(result.tests.filter((t) => !t.passed)).toEqual([]);
  for (const mart of ['mart_hotline', 'mart_event_closure', 'mart_sensor_health']) {
    const stat = result.models.find((m) => m.name === mart)!;
    expect(stat.mode, mart).toBe('incremental');
    // Recomputed: the late days' periods, not all of them.
    expect(stat.periods, mart).toBeGreaterThan(0);
    expect(stat.periods, mart).toBeLessThan(result.models.find((m) => m.name === 'int_periods')!.rows!);
  }
  await expectMartsEqualTruth(result.martsPath, groundTruth(city, { now }), await catalogFile());
});

/**
 * failed_reasons are the failed conditions in words, in their order: each names its condition's subject, with the
 * resource's catalog name or the event class's name beside its code. (The words themselves are the mart's.)
 */
async function expectReasonsInWords(martsPath: string, truth: ReturnType<typeof groundTruth>, city: DemoCity) {
  const r = await queryMarts({
    martsPath,
    sql: 'select grain, period, scenario_code, region_code, failed_reasons from mart_scenario_status',
  });
  const reasons = new Map(r.rows.map((row) => [JSON.stringify(row.slice(0, 4)), row[4] as string[]]));
  const resourceNames = new Map(city.catalogs.data_resources.map((d) => [d.resource_code, d.name]));
  const classNames = new Map(Object.entries(eventClassNames));
  let checked = 0;
  for (const status of truth.scenario_status) {
    const words = reasons.get(JSON.stringify([status.grain, status.period, status.scenario_code, status.region_code]));
    expect(words?.length, status.scenario_code).toBe(status.failed_conditions.length);
    status.failed_conditions.forEach((condition, i) => {
      const [kind, subject] = condition.split(':') as [string, string | undefined];
      const name =
        kind === 'no_resource_delivery'
          ? resourceNames.get(subject!)
          : kind === 'no_video_alerts'
            ? classNames.get(subject!)
            : undefined;
      const mentions = [subject, name].filter((x) => x !== undefined);
      expect(words![i], condition).not.toBe(condition);
      for (const m of mentions) expect(words![i], condition).toContain(m);
      checked++;
    });
  }
  expect(checked).toBeGreaterThan(0);
}

/** mart_indicators as plain entries: row_filter parsed, absent optional keys dropped. */
async function martIndicators(martsPath: string): Promise<Record<string, unknown>[]> {
  const r = await queryMarts({ martsPath, sql: 'select * from mart_indicators order by code' });
  return r.rows.map((row) =>
    Object.fromEntries(
      r.columns.flatMap((c, i) => {
        if (c === 'row_filter') return [[c, JSON.parse(String(row[i]))]];
        return row[i] === null && c === 'target' ? [] : [[c, row[i]]];
      }),
    ),
  );
}

const byCode = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  String(a.code) < String(b.code) ? -1 : String(a.code) > String(b.code) ? 1 : 0;

/** A catalog file entry with the defaults the catalog documents (row_filter {}, higher_is_better true), by code. */
function withCatalogDefaults(entry: Record<string, unknown>): Record<string, unknown> {
  return { row_filter: {}, higher_is_better: true, ...entry };
}

/** The comparison covers every breakdown: each has rows, with more than one value. */
function expectEveryBreakdown(truth: ReturnType<typeof groundTruth>) {
  const values = (rows: readonly object[], column: string) => {
    const out = new Map<string, Set<string>>();
    for (const r of rows as Record<string, string>[]) {
      const b = r[column]!;
      out.set(b, (out.get(b) ?? new Set()).add(r[column === 'device_type' ? 'device_type' : 'breakdown_value']!));
    }
    return out;
  };
  const hotline = values(truth.hotline, 'breakdown');
  expect([...hotline.keys()].sort()).toEqual(['all', 'category_l1', 'category_l2', 'channel', 'request_type']);
  for (const b of ['category_l1', 'category_l2', 'channel', 'request_type'])
    expect(hotline.get(b)!.size).toBeGreaterThan(1);
  const events = values(truth.event_closure, 'breakdown');
  expect([...events.keys()].sort()).toEqual(['all', 'event_class', 'source_kind']);
  for (const b of ['event_class', 'source_kind']) expect(events.get(b)!.size).toBeGreaterThan(1);
  expect(values(truth.sensor_health, 'device_type').size).toBeGreaterThan(2);
  expect(new Set(truth.resource_sharing.map((r) => r.is_required))).toEqual(new Set([true, false]));
}

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
