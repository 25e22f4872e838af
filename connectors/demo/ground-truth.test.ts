import { describe, expect, it } from 'vitest';
import { hotlineChannel, hotlineRequestType, scenarioCoversRegion } from '../../schemas/index.js';
import { type CatalogIndicator, evaluationTruth, regionPrefix } from './ground-truth.js';
import { type MartTruth, martDifferences } from './ground-truth-compare.js';
import { scoreEvaluation } from './ground-truth-evaluation.js';
import { plannedHotlineVersions } from './ground-truth-hotline.js';
import { groundTruth } from './index.js';
import { city } from './testing/fixtures.js';
import { dayOf, dayOfDate, dayStartMs } from './time.js';
import type { ScenarioStatusRow } from './types.js';

const c = city();
// Built after the data's year is over: every period is complete (open periods are tested at the end).
const completeBuild = new Date('2027-01-01T00:00:00+08:00');
const gt = groundTruth(c, { now: completeBuild });
const scope = c.catalogs.regions.filter((r) => r.code.startsWith('33'));
const periods = ['2026-01', '2026-02', '2026-03', '2026-Q1', '2026'];

const sharing = (period: string, region: string) =>
  gt.data_sharing.find((r) => r.period === period && r.region_code === region)!;
const coverage = (period: string, region: string) =>
  gt.scenario_coverage.find((r) => r.period === period && r.region_code === region)!;
const status = (period: string, scenario: string, region: string): ScenarioStatusRow =>
  gt.scenario_status.find((r) => r.period === period && r.scenario_code === scenario && r.region_code === region)!;

function expectRate(rate: number | null, num: number, den: number) {
  if (den === 0) expect(rate).toBeNull();
  else {
    expect(rate).toBe(num / den);
    expect(rate).toBeGreaterThanOrEqual(0);
    expect(rate).toBeLessThanOrEqual(1);
  }
}

describe('ground truth: shape', () => {
  it('has one row per grain × period × region of the hub scope, for the months, quarter and year of the data span', () => {
    for (const rows of [gt.data_sharing, gt.scenario_coverage]) {
      expect(rows).toHaveLength(periods.length * scope.length);
      expect(new Set(rows.map((r) => `${r.grain}|${r.period}|${r.region_code}`)).size).toBe(rows.length);
      expect([...new Set(rows.map((r) => r.period))]).toEqual(periods);
      expect([...new Set(rows.map((r) => r.grain))]).toEqual(['month', 'quarter', 'year']);
    }
  });

  it('has one status row per period and applicable (scenario, region) pair', () => {
    const pairs = c.catalogs.scenarios.reduce(
      (n, s) => n + scope.filter((r) => r.level === s.level && scenarioCoversRegion(s, r.code)).length,
      0,
    );
    expect(gt.scenario_status).toHaveLength(periods.length * pairs);
  });

  it('uses exactly the documented columns', () => {
    expect(Object.keys(gt.data_sharing[0]!)).toEqual([
      'grain',
      'period',
      'is_complete',
      'data_cutoff',
      'region_code',
      'region_level',
      'required_count',
      'shared_count',
      'sharing_rate',
      'due_count',
      'on_time_count',
      'timeliness_rate',
      'received_records',
      'valid_records',
      'quality_rate',
      'hooked_count',
      'hookup_rate',
      'target_rate',
      'meets_target',
    ]);
    expect(Object.keys(gt.scenario_coverage[0]!)).toEqual([
      'grain',
      'period',
      'is_complete',
      'data_cutoff',
      'region_code',
      'region_level',
      'applicable_count',
      'covered_count',
      'coverage_rate',
      'target_rate',
      'meets_target',
    ]);
    expect(Object.keys(gt.scenario_status[0]!)).toEqual([
      'grain',
      'period',
      'is_complete',
      'data_cutoff',
      'scenario_code',
      'scenario_name',
      'dimension',
      'region_code',
      'region_name',
      'is_covered',
      'failed_conditions',
      'online_rate',
      'online_device_days',
      'registered_device_days',
    ]);
  });
});

