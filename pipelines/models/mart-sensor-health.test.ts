/**
 * SQL unit tests of mart_sensor_health: a tiny lake, device registry and alarm thresholds in, exact mart rows out
 * (docs/indicators.md, "Sensor health"). Every expected figure is counted by hand in the comments beside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from '../../schemas/index.js';
import type { AlarmThreshold } from './indicator-settings.js';
import { buildTestMarts, countedEnd, deviceOf, type MartRow, reading, tempDirs, testRegionLevels } from './testing.js';

type Row = MartRow;
type Query = (sql: string) => Promise<Row[]>;

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeAll(async () => {
  dirs = await tempDirs();
});
afterAll(async () => {
  await dirs.cleanup();
});

async function build(o: { devices: Device[]; readings: Parameters<typeof reading>[0][]; now: Date }): Promise<Query> {
  const { result, query } = await buildTestMarts(dirs, {
    regionCode: '330000',
    lake: { sensor_reading: o.readings.map(reading) },
    catalogs: { devices: o.devices },
    now: o.now,
    indicators: { sensor_alarms: thresholds },
  });
  expect(result.tests.filter((t) => !t.passed)).toEqual([]);
  return query;
}

/** An Asia/Shanghai wall-clock time as the UTC instant the lake stores. */
const sh = (local: string) => new Date(`${local}+08:00`).toISOString();

const thresholds: AlarmThreshold[] = [
  { device_type: 'gas_methane', metric: 'methane', level: 1, at_or_above: 25 },
  { device_type: 'gas_methane', metric: 'methane', level: 2, at_or_above: 50 },
  { device_type: 'gas_methane', metric: 'temperature', level: 3, at_or_above: 40 },
  // Levels above 3 count in alarm_readings_level_3.
  { device_type: 'gas_methane', metric: 'temperature', level: 5, at_or_above: 44 },
  { device_type: 'drain_level', metric: 'level', level: 1, at_or_above: 30 },
  { device_type: 'drain_level', metric: 'level', level: 3, at_or_above: 60 },
  // Both kinds on one row: too high or too low is level 1; very low is level 2.
  { device_type: 'water_pressure', metric: 'pressure', level: 1, at_or_above: 0.8, at_or_below: 0.1 },
  { device_type: 'water_pressure', metric: 'pressure', level: 2, at_or_below: 0.05 },
];

const levels = testRegionLevels;

const bounds: Record<string, [string, string]> = {
  '2026-07': ['2026-07-01', '2026-07-31'],
  '2026-08': ['2026-08-01', '2026-08-31'],
  '2026-Q3': ['2026-07-01', '2026-09-30'],
  2026: ['2026-01-01', '2026-12-31'],
};

interface Counts {
  devices: number;
  days: number;
  online: number;
  expected: number;
  received: number;
  counted: number;
  /** alarm readings at level 1, 2, 3 and above */
  alarms: [number, number, number];
  alarmDays: number;
  unregistered: number;
}
const zero: Counts = {
  devices: 0,
  days: 0,
  online: 0,
  expected: 0,
  received: 0,
  counted: 0,
  alarms: [0, 0, 0],
  alarmDays: 0,
  unregistered: 0,
};

const rate = (num: number, den: number) => (den === 0 ? null : num / den);

/** A mart_sensor_health row from its key `grain period region device_type`, rates computed as defined. */
function health(key: string, c: Counts, at: { is_complete: boolean; data_cutoff: string } = complete): Row {
  const [grain, period, region_code, device_type] = key.split(' ') as [string, string, string, string];
  const [period_start, period_end] = grain === 'day' ? [period, period] : bounds[period]!;
  return {
    grain,
    period,
    period_start,
    period_end,
    ...at,
    counted_end: countedEnd(period_end, at.data_cutoff),
    region_code,
    region_level: levels[region_code],
    device_type,
    registered_devices: c.devices,
    registered_device_days: c.days,
    online_device_days: c.online,
    online_rate: rate(c.online, c.days),
    readings_expected: c.expected,
    readings_received: c.received,
    readings_counted: c.counted,
    completeness_rate: rate(c.counted, c.expected),
    alarm_readings: c.alarms[0] + c.alarms[1] + c.alarms[2],
    alarm_readings_level_1: c.alarms[0],
    alarm_readings_level_2: c.alarms[1],
    alarm_readings_level_3: c.alarms[2],
    alarm_device_days: c.alarmDays,
    unregistered_readings: c.unregistered,
  };
}

