/**
 * SQL unit tests of the marts: a tiny lake and tiny catalogs in, exact mart rows out (docs/indicators.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelCatalogs } from './index.js';
import {
  alert,
  buildTestMarts,
  cityEvent,
  completePeriod,
  delivery,
  deviceOf,
  hotline,
  type TestLake as Lake,
  type LandedRow,
  type MartRow,
  reading,
  resource,
  scenarioOf,
  tempDirs,
  testRegionLevels,
  testRegions,
} from './testing.js';

type Row = MartRow;

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

/** These tests pin complete-period semantics: every period of their data is over at this build's "now". */
const afterEveryPeriod = new Date('2030-01-01T00:00:00+08:00');
/** The period columns every mart row of those builds carries: complete, as of the cut-off (00:00 Asia/Shanghai that day). */
const complete = (grain: string, period: string) => completePeriod(grain, period, '2029-12-31T16:00:00.000Z');

async function build(regionCode: string, lake: Lake, catalogs: Partial<ModelCatalogs>, now = afterEveryPeriod) {
  const { result, query } = await buildTestMarts(dirs, { regionCode, lake, catalogs, now });
  expect(result.tests.filter((t) => !t.passed)).toEqual([]);
  return query;
}

const rate = (num: number, den: number) => (den === 0 ? null : num / den);

/** A mart_data_sharing row, rates computed as the definitions say. */
function sharing(
  key: string,
  level: string,
  c: { required: number; shared: number; due: number; onTime: number; received: number; valid: number; hooked: number },
): Row {
  const [grain, period, region_code] = key.split(' ');
  const sharing_rate = rate(c.shared, c.required);
  return {
    grain,
    period,
    ...complete(grain!, period!),
    region_code,
    region_level: level,
    required_count: c.required,
    shared_count: c.shared,
    sharing_rate,
    due_count: c.due,
    on_time_count: c.onTime,
    timeliness_rate: rate(c.onTime, c.due),
    received_records: c.received,
    valid_records: c.valid,
    quality_rate: rate(c.valid, c.received),
    hooked_count: c.hooked,
    hookup_rate: rate(c.hooked, c.required),
    target_rate: 0.9,
    meets_target: sharing_rate === null ? null : sharing_rate >= 0.9,
  };
}

/** A mart_resource_sharing row: flags [required, shared, due, on time, hooked], [deliveries, received, valid]. */
function drill(
  resource_code: string,
  region_code: string,
  share_type: string,
  [is_required, is_shared, is_due, is_on_time, is_hooked]: (boolean | null)[],
  [deliveries, received_records, valid_records]: number[],
  last_delivered_at: string | null,
): Row {
  return {
    resource_code,
    region_code,
    share_type,
    is_required,
    is_shared,
    is_due,
    is_on_time,
    is_hooked,
    deliveries,
    received_records,
    valid_records,
    last_delivered_at,
  };
}

const sharingSql = `select * from mart_data_sharing order by grain, period, region_code`;
const zero = { required: 0, shared: 0, due: 0, onTime: 0, received: 0, valid: 0, hooked: 0 };