describe('ground truth: rates', () => {
  it('every rate is numerator / denominator in [0, 1], or null when the denominator is 0', () => {
    for (const r of gt.data_sharing) {
      expectRate(r.sharing_rate, r.shared_count, r.required_count);
      expectRate(r.timeliness_rate, r.on_time_count, r.due_count);
      expectRate(r.quality_rate, r.valid_records, r.received_records);
      expectRate(r.hookup_rate, r.hooked_count, r.required_count);
      expect(r.target_rate).toBe(0.9);
      expect(r.meets_target).toBe(r.sharing_rate === null ? null : r.sharing_rate >= 0.9);
    }
    for (const r of gt.scenario_coverage) {
      expectRate(r.coverage_rate, r.covered_count, r.applicable_count);
      expect(r.meets_target).toBe(r.coverage_rate === null ? null : r.coverage_rate >= 0.9);
    }
    for (const r of gt.scenario_status) {
      expectRate(r.online_rate, r.online_device_days, r.registered_device_days);
      expect(r.is_covered).toBe(r.failed_conditions.length === 0);
      expect(r.failed_conditions).toEqual([...r.failed_conditions].sort());
    }
  });

  it('every failure reason code occurs; some pairs are covered and some not; coverage is neither 0 nor 1', () => {
    const codes = new Set(gt.scenario_status.flatMap((r) => r.failed_conditions.map((f) => f.split(':')[0])));
    expect([...codes].sort()).toEqual([
      'no_closed_loop',
      'no_hotline_cases',
      'no_registered_devices',
      'no_resource_delivery',
      'no_sensor_data',
      'no_video_alerts',
      'online_rate_below_min',
    ]);
    for (const period of ['2026-01', '2026-02', '2026-03']) {
      const province = coverage(period, '330000');
      expect(province.covered_count).toBeGreaterThan(0);
      expect(province.covered_count).toBeLessThan(province.applicable_count);
      const s = sharing(period, '330000');
      expect(s.shared_count).toBeGreaterThan(0);
      expect(s.shared_count).toBeLessThan(s.required_count);
    }
  });

  it('some regions meet the 90% target and some do not', () => {
    // Every region has applicable pairs (占道经营识别 applies to every district), so no coverage rate is null.
    expect(new Set(gt.scenario_coverage.map((r) => r.meets_target))).toEqual(new Set([true, false]));
    expect(new Set(gt.data_sharing.map((r) => r.meets_target))).toEqual(new Set([true, false, null]));
  });

  it('rolls up by code prefix: a province counts its cities, a city its own entries plus its districts', () => {
    for (const period of periods) {
      const cities = scope.filter((r) => r.level === 'city');
      expect(coverage(period, '330000').applicable_count).toBe(
        cities.reduce((n, city) => n + coverage(period, city.code).applicable_count, 0),
      );
      for (const cityRow of cities) {
        const districts = scope.filter((r) => r.parent_code === cityRow.code);
        const own = gt.scenario_status.filter((r) => r.period === period && r.region_code === cityRow.code);
        const row = coverage(period, cityRow.code);
        expect(row.applicable_count).toBe(
          own.length + districts.reduce((n, d) => n + coverage(period, d.code).applicable_count, 0),
        );
        expect(row.covered_count).toBe(
          own.filter((r) => r.is_covered).length +
            districts.reduce((n, d) => n + coverage(period, d.code).covered_count, 0),
        );
        expect(sharing(period, cityRow.code).received_records).toBeGreaterThanOrEqual(
          districts.reduce((n, d) => n + sharing(period, d.code).received_records, 0),
        );
      }
    }
  });

  it('silent districts get rows with zeros', () => {
    const quiet = sharing('2026-02', '330127'); // 淳安县: no resources, no data
    expect(quiet).toMatchObject({
      required_count: 0,
      shared_count: 0,
      sharing_rate: null,
      received_records: 0,
      quality_rate: null,
    });
    expect(quiet.meets_target).toBeNull();
    const cov = coverage('2026-02', '330127');
    expect(cov.applicable_count).toBeGreaterThan(0);
    expect(cov.covered_count).toBe(0);
    expect(cov.coverage_rate).toBe(0);
  });
});

