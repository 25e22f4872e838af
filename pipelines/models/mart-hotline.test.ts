/**
 * SQL unit tests of mart_hotline (12345 接诉即办: response within 2 h, the 三率 and their composite, on-time
 * closure) and int_hotline_cases_latest: a tiny lake in, hand-computed rows out (docs/indicators.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorSettingsInput } from './indicator-settings.js';
import {
  buildTestMarts,
  hotline,
  type TestLake as Lake,
  type MartRow as Row,
  tempDirs,
  testRegionLevels,
} from './testing.js';

type Query = (sql: string) => Promise<Row[]>;

/**
 * One build per fixture, shared by the tests of its describe block; its temp folder is removed after them.
 * Every header data test (error and warn) must pass.
 */
function fixture(o: { regionCode: string; lake: Lake; now: Date; indicators?: IndicatorSettingsInput }): () => Query {
  let dirs: Awaited<ReturnType<typeof tempDirs>>;
  let query: Query;
  beforeAll(async () => {
    dirs = await tempDirs();
    const built = await buildTestMarts(dirs, o);
    expect(built.result.tests.filter((t) => !t.passed)).toEqual([]);
    query = built.query;
  });
  afterAll(async () => {
    await dirs?.cleanup();
  });
  return () => query;
}

/** Every period of these fixtures' data is over at this "now"; the cut-off is 00:00 Asia/Shanghai that day. */
const afterEveryPeriod = new Date('2030-01-01T00:00:00+08:00');
const finalCutoff = '2029-12-31T16:00:00.000Z';

const levels = testRegionLevels;

type Counts = {
  received: number;
  within2h: number;
  followups: number;
  contacted: number;
  resolved: number;
  satisfied: number;
  basically: number;
  unsatisfied: number;
  due: number;
  onTime: number;
};
const zero: Counts = {
  received: 0,
  within2h: 0,
  followups: 0,
  contacted: 0,
  resolved: 0,
  satisfied: 0,
  basically: 0,
  unsatisfied: 0,
  due: 0,
  onTime: 0,
};
type Weights = { response: number; resolution: number; satisfaction: number; basically: number };
const defaultWeights: Weights = { response: 0.1, resolution: 0.5, satisfaction: 0.4, basically: 0.9 };

const rate = (num: number, den: number) => (den === 0 ? null : num / den);
const iso = (d: Date) => d.toISOString().slice(0, 10);

/** The first and last day of a period, as int_periods spells it. */
function bounds(grain: string, period: string): { period_start: string; period_end: string } {
  const year = Number(period.slice(0, 4));
  const utc = (m: number, d: number) => new Date(Date.UTC(year, m, d));
  if (grain === 'day') return { period_start: period, period_end: period };
  if (grain === 'year') return { period_start: `${year}-01-01`, period_end: `${year}-12-31` };
  const [first, months] = grain === 'month' ? [Number(period.slice(5)) - 1, 1] : [(Number(period.slice(6)) - 1) * 3, 3];
  return { period_start: iso(utc(first, 1)), period_end: iso(utc(first + months, 0)) };
}

/**
 * A mart_hotline row, its rates computed as the definitions say. `key` is "grain period region [breakdown value]";
 * `open` gives the counted end and cut-off of a period still running.
 */
function hotlineRow(
  key: string,
  counts: Partial<Counts>,
  o: { weights?: Weights; open?: { counted_end: string; data_cutoff: string }; cutoff?: string } = {},
): Row {
  const [grain = '', period = '', region_code = '', breakdown = 'all', breakdown_value = 'all'] = key.split(' ');
  const c = { ...zero, ...counts };
  const w = o.weights ?? defaultWeights;
  const { period_start, period_end } = bounds(grain, period);
  const satisfaction_score = c.satisfied + w.basically * c.basically;
  const response_rate = rate(c.contacted, c.followups);
  const resolution_rate = rate(c.resolved, c.followups);
  const satisfaction_rate = rate(satisfaction_score, c.followups);
  return {
    grain,
    period,
    period_start,
    period_end,
    is_complete: o.open === undefined,
    counted_end: o.open?.counted_end ?? period_end,
    data_cutoff: o.open?.data_cutoff ?? o.cutoff ?? finalCutoff,
    region_code,
    region_level: levels[region_code],
    breakdown,
    breakdown_value,
    received_count: c.received,
    responded_within_2h_count: c.within2h,
    response_2h_rate: rate(c.within2h, c.received),
    followup_count: c.followups,
    contacted_count: c.contacted,
    response_rate,
    resolved_count: c.resolved,
    resolution_rate,
    satisfied_count: c.satisfied,
    basically_satisfied_count: c.basically,
    unsatisfied_count: c.unsatisfied,
    satisfaction_score,
    satisfaction_rate,
    composite_score:
      c.followups === 0
        ? null
        : w.response * (response_rate as number) +
          w.resolution * (resolution_rate as number) +
          w.satisfaction * (satisfaction_rate as number),
    due_count: c.due,
    closed_on_time_count: c.onTime,
    on_time_rate: rate(c.onTime, c.due),
    weight_response: w.response,
    weight_resolution: w.resolution,
    weight_satisfaction: w.satisfaction,
    basically_satisfied_weight: w.basically,
  };
}

