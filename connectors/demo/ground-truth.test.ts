import { describe, expect, it } from 'vitest';
import { scenarioCoversRegion } from '../../schemas/index.js';
import { regionPrefix } from './ground-truth.js';
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