describe('ground truth: the definitions taken literally', () => {
  it('an empty delivery hooks a resource without sharing it', () => {
    // 西湖区: daily + realtime resources delivered; the monthly one delivered empty in January.
    expect(sharing('2026-01', '330106')).toMatchObject({ required_count: 3, shared_count: 2, hooked_count: 3 });
  });

  it("sharing ignores the delivery's own region; quality counts deliveries by their own region", () => {
    // 拱墅区's resource is relayed by the city platform (delivery adcode 330100).
    const r = sharing('2026-01', '330105');
    expect(r).toMatchObject({ required_count: 1, shared_count: 1, received_records: 0, quality_rate: null });
  });

  it('a delivery with only invalid records counts as received, hooked, but not shared', () => {
    const r = sharing('2026-02', '330108');
    expect(r).toMatchObject({ required_count: 1, shared_count: 0, valid_records: 0, hooked_count: 1 });
    expect(r.received_records).toBeGreaterThan(0);
    expect(r.quality_rate).toBe(0);
  });

  it('a quarterly resource delivered in March is shared in January (window = the quarter of P.end) but due only in March', () => {
    const jan = sharing('2026-01', '330102');
    const mar = sharing('2026-03', '330102');
    expect(jan.required_count).toBe(2);
    expect(jan.due_count).toBe(1);
    expect(mar.due_count).toBe(2);
    expect(jan.shared_count).toBe(2);
  });

  it('a never-delivered resource is required but neither shared nor hooked', () => {
    for (const period of periods) {
      expect(sharing(period, '330110')).toMatchObject({
        required_count: 1,
        shared_count: 0,
        hooked_count: 0,
        hookup_rate: 0,
      });
    }
  });

  it('resources out of force are not required: not yet in force, or expired', () => {
    const from = c.catalogs.data_resources.find((r) => r.resource_code === 'R330100007')!;
    const to = c.catalogs.data_resources.find((r) => r.resource_code === 'R330100008')!;
    expect(from.valid_from).toBe('2026-02-15');
    expect(to.valid_to).toBe('2026-02-18');
    const hz = c.catalogs.data_resources.filter(
      (r) => r.region_code.startsWith('3301') && r.share_type !== 'not_shared',
    );
    expect(sharing('2026-01', '330100').required_count).toBe(hz.length - 1);
    expect(sharing('2026-02', '330100').required_count).toBe(hz.length);
    expect(sharing('2026-03', '330100').required_count).toBe(hz.length - 1);
  });

  it('a device installed mid-month counts from its installation day; commissioning readings count as data only', () => {
    const jan = status('2026-01', 'gas_leak_monitoring', '330108');
    expect(jan.failed_conditions).toEqual(['no_closed_loop', 'no_registered_devices', 'no_sensor_data:gas_methane']);
    expect(jan.online_rate).toBeNull();
    expect(jan.registered_device_days).toBe(0);
    const feb = status('2026-02', 'gas_leak_monitoring', '330108');
    expect(feb.registered_device_days).toBe(2 * (28 - 13));
    expect(feb.failed_conditions).toEqual(['no_closed_loop']);
    const installed = dayOfDate(c.catalogs.devices.find((d) => d.device_id === 'GAS-330108-0001')!.installed_on!);
    const before = c.plan.facts.sensor_reading.filter(
      (r) => r.device_id === 'GAS-330108-0001' && dayOf(r.observed_at_ms) < installed,
    );
    expect(before.length).toBeGreaterThan(0);
  });

  it('a week offline drops the online rate below the minimum', () => {
    const feb = status('2026-02', 'gas_leak_monitoring', '330105');
    expect(feb.registered_device_days).toBe(56);
    expect(feb.failed_conditions).toContain('online_rate_below_min');
    expect(feb.online_rate!).toBeLessThan(0.9);
  });

  it('a missing monthly delivery fails its scenario that month only', () => {
    expect(status('2026-02', 'bridge_safety_monitoring', '330100').failed_conditions).toContain(
      'no_resource_delivery:R330100002',
    );
    expect(status('2026-03', 'bridge_safety_monitoring', '330100').failed_conditions).not.toContain(
      'no_resource_delivery:R330100002',
    );
  });

  it('only automated events (video, sensor) close the loop', () => {
    // 余杭区 has closed grid cases of class 0101 but no camera for it.
    const closedGrid = c.plan.facts.city_event.filter(
      (e) =>
        e.region_code === '330110' && e.source_kind === 'grid' && e.status === 'closed' && e.event_class === '0101',
    );
    expect(closedGrid.length).toBeGreaterThan(0);
    expect(status('2026-Q1', 'exposed_garbage_recognition', '330110').failed_conditions).toContain('no_closed_loop');
  });

  it('regions without any source fail every condition they have', () => {
    expect(status('2026-01', 'water_supply_monitoring', '330300').failed_conditions).toEqual([
      'no_registered_devices',
      'no_sensor_data:water_flow',
      'no_sensor_data:water_pressure',
    ]);
    expect(status('2026-01', 'hotline_demand_analysis', '330300').failed_conditions).toEqual([
      'no_hotline_cases:城市管理',
    ]);
    expect(status('2026-01', 'hotline_demand_analysis', '330100').is_covered).toBe(true);
  });

  it('the year counts device-days over all its days, including those after the data', () => {
    const year = status('2026', 'gas_leak_monitoring', '330106');
    expect(year.registered_device_days).toBe(4 * 365);
    expect(year.failed_conditions).toContain('online_rate_below_min');
  });

  it('region prefixes follow the catalog level', () => {
    expect(regionPrefix({ code: '330000', level: 'province' })).toBe('33');
    expect(regionPrefix({ code: '330100', level: 'city' })).toBe('3301');
    expect(regionPrefix({ code: '330106', level: 'district' })).toBe('330106');
  });
});