const allRows = (where: string) =>
  `select * from mart_hotline where breakdown = 'all' and ${where} order by grain, period, region_code`;

/**
 * 上城区 (330102), August–September 2026. Received, response and follow-up figures go by the received day; due and
 * on-time by the deadline's day. Times are UTC; the comments give Asia/Shanghai.
 */
const visitLake: Lake = {
  hotline_case: [
    // c1: the visit is on its closed version only; answered exactly 2 h after it came in; closed before its deadline.
    hotline({ case_id: 'c1', received_at: '2026-08-03T01:00:00Z', status: 'received' }),
    hotline({
      case_id: 'c1',
      received_at: '2026-08-03T01:00:00Z',
      status: 'closed',
      updated_at: '2026-08-09T02:00:00Z',
      responded_at: '2026-08-03T03:00:00Z',
      closed_at: '2026-08-09T01:00:00Z',
      deadline_at: '2026-08-10T01:00:00Z',
      contacted: true,
      resolved: true,
      satisfaction: 'satisfied',
    }),
    // c2: closed, then visited again: the newer update (landed first, at a lower offset) is its latest state.
    // Answered 2 h + 1 s after it came in; received 30 August, due 2 September (due in September), closed on time.
    hotline({
      case_id: 'c2',
      received_at: '2026-08-30T01:00:00Z',
      status: 'closed',
      updated_at: '2026-09-03T02:00:00Z',
      responded_at: '2026-08-30T03:00:01Z',
      closed_at: '2026-09-01T01:00:00Z',
      deadline_at: '2026-09-02T01:00:00Z',
      contacted: true,
      resolved: true,
      satisfaction: 'basically_satisfied',
    }),
    hotline({
      case_id: 'c2',
      received_at: '2026-08-30T01:00:00Z',
      status: 'closed',
      updated_at: '2026-09-02T02:00:00Z',
      responded_at: '2026-08-30T03:00:01Z',
      closed_at: '2026-09-01T01:00:00Z',
      deadline_at: '2026-09-02T01:00:00Z',
      contacted: true,
      resolved: false,
      satisfaction: 'unsatisfied',
    }),
    hotline({ case_id: 'c2', received_at: '2026-08-30T01:00:00Z', status: 'received' }),
    // c3: answered in 30 min; closed a day after its deadline; reached, not resolved, unsatisfied.
    hotline({
      case_id: 'c3',
      received_at: '2026-08-04T01:00:00Z',
      status: 'closed',
      responded_at: '2026-08-04T01:30:00Z',
      closed_at: '2026-08-21T01:00:00Z',
      deadline_at: '2026-08-20T01:00:00Z',
      contacted: true,
      resolved: false,
      satisfaction: 'unsatisfied',
    }),
    // c4: never answered; closed exactly at its deadline (on time); visited but the caller was not reached.
    hotline({
      case_id: 'c4',
      received_at: '2026-08-05T01:00:00Z',
      status: 'closed',
      closed_at: '2026-08-15T01:00:00Z',
      deadline_at: '2026-08-15T01:00:00Z',
      contacted: false,
    }),
    // c5: answered after 3 h, still being handled past its deadline: due in August, not on time, no visit.
    hotline({ case_id: 'c5', received_at: '2026-08-06T01:00:00Z', status: 'received' }),
    hotline({
      case_id: 'c5',
      received_at: '2026-08-06T01:00:00Z',
      status: 'handling',
      responded_at: '2026-08-06T04:00:00Z',
      deadline_at: '2026-08-25T01:00:00Z',
    }),
    // c6: September, closed late without any visit: no follow-up at all in September.
    hotline({
      case_id: 'c6',
      received_at: '2026-09-10T01:00:00Z',
      status: 'closed',
      responded_at: '2026-09-10T02:00:00Z',
      closed_at: '2026-09-26T01:00:00Z',
      deadline_at: '2026-09-25T01:00:00Z',
    }),
    // c7: the last day of data (the span of day periods ends here), nothing else known yet.
    hotline({ case_id: 'c7', received_at: '2026-09-26T01:00:00Z', status: 'received' }),
  ],
};