/** Sums counts (a region's 'all' row, a city's roll-up). */
function plus(...cs: Counts[]): Counts {
  return cs.reduce((a, c) => ({
    devices: a.devices + c.devices,
    days: a.days + c.days,
    online: a.online + c.online,
    expected: a.expected + c.expected,
    received: a.received + c.received,
    counted: a.counted + c.counted,
    alarms: [a.alarms[0] + c.alarms[0], a.alarms[1] + c.alarms[1], a.alarms[2] + c.alarms[2]],
    alarmDays: a.alarmDays + c.alarmDays,
    unregistered: a.unregistered + c.unregistered,
  }));
}

const rowsSql = (where: string) =>
  `select * from mart_sensor_health where ${where} order by grain, period, region_code, device_type`;

/** Every period of the first build's data is over at its "now". */
const complete = { is_complete: true, data_cutoff: '2029-12-31T16:00:00.000Z' };

describe('mart_sensor_health over July and August 2026 (complete periods)', () => {
  // The registry: g1 (gas, 上城区, every 6 h → 4 a day), g2 (gas, 西湖区, every 8 h → 3 a day, installed mid-July),
  // d1 (drain, 海曙区, every 12 h → 2 a day, removed on 10 July), p1 (water pressure, 杭州市 itself, every 2 days →
  // still 1 expected a day: a registered day without a reading is not online either).
  const devices: Device[] = [
    deviceOf({ device_id: 'g1', device_type: 'gas_methane', region_code: '330102', reporting_interval_s: 21600 }),
    deviceOf({
      device_id: 'g2',
      device_type: 'gas_methane',
      region_code: '330106',
      reporting_interval_s: 28800,
      installed_on: '2026-07-15',
    }),
    deviceOf({
      device_id: 'd1',
      device_type: 'drain_level',
      region_code: '330203',
      reporting_interval_s: 43200,
      removed_on: '2026-07-10',
    }),
    deviceOf({ device_id: 'p1', device_type: 'water_pressure', region_code: '330100', reporting_interval_s: 172800 }),
  ];
  const gas = (device_id: string, local: string, value: number, region_code: string) => ({
    device_id,
    device_type: 'gas_methane',
    metric: 'methane',
    unit: '%LEL' as const,
    value,
    region_code,
    observed_at: sh(local),
  });
  const readings = [
    // g1, 1 July: five readings, one more than the four expected; 25 and 50 are exactly at level 1 and level 2.
    gas('g1', '2026-07-01T01:00:00', 10, '330102'),
    gas('g1', '2026-07-01T02:00:00', 25, '330102'),
    gas('g1', '2026-07-01T03:00:00', 49.9, '330102'),
    gas('g1', '2026-07-01T04:00:00', 50, '330102'),
    gas('g1', '2026-07-01T05:00:00', 60, '330102'),
    // g1 across the month boundary: 23:30 on 31 July and 00:10 on 1 August, Asia/Shanghai (both 31 July in UTC).
    gas('g1', '2026-07-31T23:30:00', 10, '330102'),
    gas('g1', '2026-08-01T00:10:00', 10, '330102'),
    // g1, 2 August: two metrics at one instant are two readings — methane 30 at level 1, temperature 45 at level 5
    // (counted with level 3).
    gas('g1', '2026-08-02T10:00:00', 30, '330102'),
    { ...gas('g1', '2026-08-02T10:00:00', 45, '330102'), metric: 'temperature', unit: '℃' as const },
    // g2: the day before its installation counts nowhere but unregistered_readings; 26 is level 1.
    gas('g2', '2026-07-14T12:00:00', 10, '330106'),
    gas('g2', '2026-07-15T12:00:00', 20, '330106'),
    gas('g2', '2026-07-15T13:00:00', 26, '330106'),
    gas('g2', '2026-08-10T08:00:00', 5, '330106'),
    // d1: 61 reaches level 1 and level 3 (3 counts); the day after its removal counts as unregistered.
    {
      device_id: 'd1',
      device_type: 'drain_level',
      metric: 'level',
      value: 61,
      region_code: '330203',
      observed_at: sh('2026-07-10T10:00:00'),
    },
    {
      device_id: 'd1',
      device_type: 'drain_level',
      metric: 'level',
      value: 5,
      region_code: '330203',
      observed_at: sh('2026-07-11T10:00:00'),
    },
    // p1: 0.1 is exactly at its at_or_below (level 1), 0.9 above its at_or_above (level 1), 0.03 is level 2.
    ...(
      [
        ['2026-07-20T09:00:00', 0.1],
        ['2026-07-20T10:00:00', 0.9],
        ['2026-07-21T09:00:00', 0.03],
        ['2026-07-22T09:00:00', 0.5],
      ] as const
    ).map(([local, value]) => ({
      device_id: 'p1',
      device_type: 'water_pressure',
      metric: 'pressure',
      unit: 'MPa' as const,
      value,
      region_code: '330100',
      observed_at: sh(local),
    })),
    // x9 is in no registry: its reading (at an alarming value) counts only as unregistered.
    gas('x9', '2026-08-05T12:00:00', 99, '330102'),
  ];

  let query: Query;
  beforeAll(async () => {
    query = await build({ devices, readings, now: new Date('2030-01-01T00:00:00+08:00') });
  });

  // July, per device: registered days × expected a day; online days; received (counted after the cap); alarms.
  const july = {
    // 31 × 4; online 1 and 31 July; 5 + 1 received, 4 + 1 counted; 25, 49.9 level 1, 50, 60 level 2.
    g1: {
      ...zero,
      devices: 1,
      days: 31,
      online: 2,
      expected: 124,
      received: 6,
      counted: 5,
      alarms: [2, 2, 0],
      alarmDays: 1,
    },
    // 15–31 July: 17 × 3; online 15 July; the 14 July reading is unregistered.
    g2: {
      ...zero,
      devices: 1,
      days: 17,
      online: 1,
      expected: 51,
      received: 2,
      counted: 2,
      alarms: [1, 0, 0],
      alarmDays: 1,
      unregistered: 1,
    },
    // 1–10 July: 10 × 2; online 10 July at level 3; 11 July unregistered.
    d1: {
      ...zero,
      devices: 1,
      days: 10,
      online: 1,
      expected: 20,
      received: 1,
      counted: 1,
      alarms: [0, 0, 1],
      alarmDays: 1,
      unregistered: 1,
    },
    // 31 × 1; online 20, 21, 22 July; 2 + 1 + 1 received, 1 + 1 + 1 counted; alarms on 20 (two) and 21 July.
    p1: {
      ...zero,
      devices: 1,
      days: 31,
      online: 3,
      expected: 31,
      received: 4,
      counted: 3,
      alarms: [2, 1, 0],
      alarmDays: 2,
    },
  } satisfies Record<string, Counts>;
  const august = {
    // 31 × 4; online 1 and 2 August; 1 + 2 readings, one at level 1 and one at level 5.
    g1: {
      ...zero,
      devices: 1,
      days: 31,
      online: 2,
      expected: 124,
      received: 3,
      counted: 3,
      alarms: [1, 0, 1],
      alarmDays: 1,
    },
    g2: { ...zero, devices: 1, days: 31, online: 1, expected: 93, received: 1, counted: 1 },
    p1: { ...zero, devices: 1, days: 31, online: 0, expected: 31 },
    x9: { ...zero, unregistered: 1 },
  } satisfies Record<string, Counts>;

  it('counts online device-days, capped completeness and alarms per month, rolled up by region prefix, per device type and in all', async () => {
    const j = july;
    const a = august;
    const expected = [
      // July
      health('month 2026-07 330000 all', plus(j.g1, j.g2, j.d1, j.p1)),
      health('month 2026-07 330000 drain_level', j.d1),
      health('month 2026-07 330000 gas_methane', plus(j.g1, j.g2)),
      health('month 2026-07 330000 water_pressure', j.p1),
      health('month 2026-07 330100 all', plus(j.g1, j.g2, j.p1)),
      health('month 2026-07 330100 gas_methane', plus(j.g1, j.g2)),
      health('month 2026-07 330100 water_pressure', j.p1),
      health('month 2026-07 330102 all', j.g1),
      health('month 2026-07 330102 gas_methane', j.g1),
      health('month 2026-07 330106 all', j.g2),
      health('month 2026-07 330106 gas_methane', j.g2),
      health('month 2026-07 330200 all', j.d1),
      health('month 2026-07 330200 drain_level', j.d1),
      health('month 2026-07 330203 all', j.d1),
      health('month 2026-07 330203 drain_level', j.d1),
      // August: d1 is removed, so 宁波 and 海曙区 have only their 'all' rows, nothing registered, NULL rates.
      health('month 2026-08 330000 all', plus(a.g1, a.g2, a.p1, a.x9)),
      health('month 2026-08 330000 gas_methane', plus(a.g1, a.g2, a.x9)),
      health('month 2026-08 330000 water_pressure', a.p1),
      health('month 2026-08 330100 all', plus(a.g1, a.g2, a.p1, a.x9)),
      health('month 2026-08 330100 gas_methane', plus(a.g1, a.g2, a.x9)),
      health('month 2026-08 330100 water_pressure', a.p1),
      health('month 2026-08 330102 all', plus(a.g1, a.x9)),
      health('month 2026-08 330102 gas_methane', plus(a.g1, a.x9)),
      health('month 2026-08 330106 all', a.g2),
      health('month 2026-08 330106 gas_methane', a.g2),
      health('month 2026-08 330200 all', zero),
      health('month 2026-08 330203 all', zero),
    ];
    expect(await query(rowsSql(`grain = 'month'`))).toEqual(expected);
    // Spelled out once: 浙江省 in July, 89 registered device-days of which 7 online.
    expect(
      await query(rowsSql(`grain = 'month' and period = '2026-07' and region_code = '330000' and device_type = 'all'`)),
    ).toMatchObject([
      {
        registered_devices: 4,
        registered_device_days: 89,
        online_device_days: 7,
        online_rate: 7 / 89,
        readings_expected: 226,
        readings_received: 13,
        readings_counted: 11,
        completeness_rate: 11 / 226,
        alarm_readings: 9,
        alarm_readings_level_1: 5,
        alarm_readings_level_2: 3,
        alarm_readings_level_3: 1,
        alarm_device_days: 5,
        unregistered_readings: 2,
      },
    ]);
  });

  it('puts readings at 23:30 and 00:10 Asia/Shanghai on their own day and month', async () => {
    const oneReading = { ...zero, devices: 1, days: 1, online: 1, expected: 4, received: 1, counted: 1 };
    expect(
      await query(rowsSql(`grain = 'day' and period in ('2026-07-31', '2026-08-01') and region_code = '330102'`)),
    ).toEqual([
      health('day 2026-07-31 330102 all', oneReading),
      health('day 2026-07-31 330102 gas_methane', oneReading),
      health('day 2026-08-01 330102 all', oneReading),
      health('day 2026-08-01 330102 gas_methane', oneReading),
    ]);
  });

  it('caps a chatty day at its expected readings and puts each reading at the highest level it reaches', async () => {
    expect(
      await query(
        rowsSql(
          `grain = 'day' and period in ('2026-07-01', '2026-08-02') and region_code = '330102' and device_type = 'all'`,
        ),
      ),
    ).toEqual([
      // five received, four expected: completeness 4 / 4, not 5 / 4.
      health('day 2026-07-01 330102 all', {
        ...zero,
        devices: 1,
        days: 1,
        online: 1,
        expected: 4,
        received: 5,
        counted: 4,
        alarms: [2, 2, 0],
        alarmDays: 1,
      }),
      health('day 2026-08-02 330102 all', {
        ...zero,
        devices: 1,
        days: 1,
        online: 1,
        expected: 4,
        received: 2,
        counted: 2,
        alarms: [1, 0, 1],
        alarmDays: 1,
      }),
    ]);
  });

  it('gives a day without registered devices NULL rates and counts readings outside a registration only as unregistered', async () => {
    // 14 July: g2 is not installed yet, so 西湖区 has no gas_methane row; 11 July: d1 is removed.
    expect(
      await query(
        rowsSql(
          `grain = 'day' and ((period = '2026-07-14' and region_code = '330106') or (period = '2026-07-11' and region_code = '330203'))`,
        ),
      ),
    ).toEqual([
      health('day 2026-07-11 330203 all', { ...zero, unregistered: 1 }),
      health('day 2026-07-14 330106 all', { ...zero, unregistered: 1 }),
    ]);
  });

  it("computes a quarter and a year from their own device-days, not from their months' rates", async () => {
    // Q3 = 1 July – 30 September (92 days; September has no data but its registered days count):
    // g1 92 × 4; g2 15 July – 30 September = 78 × 3; d1 10 × 2; p1 92 × 1.
    const q3 = plus(
      { ...july.g1, days: 92, expected: 368, received: 9, counted: 8, online: 4, alarms: [3, 2, 1], alarmDays: 2 },
      { ...july.g2, days: 78, expected: 234, received: 3, counted: 3, online: 2 },
      july.d1,
      { ...july.p1, days: 92, expected: 92 },
      august.x9,
    );
    // 2026: g1 365 × 4; g2 170 × 3 (15 July – 31 December); d1 191 × 2 (1 January – 10 July); p1 365 × 1.
    const year = { ...q3, days: 365 + 170 + 191 + 365, expected: 1460 + 510 + 382 + 365 };
    const rows = await query(
      rowsSql(`grain in ('quarter', 'year') and region_code = '330000' and device_type = 'all'`),
    );
    expect(rows).toEqual([health('quarter 2026-Q3 330000 all', q3), health('year 2026 330000 all', year)]);
    // 10 online of 272 registered device-days; the mean of July's 7 / 89 and August's 3 / 93 would be another figure.
    expect(rows[0]?.online_rate).toBe(10 / 272);
    expect((7 / 89 + 3 / 93) / 2).not.toBeCloseTo(10 / 272, 3);
    expect(rows[0]?.completeness_rate).toBe(15 / 714);
  });

  it("gives every (grain, period, region) an 'all' row and device-type rows only where such devices are registered", async () => {
    const counts = await query(
      `select grain, count(*) filter (where device_type = 'all') as all_rows, count(distinct period) as periods
       from mart_sensor_health group by grain order by grain`,
    );
    // Days from 1 July to 10 August (the data span): 41; months July and August; Q3; 2026 — six regions each.
    expect(counts).toEqual([
      { grain: 'day', all_rows: 41 * 6, periods: 41 },
      { grain: 'month', all_rows: 2 * 6, periods: 2 },
      { grain: 'quarter', all_rows: 6, periods: 1 },
      { grain: 'year', all_rows: 6, periods: 1 },
    ]);
    // Each device-type row adds up to the 'all' row of its region and period.
    expect(
      await query(
        `select t.grain, t.period, t.region_code from mart_sensor_health a
         join (select grain, period, region_code, sum(registered_device_days) as d, sum(online_device_days) as o,
                      sum(readings_counted) as c, sum(alarm_readings) as al
               from mart_sensor_health where device_type <> 'all' group by all) t
           on t.grain = a.grain and t.period = a.period and t.region_code = a.region_code and a.device_type = 'all'
         where (t.d, t.o, t.c, t.al) <> (a.registered_device_days, a.online_device_days, a.readings_counted, a.alarm_readings)`,
      ),
    ).toEqual([]);
  });
});