describe('ground truth: open periods at the data cut-off', () => {
  // Built during 2026-03-20 (Asia/Shanghai): the cut-off is that day's 00:00, so March, Q1 and 2026 are open and
  // count 1–19 March; the fixture's readings and deliveries of 20–31 March exist but have "not happened yet".
  const now = new Date('2026-03-20T15:30:00+08:00');
  const cutoffDay = dayOfDate('2026-03-20');
  const open = groundTruth(c, { now });
  const openSharing = (period: string, region: string) =>
    open.data_sharing.find((r) => r.period === period && r.region_code === region)!;
  const openStatus = (period: string, scenario: string, region: string) =>
    open.scenario_status.find((r) => r.period === period && r.scenario_code === scenario && r.region_code === region)!;

  it('marks the periods not over at the cut-off open and stamps every row with the cut-off instant', () => {
    for (const rows of [open.data_sharing, open.scenario_coverage, open.scenario_status]) {
      for (const r of rows) {
        expect(r.is_complete, `${r.period}`).toBe(r.period === '2026-01' || r.period === '2026-02');
        expect(r.data_cutoff).toBe('2026-03-19T16:00:00.000Z');
      }
    }
    expect(new Set(gt.data_sharing.map((r) => r.is_complete))).toEqual(new Set([true]));
  });

  it('counts device-days before the cut-off only: readings of the cut-off day and later count nowhere', () => {
    const devices = c.catalogs.devices.filter((d) => d.device_type === 'gas_methane' && d.region_code === '330106');
    expect(devices).toHaveLength(4);
    const ids = new Set(devices.map((d) => d.device_id));
    const readingDays = (from: number, to: number) =>
      new Set(
        c.plan.facts.sensor_reading
          .filter((r) => ids.has(r.device_id) && dayOf(r.observed_at_ms) >= from && dayOf(r.observed_at_ms) <= to)
          .map((r) => `${r.device_id}|${dayOf(r.observed_at_ms)}`),
      ).size;
    expect(readingDays(cutoffDay, dayOfDate('2026-03-31'))).toBeGreaterThan(0);

    const march = openStatus('2026-03', 'gas_leak_monitoring', '330106');
    expect(march.registered_device_days).toBe(4 * 19);
    expect(march.online_device_days).toBe(readingDays(dayOfDate('2026-03-01'), cutoffDay - 1));
    expect(march.online_device_days).toBeLessThan(
      status('2026-03', 'gas_leak_monitoring', '330106').online_device_days,
    );
    expect(openStatus('2026', 'gas_leak_monitoring', '330106').registered_device_days).toBe(4 * (31 + 28 + 19));
    // A complete month is counted whole whatever the cut-off.
    expect(openStatus('2026-02', 'gas_leak_monitoring', '330106')).toEqual({
      ...status('2026-02', 'gas_leak_monitoring', '330106'),
      data_cutoff: '2026-03-19T16:00:00.000Z',
    });
  });

  it('a monthly resource is not required, due or missed in its running month unless shared', () => {
    // 温州: R330300001 (monthly) is never delivered; R330300002 (yearly) is delivered on 15 March.
    expect(sharing('2026-02', '330300')).toMatchObject({ required_count: 2, due_count: 1, on_time_count: 0 });
    expect(sharing('2026-03', '330300')).toMatchObject({ required_count: 2, shared_count: 1, due_count: 1 });
    expect(openSharing('2026-02', '330300')).toMatchObject({ required_count: 2, due_count: 1, on_time_count: 0 });
    expect(openSharing('2026-03', '330300')).toMatchObject({
      required_count: 1,
      shared_count: 1,
      sharing_rate: 1,
      due_count: 0,
      timeliness_rate: null,
      hooked_count: 1,
    });
    // 滨江: R330108001 (monthly) delivered on 8 March is shared — so required — though its March is not over.
    expect(openSharing('2026-03', '330108')).toMatchObject({ required_count: 1, shared_count: 1, due_count: 0 });
  });

  it('a daily resource is due in an open period through the day before the cut-off', () => {
    // 西湖: two daily/realtime resources, due on 1–19 March but not on the 20th–31st.
    expect(openSharing('2026-03', '330106').due_count).toBe(2);
    // The monthly R330106003 (delivered on 25 March: the fixture has data after the cut-off) is shared, not due.
    expect(openSharing('2026-03', '330106')).toMatchObject({ required_count: 3, shared_count: 3 });
    expect(sharing('2026-03', '330106').due_count).toBe(3);
  });

  it('defaults to the clock, like a build', () => {
    const before = dayOf(Date.now());
    const today = groundTruth(c);
    const after = dayOf(Date.now());
    const cutoffs = [before, after].map((day) => new Date(dayStartMs(day)).toISOString());
    expect(cutoffs).toContain(today.data_sharing[0]!.data_cutoff);
  });
});

