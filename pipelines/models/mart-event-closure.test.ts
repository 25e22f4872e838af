/**
 * SQL unit tests of mart_event_closure (docs/indicators.md, "City event closure"): city event snapshots in, exact
 * mart rows out, every figure computed by hand from the events listed beside each test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildTestMarts,
  cityEvent,
  countedEnd,
  type TestLake as Lake,
  type LandedRow,
  type MartRow,
  tempDirs,
  testRegionLevels,
} from './testing.js';

type Row = MartRow;
type Event = LandedRow<'city_event'>;

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

/** An Asia/Shanghai wall-clock time `YYYY-MM-DD HH:MM` as the lake's UTC instant. */
function sh(local: string): string {
  return new Date(`${local.replace(' ', 'T')}:00+08:00`).toISOString();
}

async function build(regionCode: string, events: Event[], now: Date) {
  const lake: Lake = { city_event: events };
  const { result, query } = await buildTestMarts(dirs, { regionCode, lake, now });
  expect(result.tests.filter((t) => !t.passed)).toEqual([]);
  // The headers' invariants ran on this data (and passed, above).
  const tested = new Set(result.tests.map((t) => t.model));
  expect(tested.has('mart_event_closure') && tested.has('int_city_event_lifecycle')).toBe(true);
  return query;
}

const rate = (num: number, den: number) => (den === 0 ? null : num / den);

type Counts = {
  reported: number;
  cancelled: number;
  registered: number;
  toHandle: number;
  handled: number;
  handledOnTime: number;
  closed: number;
  closedOnTime: number;
  noDeadline: number;
  handlingTimed: number;
  handlingHours: number;
  closureTimed: number;
  closureHours: number;
};

const zero: Counts = {
  reported: 0,
  cancelled: 0,
  registered: 0,
  toHandle: 0,
  handled: 0,
  handledOnTime: 0,
  closed: 0,
  closedOnTime: 0,
  noDeadline: 0,
  handlingTimed: 0,
  handlingHours: 0,
  closureTimed: 0,
  closureHours: 0,
};

const levels = testRegionLevels;

type Period = { period_start: string; period_end: string; is_complete: boolean; data_cutoff: string };

/** A mart_event_closure row: `key` is "grain period region breakdown value"; rates computed as the definitions say. */
function closure(key: string, p: Period, c: Partial<Counts>): Row {
  const [grain, period, region_code, breakdown, breakdown_value] = key.split(' ') as [
    string,
    string,
    string,
    string,
    string,
  ];
  const n = { ...zero, ...c };
  return {
    grain,
    period,
    ...p,
    counted_end: countedEnd(p.period_end, p.data_cutoff),
    region_code,
    region_level: levels[region_code],
    breakdown,
    breakdown_value,
    reported_count: n.reported,
    cancelled_count: n.cancelled,
    registered_count: n.registered,
    to_handle_count: n.toHandle,
    handled_count: n.handled,
    handling_rate: rate(n.handled, n.toHandle),
    handled_on_time_count: n.handledOnTime,
    on_time_handling_rate: rate(n.handledOnTime, n.toHandle),
    to_close_count: n.registered,
    closed_count: n.closed,
    closure_rate: rate(n.closed, n.registered),
    closed_on_time_count: n.closedOnTime,
    on_time_closure_rate: rate(n.closedOnTime, n.registered),
    no_deadline_count: n.noDeadline,
    handling_timed_count: n.handlingTimed,
    handling_hours_sum: n.handlingHours,
    handling_hours_avg: rate(n.handlingHours, n.handlingTimed),
    closure_timed_count: n.closureTimed,
    closure_hours_sum: n.closureHours,
    closure_hours_avg: rate(n.closureHours, n.closureTimed),
  };
}

/** The cut-off of builds run after every period of their data: 00:00 Asia/Shanghai on 2030-01-01. */
const afterEveryPeriod = new Date('2030-01-01T00:00:00+08:00');
const completeAt = { is_complete: true, data_cutoff: '2029-12-31T16:00:00.000Z' };
const august: Period = { period_start: '2026-08-01', period_end: '2026-08-31', ...completeAt };
const july: Period = { period_start: '2026-07-01', period_end: '2026-07-31', ...completeAt };
const q3: Period = { period_start: '2026-07-01', period_end: '2026-09-30', ...completeAt };
const day = (d: string, at = completeAt): Period => ({ period_start: d, period_end: d, ...at });