describe('mart_data_sharing', () => {
  it('rolls districts up into their city and province by code prefix, counting only required resources in force', async () => {
    const query = await build(
      '330000',
      {
        dept_delivery: [
          delivery({
            delivery_id: 'd1',
            resource_code: 'r_a',
            region_code: '330102',
            delivered_at: '2026-08-05T02:00:00Z',
            record_count: 10,
            valid_count: 8,
          }),
          delivery({
            delivery_id: 'd2',
            resource_code: 'r_b',
            region_code: '330106',
            delivered_at: '2026-08-10T02:00:00Z',
            record_count: 5,
            valid_count: 0,
          }),
          delivery({
            delivery_id: 'd3',
            resource_code: 'r_ns',
            region_code: '330102',
            delivered_at: '2026-08-11T02:00:00Z',
            record_count: 4,
            valid_count: 4,
          }),
          delivery({
            delivery_id: 'd4',
            resource_code: 'r_c',
            region_code: '330100',
            delivered_at: '2026-08-20T03:00:00Z',
            record_count: 6,
            valid_count: 6,
          }),
        ],
      },
      {
        data_resources: [
          resource({ resource_code: 'r_a', region_code: '330102' }),
          resource({ resource_code: 'r_b', region_code: '330106', share_type: 'conditional' }),
          resource({ resource_code: 'r_c', region_code: '330100' }),
          resource({ resource_code: 'r_ns', region_code: '330102', share_type: 'not_shared' }),
          resource({ resource_code: 'r_old', region_code: '330102', valid_to: '2026-07-31' }),
          resource({ resource_code: 'r_future', region_code: '330203', valid_from: '2026-09-01' }),
        ],
      },
    );
    // August: r_old has expired and r_future is not yet in force; r_ns is never required; r_b's only delivery has
    // no valid record (hooked up, not shared). Quality counts every delivery of the region, catalogued or not.
    const month = {
      '330000': { required: 3, shared: 2, due: 3, onTime: 2, received: 25, valid: 18, hooked: 3 },
      '330100': { required: 3, shared: 2, due: 3, onTime: 2, received: 25, valid: 18, hooked: 3 },
      '330102': { required: 1, shared: 1, due: 1, onTime: 1, received: 14, valid: 12, hooked: 1 },
      '330106': { required: 1, shared: 0, due: 1, onTime: 0, received: 5, valid: 0, hooked: 1 },
    };
    // Q3 and 2026: every resource is in force for part of the period; monthly instances of July and September
    // (r_a, r_b, r_c, r_old's July, r_future's September) were never delivered, so nothing is on time.
    const longer = {
      '330000': { required: 5, shared: 2, due: 5, onTime: 0, received: 25, valid: 18, hooked: 3 },
      '330100': { required: 4, shared: 2, due: 4, onTime: 0, received: 25, valid: 18, hooked: 3 },
      '330102': { required: 2, shared: 1, due: 2, onTime: 0, received: 14, valid: 12, hooked: 1 },
      '330106': { required: 1, shared: 0, due: 1, onTime: 0, received: 5, valid: 0, hooked: 1 },
      '330200': { required: 1, shared: 0, due: 1, onTime: 0, received: 0, valid: 0, hooked: 0 },
      '330203': { required: 1, shared: 0, due: 1, onTime: 0, received: 0, valid: 0, hooked: 0 },
    };
    const levels = testRegionLevels;
    const expected: Row[] = [];
    for (const [grain, period, counts] of [
      ['month', '2026-08', month],
      ['quarter', '2026-Q3', longer],
      ['year', '2026', longer],
    ] as const) {
      for (const code of Object.keys(levels)) {
        expected.push(
          sharing(`${grain} ${period} ${code}`, levels[code]!, (counts as Record<string, typeof zero>)[code] ?? zero),
        );
      }
    }
    expect(await query(sharingSql)).toEqual(expected);

    // The drill-down: which resources, shared or not. The 不予共享 resource is listed but never required.
    expect(
      await query(
        `select resource_code, region_code, share_type, is_required, is_shared, is_due, is_on_time, is_hooked,
                deliveries, received_records, valid_records, last_delivered_at
         from mart_resource_sharing where grain = 'month' order by resource_code`,
      ),
    ).toEqual([
      drill('r_a', '330102', 'unconditional', [true, true, true, true, true], [1, 10, 8], '2026-08-05T02:00:00.000Z'),
      drill('r_b', '330106', 'conditional', [true, false, true, false, true], [1, 5, 0], '2026-08-10T02:00:00.000Z'),
      drill('r_c', '330100', 'unconditional', [true, true, true, true, true], [1, 6, 6], '2026-08-20T03:00:00.000Z'),
      drill('r_ns', '330102', 'not_shared', [false, null, null, null, null], [1, 4, 4], '2026-08-11T02:00:00.000Z'),
    ]);
    // Summed by region prefix, the drill-down gives mart_data_sharing's counts for every grain, period and region.
    expect(
      await query(
        `select s.grain, s.period, s.region_code
         from mart_data_sharing s
         left join mart_resource_sharing r
             on r.grain = s.grain and r.period = s.period and starts_with(r.region_code, left(s.region_code,
                 case s.region_level when 'province' then 2 when 'city' then 4 else 6 end))
         group by all
         having count(*) filter (where r.is_required) <> any_value(s.required_count)
             or count(*) filter (where r.is_shared) <> any_value(s.shared_count)
             or count(*) filter (where r.is_due) <> any_value(s.due_count)
             or count(*) filter (where r.is_on_time) <> any_value(s.on_time_count)
             or count(*) filter (where r.is_hooked) <> any_value(s.hooked_count)`,
      ),
    ).toEqual([]);
  });

  it('scopes a hub missing from the regions catalog by the shape of its code', async () => {
    const query = await build(
      '330100',
      { sensor_reading: [reading({ observed_at: '2026-08-01T00:00:00Z' })] },
      {
        regions: testRegions.filter((r) => r.code !== '330100'),
      },
    );
    expect(await query(`select distinct region_code from mart_data_sharing order by 1`)).toEqual([
      { region_code: '330102' },
      { region_code: '330106' },
    ]);
  });

  it('gives a region without any data a row with zero counts and NULL rates', async () => {
    const query = await build('330000', { sensor_reading: [reading({ observed_at: '2026-08-01T00:00:00Z' })] }, {});
    expect(await query(`select * from mart_data_sharing where grain = 'month' and region_code = '330203'`)).toEqual([
      sharing('month 2026-08 330203', 'district', zero),
    ]);
  });

  it('extends the sharing window of quarterly and yearly resources to their whole quarter or year', async () => {
    const query = await build(
      '330102',
      {
        sensor_reading: [reading({ observed_at: '2026-07-10T00:00:00Z' })],
        dept_delivery: [
          delivery({
            delivery_id: 'y',
            resource_code: 'y1',
            delivered_at: '2026-07-20T02:00:00Z',
            record_count: 10,
            valid_count: 9,
          }),
          delivery({
            delivery_id: 'q',
            resource_code: 'q1',
            delivered_at: '2026-09-15T02:00:00Z',
            record_count: 4,
            valid_count: 4,
          }),
          delivery({
            delivery_id: 'm',
            resource_code: 'm1',
            delivered_at: '2026-09-02T02:00:00Z',
            record_count: 6,
            valid_count: 3,
          }),
        ],
      },
      {
        data_resources: [
          resource({ resource_code: 'q1', update_frequency: 'quarterly' }),
          resource({ resource_code: 'y1', update_frequency: 'yearly' }),
          resource({ resource_code: 'm1', update_frequency: 'monthly' }),
        ],
      },
    );
    // q1's September delivery shares it in July and August too; y1's July delivery shares it all year.
    // Only the Q3 instance of q1 is due in September; y1 is due only in the year.
    expect(await query(sharingSql)).toEqual([
      sharing('month 2026-07 330102', 'district', {
        required: 3,
        shared: 2,
        due: 1,
        onTime: 0,
        received: 10,
        valid: 9,
        hooked: 1,
      }),
      sharing('month 2026-08 330102', 'district', {
        required: 3,
        shared: 2,
        due: 1,
        onTime: 0,
        received: 0,
        valid: 0,
        hooked: 1,
      }),
      sharing('month 2026-09 330102', 'district', {
        required: 3,
        shared: 3,
        due: 2,
        onTime: 2,
        received: 10,
        valid: 7,
        hooked: 3,
      }),
      sharing('quarter 2026-Q3 330102', 'district', {
        required: 3,
        shared: 3,
        due: 2,
        onTime: 1,
        received: 20,
        valid: 16,
        hooked: 3,
      }),
      sharing('year 2026 330102', 'district', {
        required: 3,
        shared: 3,
        due: 3,
        onTime: 1,
        received: 20,
        valid: 16,
        hooked: 3,
      }),
    ]);
  });

  it('is on time only when every weekly (ISO week) or daily instance due in the period has a valid delivery in its own days', async () => {
    const daily = ['2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23'].map((d, i) =>
      delivery({ delivery_id: `d${i}`, resource_code: 'd1', delivered_at: `${d}T04:00:00Z` }),
    );
    const query = await build(
      '330102',
      {
        dept_delivery: [
          // w1: the week Mon 26 Jan – Sun 1 Feb is due in February and delivered on Fri 30 Jan.
          delivery({ delivery_id: 'w1a', resource_code: 'w1', delivered_at: '2026-01-30T02:00:00Z' }),
          delivery({ delivery_id: 'w1b', resource_code: 'w1', delivered_at: '2026-02-03T02:00:00Z' }),
          delivery({ delivery_id: 'w1c', resource_code: 'w1', delivered_at: '2026-02-10T02:00:00Z' }),
          delivery({ delivery_id: 'w1d', resource_code: 'w1', delivered_at: '2026-02-17T02:00:00Z' }),
          // w2: weeks ending 1 Feb and 15 Feb are missing (a delivery without valid records does not count).
          delivery({ delivery_id: 'w2a', resource_code: 'w2', delivered_at: '2026-02-03T02:00:00Z' }),
          delivery({ delivery_id: 'w2b', resource_code: 'w2', delivered_at: '2026-02-10T02:00:00Z', valid_count: 0 }),
          delivery({ delivery_id: 'w2c', resource_code: 'w2', delivered_at: '2026-02-17T02:00:00Z' }),
          // d1 (realtime, in force 20–25 Feb): 15:59:59Z is still the 24th in Shanghai, 16:30Z is already the 25th.
          ...daily,
          delivery({ delivery_id: 'd24', resource_code: 'd1', delivered_at: '2026-02-24T15:59:59Z' }),
          delivery({ delivery_id: 'd25', resource_code: 'd1', delivered_at: '2026-02-24T16:30:00Z' }),
        ],
      },
      {
        data_resources: [
          resource({ resource_code: 'w1', update_frequency: 'weekly' }),
          resource({ resource_code: 'w2', update_frequency: 'weekly' }),
          resource({
            resource_code: 'd1',
            update_frequency: 'realtime',
            valid_from: '2026-02-20',
            valid_to: '2026-02-25',
          }),
        ],
      },
    );
    const rows = await query(
      `select grain, period, required_count, shared_count, due_count, on_time_count from mart_data_sharing order by grain, period`,
    );
    expect(rows).toEqual([
      { grain: 'month', period: '2026-01', required_count: 2, shared_count: 1, due_count: 2, on_time_count: 0 },
      { grain: 'month', period: '2026-02', required_count: 3, shared_count: 3, due_count: 3, on_time_count: 2 },
      // March weeks of w1 and w2 are due in Q1 and the year, undelivered; d1's six days are all delivered.
      { grain: 'quarter', period: '2026-Q1', required_count: 3, shared_count: 3, due_count: 3, on_time_count: 1 },
      { grain: 'year', period: '2026', required_count: 3, shared_count: 3, due_count: 3, on_time_count: 1 },
    ]);
  });

  it('counts a duplicated delivery once, keeping the copy with the lowest (_topic, _partition, _offset)', async () => {
    const query = await build(
      '330102',
      {
        dept_delivery: [
          delivery({
            delivery_id: 'dup',
            delivered_at: '2026-08-05T02:00:00Z',
            record_count: 10,
            valid_count: 10,
            _partition: 1,
            _offset: 5,
          }),
          delivery({
            delivery_id: 'dup',
            delivered_at: '2026-08-05T02:00:00Z',
            record_count: 7,
            valid_count: 6,
            _partition: 0,
            _offset: 9,
          }),
          delivery({
            delivery_id: 'same',
            delivered_at: '2026-08-06T02:00:00Z',
            record_count: 3,
            valid_count: 3,
            _offset: 10,
          }),
          delivery({
            delivery_id: 'same',
            delivered_at: '2026-08-06T02:00:00Z',
            record_count: 3,
            valid_count: 3,
            _offset: 11,
          }),
        ],
      },
      {},
    );
    expect(
      await query(`select received_records, valid_records from mart_data_sharing where grain = 'month' order by all`),
    ).toEqual([{ received_records: 10, valid_records: 9 }]);
  });
});