/** Sums of the count columns over rows, per (grain, period, region): the cell a breakdown's rows add up to. */
function sumsByCell(rows: readonly object[], columns: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const row of rows as Record<string, unknown>[]) {
    const key = `${row.grain}|${row.period}|${row.region_code}`;
    const into = out.get(key) ?? columns.map(() => 0);
    columns.forEach((c, i) => {
      into[i]! += row[c] as number;
    });
    out.set(key, into);
  }
  return out;
}

describe('ground truth: breakdowns', () => {
  const hotlineCounts = [
    'received_count',
    'responded_within_2h_count',
    'followup_count',
    'contacted_count',
    'resolved_count',
    'satisfied_count',
    'basically_satisfied_count',
    'unsatisfied_count',
    'due_count',
    'closed_on_time_count',
  ];
  const eventCounts = [
    'reported_count',
    'cancelled_count',
    'registered_count',
    'to_handle_count',
    'handled_count',
    'handled_on_time_count',
    'closed_count',
    'closed_on_time_count',
    'handling_timed_count',
    'closure_timed_count',
  ];

  it('the rows of each hotline and event breakdown add up to the all row, in every period and region', () => {
    for (const [rows, counts, breakdowns] of [
      [gt.hotline, hotlineCounts, ['category_l1', 'category_l2', 'channel', 'request_type']],
      [gt.event_closure, eventCounts, ['event_class', 'source_kind']],
    ] as const) {
      const all = sumsByCell(
        rows.filter((r) => r.breakdown === 'all'),
        counts,
      );
      for (const breakdown of breakdowns) {
        const parts = rows.filter((r) => r.breakdown === breakdown);
        expect(parts.length, breakdown).toBeGreaterThan(0);
        const sums = sumsByCell(parts, counts);
        // A cell without any row of the breakdown has nothing to count.
        for (const [cell, total] of all)
          expect(sums.get(cell) ?? counts.map(() => 0), `${breakdown} ${cell}`).toEqual(total);
      }
    }
  });

  it('a breakdown value has a row only where something of it was received or due (reported, for events)', () => {
    expect(gt.hotline.filter((r) => r.breakdown !== 'all' && r.received_count === 0 && r.due_count === 0)).toEqual([]);
    expect(gt.event_closure.filter((r) => r.breakdown !== 'all' && r.reported_count === 0)).toEqual([]);
    // A silent district has its all rows and nothing else.
    expect(new Set(gt.hotline.filter((r) => r.region_code === '330127').map((r) => r.breakdown))).toEqual(
      new Set(['all']),
    );
  });

  it('hotline breakdown values are the canonical channel and request type, and the category levels', () => {
    const values = (b: string) => new Set(gt.hotline.filter((r) => r.breakdown === b).map((r) => r.breakdown_value));
    for (const v of values('channel')) expect(hotlineChannel.options).toContain(v);
    for (const v of values('request_type')) expect(hotlineRequestType.options).toContain(v);
    for (const v of values('category_l2')) expect(values('category_l1')).toContain(v.split('/')[0]);
    for (const v of plannedHotlineVersions(c)) {
      expect(hotlineChannel.options).toContain(v.channel);
      expect(hotlineRequestType.options).toContain(v.request_type);
    }
  });

  it('event class rows carry the class name; other rows none', () => {
    for (const r of gt.event_closure) {
      if (r.breakdown === 'event_class') expect(r.breakdown_name, r.breakdown_value).toMatch(/\p{Script=Han}/u);
      else expect(r.breakdown_name).toBeNull();
    }
  });

  it('device-type rows add up to the all row on the registry side; each type row has a device registered in P', () => {
    const registryCounts = ['registered_devices', 'registered_device_days', 'readings_expected', 'online_device_days'];
    const all = sumsByCell(
      gt.sensor_health.filter((r) => r.device_type === 'all'),
      registryCounts,
    );
    const types = gt.sensor_health.filter((r) => r.device_type !== 'all');
    expect(new Set(types.map((r) => r.device_type)).size).toBeGreaterThan(3);
    const sums = sumsByCell(types, registryCounts);
    for (const [cell, total] of all) expect(sums.get(cell) ?? registryCounts.map(() => 0), cell).toEqual(total);
    // 淳安县 registers no device: only its all row.
    expect(new Set(gt.sensor_health.filter((r) => r.region_code === '330127').map((r) => r.device_type))).toEqual(
      new Set(['all']),
    );
  });
});