const rowsSql = (where: string) =>
  `select * exclude (breakdown_name) from mart_event_closure where ${where} order by grain, period, region_code, breakdown, breakdown_value`;

describe('mart_event_closure', () => {
  it('computes every rate from its own denominator, by region prefix and by event class and source kind', async () => {
    const query = await build(
      '330000',
      [
        // E1 上城区, video 0101: handled 2 h after dispatch and closed 4 h after report, both before the deadline. Its
        // closed snapshot lacks handled_at and dispatched_at: they come from the earlier snapshots.
        ...[
          { status: 'reported' as const },
          { status: 'registered' as const, registered_at: sh('2026-08-03 10:10') },
          {
            status: 'dispatched' as const,
            registered_at: sh('2026-08-03 10:10'),
            dispatched_at: sh('2026-08-03 10:30'),
          },
          {
            status: 'handled' as const,
            registered_at: sh('2026-08-03 10:10'),
            dispatched_at: sh('2026-08-03 10:30'),
            handled_at: sh('2026-08-03 12:30'),
          },
          { status: 'closed' as const, registered_at: sh('2026-08-03 10:10'), closed_at: sh('2026-08-03 14:00') },
        ].map((s) =>
          cityEvent({
            event_id: 'E1',
            reported_at: sh('2026-08-03 10:00'),
            deadline_at: sh('2026-08-05 10:00'),
            ...s,
          }),
        ),
        // E2 上城区, grid 0101: handled (51 h after dispatch) and closed (55 h after report) after its deadline.
        cityEvent({ event_id: 'E2', status: 'reported', source_kind: 'grid', reported_at: sh('2026-08-04 09:00') }),
        cityEvent({
          event_id: 'E2',
          status: 'closed',
          source_kind: 'grid',
          reported_at: sh('2026-08-04 09:00'),
          registered_at: sh('2026-08-04 09:30'),
          dispatched_at: sh('2026-08-04 10:00'),
          handled_at: sh('2026-08-06 13:00'),
          verified_at: sh('2026-08-06 15:00'),
          closed_at: sh('2026-08-06 16:00'),
          deadline_at: sh('2026-08-05 09:00'),
        }),
        // E3 西湖区, video 0502: dispatched, not handled yet.
        cityEvent({
          event_id: 'E3',
          status: 'dispatched',
          event_class: '0502',
          region_code: '330106',
          reported_at: sh('2026-08-10 08:00'),
          registered_at: sh('2026-08-10 08:15'),
          dispatched_at: sh('2026-08-10 08:45'),
          deadline_at: sh('2026-08-12 08:00'),
        }),
        // E4 西湖区, grid 0502: registered, then cancelled (作废): the cancelled snapshot is the latest.
        ...(['registered', 'cancelled'] as const).map((status) =>
          cityEvent({
            event_id: 'E4',
            status,
            source_kind: 'grid',
            event_class: '0502',
            region_code: '330106',
            reported_at: sh('2026-08-11 09:00'),
            registered_at: sh('2026-08-11 09:20'),
            deadline_at: sh('2026-08-14 09:00'),
          }),
        ),
        // E5 海曙区, hotline 0503: registered without a deadline, never dispatched.
        cityEvent({
          event_id: 'E5',
          status: 'registered',
          source_kind: 'hotline',
          source_ref: 'HL-1',
          event_class: '0503',
          region_code: '330203',
          reported_at: sh('2026-08-20 09:00'),
          registered_at: sh('2026-08-20 09:30'),
        }),
        // E6 杭州市 itself (a city-level case), sensor 0101: handled in 1.5 h, closed 2 h after report, on time.
        cityEvent({
          event_id: 'E6',
          status: 'closed',
          source_kind: 'sensor',
          source_ref: 'dev-9',
          region_code: '330100',
          reported_at: sh('2026-08-15 10:00'),
          registered_at: sh('2026-08-15 10:05'),
          dispatched_at: sh('2026-08-15 10:15'),
          handled_at: sh('2026-08-15 11:45'),
          closed_at: sh('2026-08-15 12:00'),
          deadline_at: sh('2026-08-15 16:00'),
        }),
        // E7 上城区, video 0104: its case system sends a 'handled' status without any lifecycle time — handled by its
        // status (and so registered and dispatched), but neither on time nor timed.
        cityEvent({
          event_id: 'E7',
          status: 'handled',
          event_class: '0104',
          reported_at: sh('2026-08-25 10:00'),
          deadline_at: sh('2026-08-27 10:00'),
        }),
      ],
      afterEveryPeriod,
    );

    const hangzhouDistrict = {
      reported: 3,
      registered: 3,
      toHandle: 3,
      handled: 3,
      handledOnTime: 1,
      closed: 2,
      closedOnTime: 1,
      handlingTimed: 2,
      handlingHours: 2 + 51,
      closureTimed: 2,
      closureHours: 4 + 55,
    };
    const xihu = { reported: 2, cancelled: 1, registered: 1, toHandle: 1 };
    const haishu = { reported: 1, registered: 1, noDeadline: 1 };
    const hangzhou = {
      reported: 6,
      cancelled: 1,
      registered: 5,
      toHandle: 5,
      handled: 4,
      handledOnTime: 2,
      closed: 3,
      closedOnTime: 2,
      handlingTimed: 3,
      handlingHours: 2 + 51 + 1.5,
      closureTimed: 3,
      closureHours: 4 + 55 + 2,
    };
    const zhejiang = { ...hangzhou, reported: 7, registered: 6, noDeadline: 1 };
    expect(await query(rowsSql(`grain = 'month' and breakdown = 'all'`))).toEqual([
      closure('month 2026-08 330000 all all', august, zhejiang),
      closure('month 2026-08 330100 all all', august, hangzhou),
      closure('month 2026-08 330102 all all', august, hangzhouDistrict),
      closure('month 2026-08 330106 all all', august, xihu),
      closure('month 2026-08 330200 all all', august, haishu),
      closure('month 2026-08 330203 all all', august, haishu),
    ]);

    // By event class and source kind, only values that have events in the region and period.
    expect(await query(rowsSql(`grain = 'month' and region_code = '330000' and breakdown <> 'all'`))).toEqual([
      closure('month 2026-08 330000 event_class 0101', august, {
        reported: 3,
        registered: 3,
        toHandle: 3,
        handled: 3,
        handledOnTime: 2,
        closed: 3,
        closedOnTime: 2,
        handlingTimed: 3,
        handlingHours: 54.5,
        closureTimed: 3,
        closureHours: 61,
      }),
      closure('month 2026-08 330000 event_class 0104', august, { reported: 1, registered: 1, toHandle: 1, handled: 1 }),
      closure('month 2026-08 330000 event_class 0502', august, xihu),
      closure('month 2026-08 330000 event_class 0503', august, haishu),
      closure('month 2026-08 330000 source_kind grid', august, {
        reported: 2,
        cancelled: 1,
        registered: 1,
        toHandle: 1,
        handled: 1,
        closed: 1,
        handlingTimed: 1,
        handlingHours: 51,
        closureTimed: 1,
        closureHours: 55,
      }),
      closure('month 2026-08 330000 source_kind hotline', august, haishu),
      closure('month 2026-08 330000 source_kind sensor', august, {
        reported: 1,
        registered: 1,
        toHandle: 1,
        handled: 1,
        handledOnTime: 1,
        closed: 1,
        closedOnTime: 1,
        handlingTimed: 1,
        handlingHours: 1.5,
        closureTimed: 1,
        closureHours: 2,
      }),
      closure('month 2026-08 330000 source_kind video', august, {
        reported: 3,
        registered: 3,
        toHandle: 3,
        handled: 2,
        handledOnTime: 1,
        closed: 1,
        closedOnTime: 1,
        handlingTimed: 1,
        handlingHours: 2,
        closureTimed: 1,
        closureHours: 4,
      }),
    ]);
    expect(
      await query(
        `select breakdown, breakdown_value, breakdown_name from mart_event_closure
         where grain = 'month' and region_code = '330102' and breakdown <> 'all' order by 1, 2`,
      ),
    ).toEqual([
      { breakdown: 'event_class', breakdown_value: '0101', breakdown_name: '暴露垃圾' },
      { breakdown: 'event_class', breakdown_value: '0104', breakdown_name: '垃圾箱满溢' },
      { breakdown: 'source_kind', breakdown_value: 'grid', breakdown_name: null },
      { breakdown: 'source_kind', breakdown_value: 'video', breakdown_name: null },
    ]);

    // Each breakdown partitions the events: its rows add up to the 'all' row, in every grain, period and region.
    expect(
      await query(`
        select b.grain, b.period, b.region_code, b.breakdown
        from mart_event_closure as b
        inner join mart_event_closure as a
            on a.grain = b.grain and a.period = b.period and a.region_code = b.region_code and a.breakdown = 'all'
        where b.breakdown <> 'all'
        group by all
        having sum(b.reported_count) <> any_value(a.reported_count)
            or sum(b.to_handle_count) <> any_value(a.to_handle_count)
            or sum(b.closed_on_time_count) <> any_value(a.closed_on_time_count)
            or sum(b.handling_hours_sum) <> any_value(a.handling_hours_sum)`),
    ).toEqual([]);

    // A day without events: every region has its 'all' row, counts 0 and rates NULL, and no breakdown rows.
    expect(await query(rowsSql(`grain = 'day' and period = '2026-08-05'`))).toEqual(
      Object.keys(levels).map((code) => closure(`day 2026-08-05 ${code} all all`, day('2026-08-05'), zero)),
    );
    // E2 counts on the day it was reported, though handled and closed two days later.
    expect(await query(rowsSql(`grain = 'day' and period = '2026-08-04' and region_code = '330102'`))).toEqual([
      closure('day 2026-08-04 330102 all all', day('2026-08-04'), {
        reported: 1,
        registered: 1,
        toHandle: 1,
        handled: 1,
        closed: 1,
        handlingTimed: 1,
        handlingHours: 51,
        closureTimed: 1,
        closureHours: 55,
      }),
      closure('day 2026-08-04 330102 event_class 0101', day('2026-08-04'), {
        reported: 1,
        registered: 1,
        toHandle: 1,
        handled: 1,
        closed: 1,
        handlingTimed: 1,
        handlingHours: 51,
        closureTimed: 1,
        closureHours: 55,
      }),
      closure('day 2026-08-04 330102 source_kind grid', day('2026-08-04'), {
        reported: 1,
        registered: 1,
        toHandle: 1,
        handled: 1,
        closed: 1,
        handlingTimed: 1,
        handlingHours: 51,
        closureTimed: 1,
        closureHours: 55,
      }),
    ]);
  });

  it('puts 23:30 and 00:10 Asia/Shanghai reports on their own days and months, and computes a quarter from its events', async () => {
    const handledOnTime = (id: string, reported: string) =>
      cityEvent({
        event_id: id,
        status: 'closed',
        reported_at: sh(reported),
        registered_at: sh(reported),
        dispatched_at: sh(reported),
        handled_at: new Date(Date.parse(sh(reported)) + 3 * 3600_000).toISOString(),
        closed_at: new Date(Date.parse(sh(reported)) + 6 * 3600_000).toISOString(),
        deadline_at: new Date(Date.parse(sh(reported)) + 24 * 3600_000).toISOString(),
      });
    const dispatchedOnly = (id: string, reported: string) =>
      cityEvent({
        event_id: id,
        status: 'dispatched',
        reported_at: sh(reported),
        registered_at: sh(reported),
        dispatched_at: sh(reported),
        deadline_at: new Date(Date.parse(sh(reported)) + 24 * 3600_000).toISOString(),
      });
    const query = await build(
      '330102',
      [
        // July: one event, handled and closed on time (handling rate 1/1).
        handledOnTime('A', '2026-07-31 23:30'),
        // August: three events dispatched, none handled (0/3). 00:10 on 1 August is still 31 July in UTC.
        dispatchedOnly('B', '2026-08-01 00:10'),
        dispatchedOnly('C', '2026-08-12 10:00'),
        dispatchedOnly('D', '2026-08-13 10:00'),
      ],
      afterEveryPeriod,
    );
    const one = { reported: 1, registered: 1, toHandle: 1 };
    const doneOnTime = {
      ...one,
      handled: 1,
      handledOnTime: 1,
      closed: 1,
      closedOnTime: 1,
      handlingTimed: 1,
      handlingHours: 3,
      closureTimed: 1,
      closureHours: 6,
    };
    const all = `breakdown = 'all' and region_code = '330102'`;
    expect(await query(rowsSql(`${all} and period in ('2026-07-31', '2026-08-01')`))).toEqual([
      closure('day 2026-07-31 330102 all all', day('2026-07-31'), doneOnTime),
      closure('day 2026-08-01 330102 all all', day('2026-08-01'), one),
    ]);
    expect(await query(rowsSql(`${all} and grain <> 'day'`))).toEqual([
      closure('month 2026-07 330102 all all', july, doneOnTime),
      closure('month 2026-08 330102 all all', august, { reported: 3, registered: 3, toHandle: 3 }),
      // The mean of the months' handling rates would be (1 + 0) / 2 = 0.5; the quarter's own events give 1/4.
      closure('quarter 2026-Q3 330102 all all', q3, { ...doneOnTime, reported: 4, registered: 4, toHandle: 4 }),
      closure(
        'year 2026 330102 all all',
        { period_start: '2026-01-01', period_end: '2026-12-31', ...completeAt },
        { ...doneOnTime, reported: 4, registered: 4, toHandle: 4 },
      ),
    ]);
    const [quarter] = await query(rowsSql(`${all} and grain = 'quarter'`));
    expect(quarter).toMatchObject({ handling_rate: 0.25, closure_rate: 0.25, on_time_closure_rate: 0.25 });
  });

  it('counts an open period only up to the data cut-off', async () => {
    // Built at 10:00 on 20 August 2026 Asia/Shanghai: the cut-off is 00:00 that day (16:00 UTC on the 19th).
    const now = new Date('2026-08-20T10:00:00+08:00');
    const openAt = { is_complete: false, data_cutoff: '2026-08-19T16:00:00.000Z' };
    const query = await build(
      '330102',
      [
        // Handled on the 19th, within its deadline; its closed_at (09:00 on the 20th) is at or after the cut-off:
        // not closed as of this build, though a closed snapshot has landed.
        cityEvent({
          event_id: 'P1',
          status: 'closed',
          reported_at: sh('2026-08-18 10:00'),
          registered_at: sh('2026-08-18 10:10'),
          dispatched_at: sh('2026-08-18 10:30'),
          handled_at: sh('2026-08-19 10:30'),
          closed_at: sh('2026-08-20 09:00'),
          deadline_at: sh('2026-08-21 10:00'),
        }),
        // Reported on the cut-off day itself: counted nowhere yet.
        cityEvent({ event_id: 'P2', status: 'reported', reported_at: sh('2026-08-20 08:00') }),
      ],
      now,
    );
    const p1 = {
      reported: 1,
      registered: 1,
      toHandle: 1,
      handled: 1,
      handledOnTime: 1,
      handlingTimed: 1,
      handlingHours: 24,
    };
    const all = `breakdown = 'all' and region_code = '330102'`;
    expect(await query(rowsSql(`${all} and (grain <> 'day' or period in ('2026-08-18', '2026-08-20'))`))).toEqual([
      // A day before the cut-off is over, though its month is not.
      closure('day 2026-08-18 330102 all all', day('2026-08-18', { ...openAt, is_complete: true }), p1),
      closure('day 2026-08-20 330102 all all', day('2026-08-20', openAt), zero),
      closure('month 2026-08 330102 all all', { ...august, ...openAt }, p1),
      closure('quarter 2026-Q3 330102 all all', { ...q3, ...openAt }, p1),
      closure('year 2026 330102 all all', { period_start: '2026-01-01', period_end: '2026-12-31', ...openAt }, p1),
    ]);
  });
});