describe('mart_sensor_health of an open period', () => {
  it('counts only the days before the data cut-off', async () => {
    // Built at 10:00 on 3 August 2026 (Asia/Shanghai): the cut-off is 00:00 that day; 1 and 2 August are counted.
    const query = await build({
      devices: [
        deviceOf({ device_id: 'g1', device_type: 'gas_methane', region_code: '330102', reporting_interval_s: 21600 }),
        // installed after the cut-off: registered in August, on none of its counted days.
        deviceOf({
          device_id: 'g3',
          device_type: 'gas_methane',
          region_code: '330106',
          reporting_interval_s: 21600,
          installed_on: '2026-08-20',
        }),
      ],
      readings: [
        {
          device_id: 'g1',
          device_type: 'gas_methane',
          metric: 'methane',
          unit: '%LEL',
          region_code: '330102',
          value: 1,
          observed_at: sh('2026-08-01T08:00:00'),
        },
        {
          device_id: 'g1',
          device_type: 'gas_methane',
          metric: 'methane',
          unit: '%LEL',
          region_code: '330102',
          value: 1,
          observed_at: sh('2026-08-01T09:00:00'),
        },
        {
          device_id: 'g1',
          device_type: 'gas_methane',
          metric: 'methane',
          unit: '%LEL',
          region_code: '330102',
          value: 1,
          observed_at: sh('2026-08-02T08:00:00'),
        },
        // the build's own day: counts nowhere yet.
        {
          device_id: 'g1',
          device_type: 'gas_methane',
          metric: 'methane',
          unit: '%LEL',
          region_code: '330102',
          value: 80,
          observed_at: sh('2026-08-03T09:00:00'),
        },
      ],
      now: new Date('2026-08-03T10:00:00+08:00'),
    });
    const open = { is_complete: false, data_cutoff: '2026-08-02T16:00:00.000Z' };
    const g1 = { ...zero, devices: 1, online: 2, received: 3, counted: 3 };
    expect(
      await query(
        rowsSql(
          `(grain <> 'day' or period = '2026-08-03') and region_code in ('330102', '330106') and device_type <> 'all'`,
        ),
      ),
    ).toEqual([
      // 3 August: registered that day, none of it counted yet.
      health('day 2026-08-03 330102 gas_methane', zero, open),
      health('month 2026-08 330102 gas_methane', { ...g1, days: 2, expected: 8 }, open),
      health('month 2026-08 330106 gas_methane', zero, open),
      // 1 July – 2 August: 33 days; 1 January – 2 August: 214 days.
      health('quarter 2026-Q3 330102 gas_methane', { ...g1, days: 33, expected: 132 }, open),
      health('quarter 2026-Q3 330106 gas_methane', zero, open),
      health('year 2026 330102 gas_methane', { ...g1, days: 214, expected: 856 }, open),
      health('year 2026 330106 gas_methane', zero, open),
    ]);
  });
});