describe('ground truth: resource sharing drill-down', () => {
  it("counting the resources' flags within a region gives the region's data-sharing counts", () => {
    for (const row of gt.data_sharing) {
      const pre = regionPrefix({ code: row.region_code, level: row.region_level as 'city' });
      const mine = gt.resource_sharing.filter(
        (r) => r.period === row.period && r.region_code.startsWith(pre) && r.is_required,
      );
      expect(
        {
          required: mine.length,
          shared: mine.filter((r) => r.is_shared).length,
          due: mine.filter((r) => r.is_due).length,
          on_time: mine.filter((r) => r.is_on_time).length,
          hooked: mine.filter((r) => r.is_hooked).length,
        },
        `${row.period} ${row.region_code}`,
      ).toEqual({
        required: row.required_count,
        shared: row.shared_count,
        due: row.due_count,
        on_time: row.on_time_count,
        hooked: row.hooked_count,
      });
    }
  });

  it('lists a not-shared resource as not required, with no flags, and counts its deliveries', () => {
    const notShared = gt.resource_sharing.filter((r) => r.share_type === 'not_shared');
    expect(notShared.length).toBeGreaterThan(0);
    for (const r of notShared) {
      expect(r).toMatchObject({ is_required: false, is_shared: null, is_due: null, is_on_time: null, is_hooked: null });
    }
    expect(notShared.some((r) => r.deliveries > 0)).toBe(true);
  });

  it('lists a resource only in the periods it is in force', () => {
    // R330100007 is in force from 2026-02-15, R330100008 until 2026-02-18.
    const months = (code: string) =>
      gt.resource_sharing.filter((r) => r.resource_code === code && r.grain === 'month').map((r) => r.period);
    expect(months('R330100007')).toEqual(['2026-02', '2026-03']);
    expect(months('R330100008')).toEqual(['2026-01', '2026-02']);
  });

  it("a period's last delivery is the latest up to its end that has happened at the cut-off", () => {
    const r = (period: string, code: string) =>
      gt.resource_sharing.find((x) => x.period === period && x.resource_code === code)!;
    // 温州's yearly R330300002 is delivered once, on 15 March.
    expect(r('2026-02', 'R330300002').last_delivered_at).toBeNull();
    expect(r('2026-03', 'R330300002').last_delivered_at).toMatch(/^2026-03-1[45]T/);
    expect(r('2026-03', 'R330300002').deliveries).toBe(1);
    const open = groundTruth(c, { now: new Date('2026-03-10T12:00:00+08:00') });
    const openMarch = open.resource_sharing.find((x) => x.period === '2026-03' && x.resource_code === 'R330300002')!;
    // Delivered after the cut-off: the lake has it, so it is shared (a yearly window), but it has not happened yet.
    expect(openMarch).toMatchObject({ last_delivered_at: null, deliveries: 0, is_required: true, is_shared: true });
  });
});