// August: received c1–c5; within 2 h c1 (exactly 2 h), c3; follow-ups c1–c4; reached c1–c3; resolved c1, c2;
// satisfied c1, basically c2, unsatisfied c3. Due in August (by deadline day) c1, c3, c4, c5; on time c1, c4.
const august: Partial<Counts> = {
  received: 5,
  within2h: 2,
  followups: 4,
  contacted: 3,
  resolved: 2,
  satisfied: 1,
  basically: 1,
  unsatisfied: 1,
  due: 4,
  onTime: 2,
};
// September: received c6 (answered in 1 h) and c7, no follow-up; due c2 (received in August, on time) and c6 (late).
const september: Partial<Counts> = { received: 2, within2h: 1, due: 2, onTime: 1 };
const q3: Partial<Counts> = { ...august, received: 7, within2h: 3, due: 6, onTime: 3 };

describe('mart_hotline: the 三率, the composite and on-time closure (default weights)', () => {
  const query = fixture({ regionCode: '330102', lake: visitLake, now: afterEveryPeriod });

  it('computes response, resolution and satisfaction over valid follow-ups and the 0.1/0.5/0.4 composite; no follow-up gives NULL rates', async () => {
    const rows = await query()(allRows(`grain <> 'day'`));
    expect(rows).toEqual([
      hotlineRow('month 2026-08 330102', august),
      hotlineRow('month 2026-09 330102', september),
      hotlineRow('quarter 2026-Q3 330102', q3),
      hotlineRow('year 2026 330102', q3),
    ]);
    // Spelled out: 3/4 reached, 2/4 resolved, (1 + 0.9 × 1)/4 satisfied; 0.1 × 0.75 + 0.5 × 0.5 + 0.4 × 0.475.
    expect(rows[0]).toMatchObject({ response_rate: 0.75, resolution_rate: 0.5, satisfaction_score: 1.9 });
    expect(rows[0]?.satisfaction_rate).toBeCloseTo(0.475, 12);
    expect(rows[0]?.composite_score).toBeCloseTo(0.515, 12);
    expect(rows[1]).toMatchObject({
      followup_count: 0,
      response_rate: null,
      resolution_rate: null,
      satisfaction_rate: null,
      composite_score: null,
    });
  });

  it('keeps each case in its latest state: the closed version with the visit, the newest update of a closed case', async () => {
    expect(
      await query()(
        `select case_id, status, version_count, is_contacted, is_resolved, satisfaction
         from int_hotline_cases_latest order by case_id`,
      ),
    ).toEqual([
      {
        case_id: 'c1',
        status: 'closed',
        version_count: 2,
        is_contacted: true,
        is_resolved: true,
        satisfaction: 'satisfied',
      },
      {
        case_id: 'c2',
        status: 'closed',
        version_count: 2,
        is_contacted: true,
        is_resolved: true,
        satisfaction: 'basically_satisfied',
      },
      {
        case_id: 'c3',
        status: 'closed',
        version_count: 1,
        is_contacted: true,
        is_resolved: false,
        satisfaction: 'unsatisfied',
      },
      { case_id: 'c4', status: 'closed', version_count: 1, is_contacted: false, is_resolved: null, satisfaction: null },
      {
        case_id: 'c5',
        status: 'handling',
        version_count: 2,
        is_contacted: null,
        is_resolved: null,
        satisfaction: null,
      },
      { case_id: 'c6', status: 'closed', version_count: 1, is_contacted: null, is_resolved: null, satisfaction: null },
      {
        case_id: 'c7',
        status: 'received',
        version_count: 1,
        is_contacted: null,
        is_resolved: null,
        satisfaction: null,
      },
    ]);
  });

  it('counts a response of exactly 2 h as within 2 h and 2 h + 1 s as not, on the day the case was received', async () => {
    expect(
      await query()(
        `select period, received_count, responded_within_2h_count from mart_hotline
         where grain = 'day' and breakdown = 'all' and received_count > 0 order by period`,
      ),
    ).toEqual([
      { period: '2026-08-03', received_count: 1, responded_within_2h_count: 1 }, // c1: exactly 2 h
      { period: '2026-08-04', received_count: 1, responded_within_2h_count: 1 }, // c3: 30 min
      { period: '2026-08-05', received_count: 1, responded_within_2h_count: 0 }, // c4: never
      { period: '2026-08-06', received_count: 1, responded_within_2h_count: 0 }, // c5: 3 h
      { period: '2026-08-30', received_count: 1, responded_within_2h_count: 0 }, // c2: 2 h + 1 s
      { period: '2026-09-10', received_count: 1, responded_within_2h_count: 1 }, // c6: 1 h
      { period: '2026-09-26', received_count: 1, responded_within_2h_count: 0 }, // c7: not yet
    ]);
  });

  it('counts due and on-time closure on the day of the deadline, not of receipt; closing at the deadline is on time', async () => {
    expect(
      await query()(
        `select period, received_count, due_count, closed_on_time_count, on_time_rate from mart_hotline
         where grain = 'day' and breakdown = 'all' and due_count > 0 order by period`,
      ),
    ).toEqual([
      { period: '2026-08-10', received_count: 0, due_count: 1, closed_on_time_count: 1, on_time_rate: 1 }, // c1
      { period: '2026-08-15', received_count: 0, due_count: 1, closed_on_time_count: 1, on_time_rate: 1 }, // c4
      { period: '2026-08-20', received_count: 0, due_count: 1, closed_on_time_count: 0, on_time_rate: 0 }, // c3
      { period: '2026-08-25', received_count: 0, due_count: 1, closed_on_time_count: 0, on_time_rate: 0 }, // c5
      { period: '2026-09-02', received_count: 0, due_count: 1, closed_on_time_count: 1, on_time_rate: 1 }, // c2
      { period: '2026-09-25', received_count: 0, due_count: 1, closed_on_time_count: 0, on_time_rate: 0 }, // c6
    ]);
  });

  it('gives every day of the data span its all row, with NULL rates where nothing was received or due', async () => {
    const days = await query()(
      `select count(*) as days, count(*) filter (where received_count = 0 and due_count = 0) as silent
       from mart_hotline where grain = 'day' and breakdown = 'all'`,
    );
    // 3 August to 26 September: 55 days, 13 with something received or due.
    expect(days).toEqual([{ days: 55, silent: 42 }]);
    expect(await query()(allRows(`grain = 'day' and period = '2026-08-07'`))).toEqual([
      hotlineRow('day 2026-08-07 330102', zero),
    ]);
  });
});