describe('mart_scenario_status and mart_scenario_coverage', () => {
  it('lists every failing condition as a sorted reason code and rolls coverage up by region prefix', async () => {
    const aug = (day: string) => `2026-08-${day}T02:00:00Z`;
    const query = await build(
      '330100',
      {
        sensor_reading: [
          reading({ device_id: 'dev-1', device_type: 'drain_level', region_code: '330102', observed_at: aug('03') }),
        ],
        video_alert: [alert({ alert_id: 'a1', event_type: '0101', region_code: '330102', occurred_at: aug('04') })],
        hotline_case: [
          hotline({
            case_id: 'c1',
            category: '城市管理/市容环境/暴露垃圾',
            region_code: '330106',
            received_at: aug('05'),
          }),
        ],
        dept_delivery: [
          delivery({
            delivery_id: 'd1',
            resource_code: 'res-1',
            region_code: '330106',
            valid_count: 5,
            delivered_at: aug('06'),
          }),
          delivery({
            delivery_id: 'd2',
            resource_code: 'res-1',
            region_code: '330102',
            valid_count: 0,
            delivered_at: aug('06'),
          }),
        ],
      },
      {
        devices: [deviceOf({ device_id: 'dev-1', device_type: 'drain_level', region_code: '330102' })],
        data_resources: [resource({ resource_code: 'res-1', name: '排水管网运行数据', share_type: 'not_shared' })],
        scenarios: [
          scenarioOf({ scenario_code: 's_sensor', required_device_types: ['gas_methane', 'drain_level'] }),
          scenarioOf({ scenario_code: 's_video', region_prefix: '330102', required_video_event_types: ['0101'] }),
          scenarioOf({
            scenario_code: 's_hotline',
            level: 'city',
            region_prefix: '33',
            dimension: 'service',
            required_hotline_categories: ['城市管理/市容环境', '公共安全'],
          }),
          scenarioOf({ scenario_code: 's_resource', required_resources: ['res-1'] }),
          scenarioOf({
            scenario_code: 's_online',
            region_prefix: '330102',
            required_device_types: ['drain_level'],
            min_online_rate: 0.5,
          }),
          scenarioOf({
            scenario_code: 's_nodev',
            region_prefix: '330106',
            required_device_types: ['drain_level'],
            min_online_rate: 0.5,
          }),
          scenarioOf({ scenario_code: 's_loop', region_prefix: '330102', closed_loop: true, event_classes: ['0101'] }),
          scenarioOf({
            scenario_code: 's_vendor',
            region_prefix: '330102',
            required_video_event_types: ['0502', '0999'],
          }),
          // Ningbo is outside the hub's scope: no pair.
          scenarioOf({ scenario_code: 's_ningbo', region_prefix: '3302' }),
        ],
      },
    );
    const status = await query(
      `select scenario_code, region_code, is_covered, failed_conditions, online_rate, online_device_days, registered_device_days
       from mart_scenario_status where grain = 'month' order by scenario_code, region_code`,
    );
    const row = (
      scenario_code: string,
      region_code: string,
      failed: string[],
      online?: [number | null, number, number],
    ) => ({
      scenario_code,
      region_code,
      is_covered: failed.length === 0,
      failed_conditions: failed,
      online_rate: online?.[0] ?? null,
      online_device_days: online?.[1] ?? 0,
      registered_device_days: online?.[2] ?? 0,
    });
    expect(status).toEqual([
      row('s_hotline', '330100', ['no_hotline_cases:公共安全']),
      row('s_loop', '330102', ['no_closed_loop']),
      row('s_nodev', '330106', ['no_registered_devices', 'no_sensor_data:drain_level']),
      row('s_online', '330102', ['online_rate_below_min'], [1 / 31, 1, 31]),
      row('s_resource', '330102', ['no_resource_delivery:res-1']),
      row('s_resource', '330106', []),
      // Device-days and the online rate are reported for required device types even without min_online_rate.
      row('s_sensor', '330102', ['no_sensor_data:gas_methane'], [1 / 31, 1, 31]),
      row('s_sensor', '330106', ['no_sensor_data:drain_level', 'no_sensor_data:gas_methane']),
      row('s_vendor', '330102', ['no_video_alerts:0502', 'no_video_alerts:0999']),
      row('s_video', '330102', []),
    ]);
    // The same reasons in words, with the names of what they concern (an unknown event class keeps its code).
    expect(
      await query(
        `select scenario_code, region_name, failed_reasons from mart_scenario_status
         where grain = 'month' and scenario_code in ('s_vendor', 's_resource', 's_nodev') order by scenario_code, region_code`,
      ),
    ).toEqual([
      {
        scenario_code: 's_nodev',
        region_name: '西湖区',
        failed_reasons: [
          'no registered devices of the required types',
          'no sensor readings of device type drain_level',
        ],
      },
      {
        scenario_code: 's_resource',
        region_name: '上城区',
        failed_reasons: ['no valid delivery of resource res-1 排水管网运行数据'],
      },
      { scenario_code: 's_resource', region_name: '西湖区', failed_reasons: [] },
      {
        scenario_code: 's_vendor',
        region_name: '上城区',
        failed_reasons: [
          'no video alerts of event class 0502 无照经营游商 (unlicensed street vending)',
          'no video alerts of event class 0999',
        ],
      },
    ]);
    expect(
      await query(`select * from mart_scenario_status where scenario_code = 's_video' order by grain, period`),
    ).toEqual(
      [
        ['month', '2026-08'],
        ['quarter', '2026-Q3'],
        ['year', '2026'],
      ].map(([grain, period]) => ({
        grain,
        period,
        ...complete(grain!, period!),
        scenario_code: 's_video',
        scenario_name: 's_video',
        dimension: 'operation',
        region_code: '330102',
        region_name: '上城区',
        is_covered: true,
        failed_conditions: [],
        failed_reasons: [],
        online_rate: null,
        online_device_days: 0,
        registered_device_days: 0,
      })),
    );
    const coverage = (
      grain: string,
      period: string,
      region_code: string,
      level: string,
      applicable: number,
      covered: number,
    ) => {
      const coverage_rate = rate(covered, applicable);
      return {
        grain,
        period,
        ...complete(grain, period),
        region_code,
        region_level: level,
        applicable_count: applicable,
        covered_count: covered,
        coverage_rate,
        target_rate: 0.9,
        meets_target: coverage_rate === null ? null : coverage_rate >= 0.9,
      };
    };
    // The hub is 杭州市: 浙江省 and 宁波市 are outside its scope.
    expect(await query(`select * from mart_scenario_coverage where grain = 'month' order by region_code`)).toEqual([
      // s_vendor adds an uncovered pair in 上城区.
      coverage('month', '2026-08', '330100', 'city', 10, 2),
      coverage('month', '2026-08', '330102', 'district', 6, 1),
      coverage('month', '2026-08', '330106', 'district', 3, 1),
    ]);
  });

  it('counts registered device-days between installed_on and removed_on and online days only while registered', async () => {
    const day = (d: string, over: Partial<LandedRow<'sensor_reading'>> = {}) =>
      reading({ device_id: 'dev-a', observed_at: `2026-08-${d}T01:00:00Z`, ...over });
    const query = await build(
      '330102',
      {
        sensor_reading: [
          day('05'), // before dev-a is installed
          day('11'),
          day('11', { metric: 'flow' }), // a second reading the same day is the same device-day
          day('12'),
          ...['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '15'].map((d) =>
            day(d, { device_id: 'dev-b' }),
          ), // the 15th is after removal
          day('12', { device_id: 'dev-c', device_type: 'gas_methane' }), // not a required type
          day('12', { device_id: 'dev-d', region_code: '330106' }), // outside the region
        ],
      },
      {
        devices: [
          deviceOf({ device_id: 'dev-a', installed_on: '2026-08-11' }),
          deviceOf({ device_id: 'dev-b', removed_on: '2026-08-10' }),
          deviceOf({ device_id: 'dev-c', device_type: 'gas_methane' }),
          deviceOf({ device_id: 'dev-d', region_code: '330106' }),
          deviceOf({ device_id: 'dev-e', installed_on: '2026-10-01' }),
        ],
        scenarios: [
          scenarioOf({ scenario_code: 's_hi', required_device_types: ['drain_level'], min_online_rate: 0.4 }),
          scenarioOf({ scenario_code: 's_lo', required_device_types: ['drain_level'], min_online_rate: 0.38 }),
        ],
      },
    );
    // August: dev-a 21 registered days (2 online), dev-b 10 (10 online). Q3: dev-a 51, dev-b 41.
    // 2026: dev-a 143, dev-b 222, dev-e 92 (October–December).
    const rows = await query(
      `select grain, scenario_code, failed_conditions, online_rate, online_device_days, registered_device_days
       from mart_scenario_status order by grain, scenario_code`,
    );
    const r = (grain: string, scenario_code: string, online: number, registered: number, min: number) => ({
      grain,
      scenario_code,
      failed_conditions: online / registered >= min ? [] : ['online_rate_below_min'],
      online_rate: online / registered,
      online_device_days: online,
      registered_device_days: registered,
    });
    expect(rows).toEqual([
      r('month', 's_hi', 12, 31, 0.4),
      r('month', 's_lo', 12, 31, 0.38),
      r('quarter', 's_hi', 12, 92, 0.4),
      r('quarter', 's_lo', 12, 92, 0.38),
      r('year', 's_hi', 12, 457, 0.4),
      r('year', 's_lo', 12, 457, 0.38),
    ]);
    expect(rows[1]!.failed_conditions).toEqual([]);
  });

  it('applies a scenario to every region matched by any entry of its regions list, each region once', async () => {
    const query = await build(
      '330000',
      // One reading, so that there is a period to report.
      { sensor_reading: [reading({ device_id: 'dev-1', region_code: '330102', observed_at: '2026-08-03T02:00:00Z' })] },
      {
        scenarios: [
          // One district of 杭州 and every district of 宁波: two cities, one scenario.
          scenarioOf({ scenario_code: 's_two_cities', regions: ['330106', '3302'] }),
          // Overlapping entries do not count a district twice.
          scenarioOf({ scenario_code: 's_overlap', regions: ['33', '3301', '330102'] }),
          scenarioOf({ scenario_code: 's_city', level: 'city', regions: ['3302'] }),
          // The former single prefix still reads as a one-entry list.
          scenarioOf({ scenario_code: 's_former', region_prefix: '3301' }),
        ],
      },
    );
    const pairs = await query(
      `select scenario_code, list(region_code order by region_code) as regions from mart_scenario_status
       where grain = 'year' group by scenario_code order by scenario_code`,
    );
    expect(pairs).toEqual([
      { scenario_code: 's_city', regions: ['330200'] },
      { scenario_code: 's_former', regions: ['330102', '330106'] },
      { scenario_code: 's_overlap', regions: ['330102', '330106', '330203'] },
      { scenario_code: 's_two_cities', regions: ['330106', '330203'] },
    ]);
  });

  it('closes the loop with the latest snapshot of an automated event of a listed class', async () => {
    const ev = (
      event_id: string,
      status: LandedRow<'city_event'>['status'],
      over: Partial<LandedRow<'city_event'>> = {},
    ) => cityEvent({ event_id, status, reported_at: '2026-07-30T02:00:00Z', ...over });
    const query = await build(
      '330102',
      {
        city_event: [
          ev('e1', 'reported'),
          ev('e1', 'closed', { closed_at: '2026-08-02T02:00:00Z' }),
          // e2 was closed in September, then cancelled: its latest snapshot has no closed_at.
          ev('e2', 'closed', { closed_at: '2026-09-03T02:00:00Z', reported_at: '2026-09-01T02:00:00Z' }),
          ev('e2', 'cancelled', { reported_at: '2026-09-01T02:00:00Z' }),
          // e3 closed at 00:30 on 1 October in Shanghai; a verified snapshot landing later does not outrank closed.
          ev('e3', 'closed', {
            source_kind: 'sensor',
            reported_at: '2026-09-25T02:00:00Z',
            closed_at: '2026-09-30T16:30:00Z',
            _offset: 10,
          }),
          ev('e3', 'verified', { source_kind: 'sensor', reported_at: '2026-09-25T02:00:00Z', _offset: 11 }),
          // November: grid-raised, another class, another region — none counts.
          ev('e4', 'closed', {
            source_kind: 'grid',
            reported_at: '2026-11-01T02:00:00Z',
            closed_at: '2026-11-02T02:00:00Z',
          }),
          ev('e5', 'closed', {
            event_class: '0202',
            reported_at: '2026-11-01T02:00:00Z',
            closed_at: '2026-11-02T02:00:00Z',
          }),
          ev('e6', 'closed', {
            region_code: '330106',
            reported_at: '2026-11-01T02:00:00Z',
            closed_at: '2026-11-02T02:00:00Z',
          }),
        ],
      },
      { scenarios: [scenarioOf({ scenario_code: 's_loop', closed_loop: true, event_classes: ['0101', '0303'] })] },
    );
    expect(await query(`select grain, period, is_covered from mart_scenario_status order by grain, period`)).toEqual([
      { grain: 'month', period: '2026-07', is_covered: false },
      { grain: 'month', period: '2026-08', is_covered: true },
      { grain: 'month', period: '2026-09', is_covered: false },
      { grain: 'month', period: '2026-10', is_covered: true },
      { grain: 'month', period: '2026-11', is_covered: false },
      { grain: 'quarter', period: '2026-Q3', is_covered: true },
      { grain: 'quarter', period: '2026-Q4', is_covered: true },
      { grain: 'year', period: '2026', is_covered: true },
    ]);
  });
});