describe('ground truth: evaluation scheme arithmetic', () => {
  const catalog: CatalogIndicator[] = [
    {
      code: 'a',
      name_zh: '甲',
      dimension: 'service',
      unit: 'ratio',
      mart: 'm',
      value_column: 'a',
      numerator_column: 'n',
      denominator_column: 'd',
      grains: ['month'],
    },
    {
      code: 'b',
      name_zh: '乙',
      dimension: 'service',
      unit: 'ratio',
      mart: 'm',
      value_column: 'b',
      numerator_column: null,
      denominator_column: 'd',
      grains: ['month'],
    },
    {
      code: 'c',
      name_zh: '丙',
      dimension: 'operation',
      unit: 'ratio',
      mart: 'k',
      value_column: 'c',
      numerator_column: null,
      denominator_column: 'd',
      grains: ['month'],
      row_filter: { kind: 'all' },
    },
    {
      code: 'h',
      name_zh: '丁',
      dimension: 'management',
      unit: 'hours',
      mart: 'm',
      value_column: 'a',
      numerator_column: null,
      denominator_column: 'd',
      grains: ['month'],
      higher_is_better: false,
    },
  ];
  const cell = {
    grain: 'month' as const,
    period: '2026-01',
    is_complete: true,
    data_cutoff: 'x',
    region_code: '330100',
    region_level: 'city',
  };
  const row = { grain: 'month', period: '2026-01', region_code: '330100' };
  const marts = new Map([
    ['m', [{ ...row, a: 0.6, b: null, n: 6, d: 10 }]],
    // Indicator c reads only the rows its row_filter keeps.
    [
      'k',
      [
        { ...row, kind: 'all', c: 0.5, d: 10 },
        { ...row, kind: 'part', c: 0, d: 0 },
      ],
    ],
  ]);
  const byKey = (rows: ReturnType<typeof scoreEvaluation>) =>
    new Map(rows.map((r) => [`${r.level}|${r.dimension}|${r.indicator_code}`, r]));

  it('scores 100 × min(1, value / full_score_at), weighted means of the scores that exist, a 0-weight dimension weighs nothing', () => {
    const rows = byKey(
      scoreEvaluation([cell], marts, catalog, {
        dimension_weights: { service: 2, operation: 0 },
        indicators: [{ code: 'a', weight: 3, full_score_at: 0.5 }, { code: 'b' }, { code: 'c', full_score_at: 0.8 }],
      }),
    );
    expect(rows.get('indicator|service|a')).toMatchObject({
      value: 0.6,
      numerator: 6,
      denominator: 10,
      score: 100,
      weight: 3,
    });
    // No value: no score, and not a zero either.
    expect(rows.get('indicator|service|b')).toMatchObject({ value: null, score: null, scored_count: 0 });
    expect(rows.get('indicator|operation|c')!.score).toBeCloseTo(62.5, 12);
    expect(rows.get('dimension|service|all')).toMatchObject({
      score: 100,
      weight: 2,
      scored_count: 1,
      indicator_count: 2,
    });
    expect(rows.get('dimension|operation|all')).toMatchObject({ weight: 0, scored_count: 1 });
    expect(rows.get('composite|all|all')).toMatchObject({ score: 100, weight: 1, scored_count: 2, indicator_count: 3 });
  });

  it('by default scores every ratio indicator where higher is better, weight 1, full score at 1', () => {
    const rows = byKey(scoreEvaluation([cell], marts, catalog));
    expect([...rows.keys()].filter((k) => k.startsWith('indicator')).sort()).toEqual([
      'indicator|operation|c',
      'indicator|service|a',
      'indicator|service|b',
    ]);
    expect(rows.get('composite|all|all')!.score).toBeCloseTo((60 + 50) / 2, 12);
  });

  it('names an unknown indicator code by its place in the scheme', () => {
    expect(() => scoreEvaluation([cell], marts, catalog, { indicators: [{ code: 'a' }, { code: 'zz' }] })).toThrow(
      'models.indicators.evaluation.indicators[1].code',
    );
  });

  it("scores the truth's own indicator rows: a region's hotline resolution rate is its value", () => {
    const hotline = catalog[0]!;
    const rows = evaluationTruth(gt, [
      {
        ...hotline,
        code: 'res',
        mart: 'mart_hotline',
        value_column: 'resolution_rate',
        numerator_column: 'resolved_count',
        denominator_column: 'followup_count',
        row_filter: { breakdown: 'all' },
        grains: ['month', 'quarter', 'year'],
      },
    ]);
    const jan = rows.find((r) => r.level === 'indicator' && r.period === '2026-01' && r.region_code === '330000')!;
    const truth = gt.hotline.find(
      (r) => r.breakdown === 'all' && r.period === '2026-01' && r.region_code === '330000',
    )!;
    expect(jan).toMatchObject({
      value: truth.resolution_rate,
      numerator: truth.resolved_count,
      denominator: truth.followup_count,
    });
    expect(rows.filter((r) => r.level === 'composite')).toHaveLength(gt.data_sharing.length);
  });
});