describe('mart_hotline with configured weights', () => {
  const weights: Weights = { response: 0.2, resolution: 0.3, satisfaction: 0.5, basically: 0.8 };
  const query = fixture({
    regionCode: '330102',
    lake: visitLake,
    now: afterEveryPeriod,
    indicators: {
      hotline_weights: { response: 0.2, resolution: 0.3, satisfaction: 0.5 },
      basically_satisfied_weight: 0.8,
    },
  });

  it('weighs the composite and a basically satisfied visit as configured, and carries the weights on every row', async () => {
    const rows = await query()(allRows(`grain in ('month', 'quarter')`));
    expect(rows).toEqual([
      hotlineRow('month 2026-08 330102', august, { weights }),
      hotlineRow('month 2026-09 330102', september, { weights }),
      hotlineRow('quarter 2026-Q3 330102', q3, { weights }),
    ]);
    // (1 + 0.8 × 1)/4 = 0.45; 0.2 × 0.75 + 0.3 × 0.5 + 0.5 × 0.45 = 0.525.
    expect(rows[0]?.satisfaction_rate).toBeCloseTo(0.45, 12);
    expect(rows[0]?.composite_score).toBeCloseTo(0.525, 12);
  });
});

/** 浙江省 (330000) hub, July–August 2026: cases in districts, at city level and across the month boundary. */
const regionLake: Lake = {
  hotline_case: [
    // h1: 31 July 23:30 Asia/Shanghai (15:30 UTC) is July's.
    hotline({
      case_id: 'h1',
      received_at: '2026-07-31T15:30:00Z',
      region_code: '330102',
      channel: 'phone',
      request_type: 'complaint',
      category: '城市管理/市容环境/暴露垃圾',
      status: 'closed',
      contacted: true,
      resolved: true,
      satisfaction: 'satisfied',
    }),
    // h2: 1 August 00:10 Asia/Shanghai (31 July 16:10 UTC) is August's.
    hotline({
      case_id: 'h2',
      received_at: '2026-07-31T16:10:00Z',
      region_code: '330106',
      channel: 'web',
      request_type: 'consult',
      category: '城市管理/街面秩序/店外经营',
      status: 'closed',
      contacted: true,
      resolved: false,
      satisfaction: 'unsatisfied',
    }),
    hotline({
      case_id: 'h3',
      received_at: '2026-08-05T02:00:00Z',
      region_code: '330106',
      channel: 'app',
      request_type: 'complaint',
      category: '公共服务/供水/停水',
      status: 'closed',
      contacted: true,
      resolved: true,
      satisfaction: 'satisfied',
    }),
    hotline({
      case_id: 'h4',
      received_at: '2026-08-06T02:00:00Z',
      region_code: '330106',
      channel: 'wechat',
      request_type: 'help',
      category: '公共服务/供水/水压低',
      status: 'closed',
      contacted: true,
      resolved: true,
      satisfaction: 'basically_satisfied',
    }),
    // h5: 海曙区, no visit yet.
    hotline({
      case_id: 'h5',
      received_at: '2026-08-07T02:00:00Z',
      region_code: '330203',
      channel: 'phone',
      request_type: 'complaint',
      category: '城市管理/市容环境/道路不洁',
      status: 'dispatched',
    }),
    // h6: a city-level case with a one-segment category; visited, caller not reached.
    hotline({
      case_id: 'h6',
      received_at: '2026-08-08T02:00:00Z',
      region_code: '330100',
      channel: 'phone',
      request_type: 'suggestion',
      category: '交通出行',
      status: 'closed',
      contacted: false,
    }),
  ],
};