describe('an empty lake', () => {
  it('builds marts that exist, are empty and keep their column types', async () => {
    const query = await build(
      '330000',
      {},
      { data_resources: [resource({ resource_code: 'r' })], scenarios: [scenarioOf({ scenario_code: 's' })] },
    );
    for (const mart of ['mart_data_sharing', 'mart_scenario_coverage', 'mart_scenario_status']) {
      expect(await query(`select count(*) as n from ${mart}`)).toEqual([{ n: 0 }]);
    }
    const types = await query(
      `select column_name, data_type from information_schema.columns where table_name = 'mart_scenario_status' order by ordinal_position`,
    );
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual([
      'grain VARCHAR',
      'period VARCHAR',
      'period_start DATE',
      'period_end DATE',
      'is_complete BOOLEAN',
      'counted_end DATE',
      'data_cutoff TIMESTAMP WITH TIME ZONE',
      'scenario_code VARCHAR',
      'scenario_name VARCHAR',
      'dimension VARCHAR',
      'region_code VARCHAR',
      'region_name VARCHAR',
      'is_covered BOOLEAN',
      'failed_conditions VARCHAR[]',
      'failed_reasons VARCHAR[]',
      'online_rate DOUBLE',
      'online_device_days BIGINT',
      'registered_device_days BIGINT',
    ]);
  });
});