describe('comparing a mart with its truth', () => {
  const truth: MartTruth = {
    mart: 'mart_x',
    rows: [
      { period: '2026-01', n: 1, hours: 1 / 3, list: ['a'] },
      { period: '2026-02', n: 2, hours: 2, list: [] },
    ],
    key: ['period'],
    approx: ['hours'],
  };
  const columns = ['period', 'n', 'hours', 'list'];

  it('finds nothing when the rows are equal, in any order, sums to a relative tolerance', () => {
    expect(
      martDifferences(truth, {
        columns,
        rows: [
          ['2026-02', 2, 2 + 1e-13, []],
          ['2026-01', 1, 0.1 + 0.2 / 0.9 + 1e-15 - 0.1 - 0.2 / 0.9 + 1 / 3, ['a']],
        ],
      }),
    ).toEqual([]);
  });

  it('names each differing column, missing row and extra row', () => {
    expect(
      martDifferences(truth, {
        columns,
        rows: [
          ['2026-01', 1, 0.34, ['b']],
          ['2026-03', 3, 3, []],
        ],
      }),
    ).toEqual([
      'mart_x ["2026-01"] hours: mart 0.34, truth 0.3333333333333333',
      'mart_x ["2026-01"] list: mart ["b"], truth ["a"]',
      'mart_x ["2026-02"]: missing from the mart',
      'mart_x ["2026-03"]: not in the truth',
    ]);
  });

  it('caps the list and counts the rest', () => {
    const many = Array.from({ length: 30 }, (_, i) => [`2027-${i}`, 0, 0, []]);
    const out = martDifferences(truth, { columns, rows: many }, 5);
    expect(out).toHaveLength(6);
    expect(out[5]).toBe('mart_x: … and 27 more differences');
  });
});