const h1 = { received: 1, followups: 1, contacted: 1, resolved: 1, satisfied: 1 };

describe('mart_hotline roll-ups, breakdowns and periods', () => {
  const query = fixture({ regionCode: '330000', lake: regionLake, now: afterEveryPeriod });

  it('puts 23:30 and 00:10 Asia/Shanghai on either side of a month boundary', async () => {
    expect(
      await query()(
        `select grain, period, received_count from mart_hotline
         where breakdown = 'all' and region_code = '330000' and grain in ('day', 'month') and received_count > 0
         order by grain, period`,
      ),
    ).toEqual([
      { grain: 'day', period: '2026-07-31', received_count: 1 },
      { grain: 'day', period: '2026-08-01', received_count: 1 },
      { grain: 'day', period: '2026-08-05', received_count: 1 },
      { grain: 'day', period: '2026-08-06', received_count: 1 },
      { grain: 'day', period: '2026-08-07', received_count: 1 },
      { grain: 'day', period: '2026-08-08', received_count: 1 },
      { grain: 'month', period: '2026-07', received_count: 1 },
      { grain: 'month', period: '2026-08', received_count: 5 },
    ]);
  });

  it('rolls districts up into their city and province by code prefix, and a quarter from its records, not its months', async () => {
    // August in 330106: h2, h3, h4. 330100 adds its own h6; 330200 counts 330203's h5; 330000 counts all five.
    const aug330106 = {
      received: 3,
      followups: 3,
      contacted: 3,
      resolved: 2,
      satisfied: 1,
      basically: 1,
      unsatisfied: 1,
    };
    const aug330100 = { ...aug330106, received: 4, followups: 4 };
    const ningbo = { received: 1 };
    const expected = [
      hotlineRow('month 2026-07 330000', h1),
      hotlineRow('month 2026-07 330100', h1),
      hotlineRow('month 2026-07 330102', h1),
      hotlineRow('month 2026-07 330106', zero),
      hotlineRow('month 2026-07 330200', zero),
      hotlineRow('month 2026-07 330203', zero),
      hotlineRow('month 2026-08 330000', { ...aug330100, received: 5 }),
      hotlineRow('month 2026-08 330100', aug330100),
      hotlineRow('month 2026-08 330102', zero),
      hotlineRow('month 2026-08 330106', aug330106),
      hotlineRow('month 2026-08 330200', ningbo),
      hotlineRow('month 2026-08 330203', ningbo),
      // 杭州 Q3 resolution: July 1/1, August 2/4 — the mean of the months would be 0.75; its records give 3/5.
      hotlineRow('quarter 2026-Q3 330000', {
        received: 6,
        followups: 5,
        contacted: 4,
        resolved: 3,
        satisfied: 2,
        basically: 1,
        unsatisfied: 1,
      }),
      hotlineRow('quarter 2026-Q3 330100', {
        received: 5,
        followups: 5,
        contacted: 4,
        resolved: 3,
        satisfied: 2,
        basically: 1,
        unsatisfied: 1,
      }),
      hotlineRow('quarter 2026-Q3 330102', h1),
      hotlineRow('quarter 2026-Q3 330106', aug330106),
      hotlineRow('quarter 2026-Q3 330200', ningbo),
      hotlineRow('quarter 2026-Q3 330203', ningbo),
    ];
    const rows = await query()(allRows(`grain in ('month', 'quarter')`));
    expect(rows).toEqual(expected);
    const hangzhouQ3 = rows.find((r) => r.grain === 'quarter' && r.region_code === '330100');
    expect(hangzhouQ3).toMatchObject({ resolved_count: 3, followup_count: 5, resolution_rate: 0.6 });
    // Zero follow-ups in 宁波 (a case received, not yet visited): rates NULL, response within 2 h 0 of 1.
    expect(rows.find((r) => r.period === '2026-08' && r.region_code === '330200')).toMatchObject({
      received_count: 1,
      response_2h_rate: 0,
      followup_count: 0,
      response_rate: null,
      resolution_rate: null,
      satisfaction_rate: null,
      composite_score: null,
      on_time_rate: null,
    });
  });

  it('breaks a region and period down by category level 1 and 2, channel and request type, one row per value received', async () => {
    const cols = `breakdown, breakdown_value, received_count, followup_count, contacted_count, resolved_count,
      satisfied_count, basically_satisfied_count, unsatisfied_count`;
    const b = (breakdown: string, breakdown_value: string, c: Partial<Counts>) => {
      const n = { ...zero, ...c };
      return {
        breakdown,
        breakdown_value,
        received_count: n.received,
        followup_count: n.followups,
        contacted_count: n.contacted,
        resolved_count: n.resolved,
        satisfied_count: n.satisfied,
        basically_satisfied_count: n.basically,
        unsatisfied_count: n.unsatisfied,
      };
    };
    const h2 = { received: 1, followups: 1, contacted: 1, unsatisfied: 1 };
    const h3 = { received: 1, followups: 1, contacted: 1, resolved: 1, satisfied: 1 };
    const h4 = { received: 1, followups: 1, contacted: 1, resolved: 1, basically: 1 };
    const h6 = { received: 1, followups: 1 };
    const water = { received: 2, followups: 2, contacted: 2, resolved: 2, satisfied: 1, basically: 1 };
    expect(
      await query()(
        `select ${cols} from mart_hotline where grain = 'month' and period = '2026-08' and region_code = '330100'
         order by breakdown, breakdown_value`,
      ),
    ).toEqual([
      b('all', 'all', {
        received: 4,
        followups: 4,
        contacted: 3,
        resolved: 2,
        satisfied: 1,
        basically: 1,
        unsatisfied: 1,
      }),
      b('category_l1', '交通出行', h6),
      b('category_l1', '公共服务', water),
      b('category_l1', '城市管理', h2),
      b('category_l2', '交通出行', h6),
      b('category_l2', '公共服务/供水', water),
      b('category_l2', '城市管理/街面秩序', h2),
      b('channel', 'app', h3),
      b('channel', 'phone', h6),
      b('channel', 'web', h2),
      b('channel', 'wechat', h4),
      b('request_type', 'complaint', h3),
      b('request_type', 'consult', h2),
      b('request_type', 'help', h4),
      b('request_type', 'suggestion', h6),
    ]);
    // The province's quarter: 城市管理 from 330102 (h1), 330106 (h2) and 330203 (h5).
    expect(
      await query()(
        `select ${cols} from mart_hotline
         where grain = 'quarter' and region_code = '330000' and breakdown = 'category_l1' order by breakdown_value`,
      ),
    ).toEqual([
      b('category_l1', '交通出行', h6),
      b('category_l1', '公共服务', water),
      b('category_l1', '城市管理', {
        received: 3,
        followups: 2,
        contacted: 2,
        resolved: 1,
        satisfied: 1,
        unsatisfied: 1,
      }),
    ]);
    // A region and period without cases has its all row only.
    expect(
      await query()(
        `select breakdown from mart_hotline where grain = 'month' and period = '2026-08' and region_code = '330102'`,
      ),
    ).toEqual([{ breakdown: 'all' }]);
  });
});