describe('a period open at the data cut-off', () => {
  // The build runs on 16 August 2026 at 10:00 Asia/Shanghai: the cut-off is that day's 00:00, so July is over,
  // August counts 1–15 August, Q3 1 July–15 August, the year 1 January–15 August.
  const now = new Date('2026-08-16T10:00:00+08:00');
  const cutoff = '2026-08-15T16:00:00.000Z';
  const aug = (d: number) => `2026-08-${String(d).padStart(2, '0')}T02:00:00Z`;
  const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  async function openBuild() {
    return build(
      '330102',
      {
        sensor_reading: [
          reading({ device_id: 'dev-a', observed_at: '2026-07-31T02:00:00Z' }),
          ...days(1, 15).map((d) => reading({ device_id: 'dev-a', observed_at: aug(d) })),
          // A reading of the build's own day: the day is not over, it counts nowhere.
          reading({ device_id: 'dev-a', observed_at: '2026-08-16T01:00:00Z' }),
        ],
        dept_delivery: [
          ...days(1, 14).map((d) => delivery({ delivery_id: `d1-${d}`, resource_code: 'd1', delivered_at: aug(d) })),
          delivery({ delivery_id: 'm2-1', resource_code: 'm2', delivered_at: aug(3) }),
        ],
      },
      {
        devices: [deviceOf({ device_id: 'dev-a', device_type: 'drain_level', region_code: '330102' })],
        data_resources: [
          resource({ resource_code: 'm1', update_frequency: 'monthly' }),
          resource({ resource_code: 'm2', update_frequency: 'monthly' }),
          resource({ resource_code: 'd1', update_frequency: 'daily' }),
        ],
        scenarios: [
          scenarioOf({
            scenario_code: 's1',
            region_prefix: '330102',
            required_device_types: ['drain_level'],
            min_online_rate: 0.9,
          }),
        ],
      },
      now,
    );
  }

  it('marks the month, quarter and year still running incomplete, with the cut-off, in every mart', async () => {
    const query = await openBuild();
    const expected = [
      { grain: 'month', period: '2026-07', is_complete: true, data_cutoff: cutoff },
      { grain: 'month', period: '2026-08', is_complete: false, data_cutoff: cutoff },
      { grain: 'quarter', period: '2026-Q3', is_complete: false, data_cutoff: cutoff },
      { grain: 'year', period: '2026', is_complete: false, data_cutoff: cutoff },
    ];
    for (const mart of ['mart_data_sharing', 'mart_scenario_coverage', 'mart_scenario_status']) {
      expect(
        await query(`select distinct grain, period, is_complete, data_cutoff from ${mart} order by grain, period`),
        mart,
      ).toEqual(expected);
    }
  });

  it('counts registered and online device-days only up to the cut-off', async () => {
    const query = await openBuild();
    expect(
      await query(
        `select grain, period, online_device_days, registered_device_days, online_rate, is_covered, failed_conditions
         from mart_scenario_status order by grain, period`,
      ),
    ).toEqual([
      {
        grain: 'month',
        period: '2026-07',
        online_device_days: 1,
        registered_device_days: 31,
        online_rate: 1 / 31,
        is_covered: false,
        failed_conditions: ['online_rate_below_min'],
      },
      // 1–15 August: 15 registered days, all online; the reading of 16 August does not count.
      {
        grain: 'month',
        period: '2026-08',
        online_device_days: 15,
        registered_device_days: 15,
        online_rate: 1,
        is_covered: true,
        failed_conditions: [],
      },
      {
        grain: 'quarter',
        period: '2026-Q3',
        online_device_days: 16,
        registered_device_days: 31 + 15,
        online_rate: 16 / 46,
        is_covered: false,
        failed_conditions: ['online_rate_below_min'],
      },
      {
        grain: 'year',
        period: '2026',
        online_device_days: 16,
        registered_device_days: 31 + 28 + 31 + 30 + 31 + 30 + 31 + 15,
        online_rate: 16 / 227,
        is_covered: false,
        failed_conditions: ['online_rate_below_min'],
      },
    ]);
  });

  it('does not count a monthly resource as missed in its open month; counts daily instances that are over', async () => {
    const query = await openBuild();
    expect(
      await query(
        `select grain, period, required_count, shared_count, due_count, on_time_count, hooked_count
         from mart_data_sharing where region_code = '330102' order by grain, period`,
      ),
    ).toEqual([
      // July is over: m1, m2 and d1 are all required and due (31 daily instances of d1), none delivered in July.
      {
        grain: 'month',
        period: '2026-07',
        required_count: 3,
        shared_count: 0,
        due_count: 3,
        on_time_count: 0,
        hooked_count: 0,
      },
      // August: m1's August instance is not over and it was not delivered yet, so it is not required yet;
      // m2 is delivered (shared, not yet due); d1 is due for 1–15 August and missed the 15th.
      {
        grain: 'month',
        period: '2026-08',
        required_count: 2,
        shared_count: 2,
        due_count: 1,
        on_time_count: 0,
        hooked_count: 2,
      },
      {
        grain: 'quarter',
        period: '2026-Q3',
        required_count: 3,
        shared_count: 2,
        due_count: 3,
        on_time_count: 0,
        hooked_count: 2,
      },
      {
        grain: 'year',
        period: '2026',
        required_count: 3,
        shared_count: 2,
        due_count: 3,
        on_time_count: 0,
        hooked_count: 2,
      },
    ]);
  });
});