describe('mart_hotline in a period open at the data cut-off', () => {
  // The build runs on 16 August 2026 at 10:00 Asia/Shanghai: the cut-off is that day's 00:00 (15 August 16:00 UTC),
  // so August counts 1–15 August and the 16th counts nothing.
  const cutoff = '2026-08-15T16:00:00.000Z';
  const query = fixture({
    regionCode: '330102',
    now: new Date('2026-08-16T10:00:00+08:00'),
    lake: {
      hotline_case: [
        // July is over: one case, answered in 1 h, visited and resolved.
        hotline({
          case_id: 'o0',
          received_at: '2026-07-31T02:00:00Z',
          status: 'closed',
          responded_at: '2026-07-31T03:00:00Z',
          contacted: true,
          resolved: true,
          satisfaction: 'satisfied',
        }),
        // o1: answered in 1 h, closed before its deadline (13 August), visited.
        hotline({
          case_id: 'o1',
          received_at: '2026-08-10T02:00:00Z',
          status: 'closed',
          responded_at: '2026-08-10T03:00:00Z',
          closed_at: '2026-08-12T02:00:00Z',
          deadline_at: '2026-08-13T02:00:00Z',
          contacted: true,
          resolved: false,
          satisfaction: 'basically_satisfied',
        }),
        // o2: 15 August 23:00, answered 1.5 h later — at 00:30 on the build's day, after the cut-off: not yet.
        // Its deadline (18 August) has not come.
        hotline({
          case_id: 'o2',
          received_at: '2026-08-15T15:00:00Z',
          status: 'dispatched',
          responded_at: '2026-08-15T16:30:00Z',
          deadline_at: '2026-08-18T02:00:00Z',
        }),
        // o3: received on the build's day: counts nowhere yet.
        hotline({
          case_id: 'o3',
          received_at: '2026-08-16T01:00:00Z',
          status: 'received',
          deadline_at: '2026-08-17T01:00:00Z',
        }),
        // o4: due 15 August 18:00, the last counted day, still open: due, not on time.
        hotline({
          case_id: 'o4',
          received_at: '2026-08-01T02:00:00Z',
          status: 'handling',
          responded_at: '2026-08-01T02:30:00Z',
          deadline_at: '2026-08-15T10:00:00Z',
        }),
      ],
    },
  });

  it('counts only the days before the cut-off and marks the running month, quarter and year incomplete', async () => {
    const open = (counted_end: string) => ({ open: { counted_end, data_cutoff: cutoff } });
    const august = { received: 3, within2h: 2, followups: 1, contacted: 1, basically: 1, due: 2, onTime: 1 };
    const o0 = { received: 1, within2h: 1, followups: 1, contacted: 1, resolved: 1, satisfied: 1 };
    const toDate = { ...august, received: 4, within2h: 3, followups: 2, contacted: 2, resolved: 1, satisfied: 1 };
    expect(await query()(allRows(`grain <> 'day'`))).toEqual([
      hotlineRow('month 2026-07 330102', o0, { cutoff }),
      hotlineRow('month 2026-08 330102', august, open('2026-08-15')),
      hotlineRow('quarter 2026-Q3 330102', toDate, open('2026-08-15')),
      hotlineRow('year 2026 330102', toDate, open('2026-08-15')),
    ]);
    expect(await query()(allRows(`grain = 'day' and period >= '2026-08-15'`))).toEqual([
      hotlineRow('day 2026-08-15 330102', { received: 1, due: 1 }, { cutoff }),
      // The build's own day is not over: nothing counted, its counted end before its start.
      hotlineRow('day 2026-08-16 330102', zero, open('2026-08-15')),
    ]);
  });
});
