/**
 * Ground truth of `mart_hotline` — the total rows (breakdown 'all') and the breakdowns by category level 1 and 2,
 * channel and request type — from the 12345 work-order versions the simulator plans as valid messages (read from the
 * plan, never from the lake or SQL), implementing docs/indicators.md "12345 hotline".
 */
import {
  ALL,
  type CountedPeriod,
  DayFacts,
  type Group,
  type MartGrain,
  periodDates,
  periodRegionCell,
  rate,
  shanghaiMs,
  type TruthFrame,
} from './ground-truth-frame.js';
import { dateOfDay, dayOf } from './time.js';
import type { DemoCity } from './types.js';

/** Defaults of config `models.indicators` (the demo sets none). */
export const HOTLINE_WEIGHTS = { response: 0.1, resolution: 0.5, satisfaction: 0.4 } as const;
export const BASICALLY_SATISFIED_WEIGHT = 0.9;

/** The hotline part of config `models.indicators`, in its own keys: what a build was given, defaults when absent. */
export interface HotlineSettings {
  hotline_weights?: { response?: number; resolution?: number; satisfaction?: number };
  basically_satisfied_weight?: number;
}

interface HotlineScoring {
  response: number;
  resolution: number;
  satisfaction: number;
  basicallySatisfied: number;
}

function scoring(settings: HotlineSettings): HotlineScoring {
  const w = settings.hotline_weights ?? {};
  return {
    response: w.response ?? HOTLINE_WEIGHTS.response,
    resolution: w.resolution ?? HOTLINE_WEIGHTS.resolution,
    satisfaction: w.satisfaction ?? HOTLINE_WEIGHTS.satisfaction,
    basicallySatisfied: settings.basically_satisfied_weight ?? BASICALLY_SATISFIED_WEIGHT,
  };
}

/** docs/feeds.md: the source's channel and request type codes in the canonical vocabulary. */
const channelOf = new Map([
  ['电话', 'phone'],
  ['网站', 'web'],
  ['APP', 'app'],
  ['微信', 'wechat'],
  ['其他', 'other'],
]);
const requestTypeOf = new Map([
  ['咨询', 'consult'],
  ['求助', 'help'],
  ['投诉', 'complaint'],
  ['举报', 'report'],
  ['建议', 'suggestion'],
  ['感谢', 'thanks'],
  ['其他', 'other'],
]);

function mapped(table: Map<string, string>, value: unknown, field: string): string {
  const canonical = table.get(String(value));
  if (canonical === undefined) throw new Error(`unplanned hotline ${field} ${String(value)}`);
  return canonical;
}

const statusOf: Record<string, HotlineStatus> = {
  受理: 'received',
  派单: 'dispatched',
  办理中: 'handling',
  办结: 'closed',
};
const statusRank: Record<HotlineStatus, number> = { received: 1, dispatched: 2, handling: 3, closed: 4 };
const satisfactionOf: Record<string, HotlineSatisfaction> = {
  满意: 'satisfied',
  基本满意: 'basically_satisfied',
  不满意: 'unsatisfied',
};

type HotlineStatus = 'received' | 'dispatched' | 'handling' | 'closed';
type HotlineSatisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

/** One planned version of a work order in canonical terms (times as epoch ms). */
export interface HotlineVersion {
  case_id: string;
  status: HotlineStatus;
  updated_at_ms: number | null;
  received_at_ms: number;
  channel: string;
  request_type: string;
  category: string;
  region_code: string;
  department_code: string | null;
  responded_at_ms: number | null;
  closed_at_ms: number | null;
  deadline_at_ms: number | null;
  contacted: boolean | null;
  resolved: boolean | null;
  satisfaction: HotlineSatisfaction | null;
}

const timeOrNull = (v: unknown): number | null => (typeof v === 'string' ? shanghaiMs(v) : null);

/**
 * The valid 12345 versions of the history, in emission order: what lands (an exact re-send is the same version, an
 * invalid message never lands), in the canonical vocabulary of schemas/hotline-case.ts.
 */
export function plannedHotlineVersions(city: DemoCity): HotlineVersion[] {
  const out: HotlineVersion[] = [];
  for (const m of city.plan.messages) {
    if (m.feed !== 'hotline' || m.kind !== 'valid') continue;
    const o = JSON.parse(m.value) as Record<string, unknown>;
    const visit = (o.visit ?? {}) as { contacted?: boolean; resolved?: boolean; satisfaction?: string };
    const status = statusOf[String(o.state)];
    if (!status) throw new Error(`unplanned hotline state ${String(o.state)}`);
    out.push({
      case_id: String(o.orderNo),
      status,
      updated_at_ms: timeOrNull(o.updateTime),
      received_at_ms: shanghaiMs(String(o.acceptTime)),
      channel: mapped(channelOf, o.channel, 'channel'),
      request_type: mapped(requestTypeOf, o.type, 'type'),
      category: String(o.category),
      region_code: String(o.street),
      department_code: typeof o.dept === 'string' ? o.dept : null,
      responded_at_ms: timeOrNull(o.replyTime),
      closed_at_ms: timeOrNull(o.finishTime),
      deadline_at_ms: timeOrNull(o.deadline),
      contacted: visit.contacted ?? null,
      resolved: visit.resolved ?? null,
      satisfaction: visit.satisfaction === undefined ? null : (satisfactionOf[visit.satisfaction] ?? null),
    });
  }
  return out;
}

/**
 * Each case in its latest state: one version per (case_id, status), the newest updated_at; of those the greatest
 * status rank, then the newest updated_at (a missing one is the oldest), then the last planned.
 */
export function latestHotlineCases(versions: readonly HotlineVersion[]): HotlineVersion[] {
  const latest = new Map<string, HotlineVersion>();
  for (const v of versions) {
    const seen = latest.get(v.case_id);
    const newer =
      !seen ||
      statusRank[v.status] > statusRank[seen.status] ||
      (statusRank[v.status] === statusRank[seen.status] &&
        (v.updated_at_ms ?? -Infinity) >= (seen.updated_at_ms ?? -Infinity));
    if (newer) latest.set(v.case_id, v);
  }
  return [...latest.values()];
}

/** The groups a case counts in: the total and its value of each breakdown (docs/indicators.md "Rows"). */
function hotlineGroups(c: HotlineVersion): Group[] {
  const segments = c.category.split('/');
  return [
    ALL,
    { breakdown: 'category_l1', value: segments[0]! },
    // A one-segment category is its own level 2.
    { breakdown: 'category_l2', value: segments.slice(0, 2).join('/') },
    { breakdown: 'channel', value: c.channel },
    { breakdown: 'request_type', value: c.request_type },
  ];
}

export interface HotlineRow {
  grain: MartGrain;
  period: string;
  period_start: string;
  period_end: string;
  is_complete: boolean;
  counted_end: string;
  data_cutoff: string;
  region_code: string;
  region_level: string;
  breakdown: string;
  breakdown_value: string;
  received_count: number;
  responded_within_2h_count: number;
  response_2h_rate: number | null;
  followup_count: number;
  contacted_count: number;
  response_rate: number | null;
  resolved_count: number;
  resolution_rate: number | null;
  satisfied_count: number;
  basically_satisfied_count: number;
  unsatisfied_count: number;
  satisfaction_score: number;
  satisfaction_rate: number | null;
  composite_score: number | null;
  due_count: number;
  closed_on_time_count: number;
  on_time_rate: number | null;
  weight_response: number;
  weight_resolution: number;
  weight_satisfaction: number;
  basically_satisfied_weight: number;
}

// Day-fact columns.
const RECEIVED = 0;
const WITHIN_2H = 1;
const FOLLOWUP = 2;
const CONTACTED = 3;
const RESOLVED = 4;
const SATISFIED = 5;
const BASICALLY = 6;
const UNSATISFIED = 7;
const DUE = 8;
const ON_TIME = 9;

const TWO_HOURS_MS = 2 * 3_600_000;

export function hotlineTruth(city: DemoCity, frame: TruthFrame, settings: HotlineSettings = {}): HotlineRow[] {
  const { cutoffMs } = frame;
  const weights = scoring(settings);
  const facts = new DayFacts(10);
  const add = DayFacts.add;
  for (const c of latestHotlineCases(plannedHotlineVersions(city))) {
    const groups = hotlineGroups(c);
    // Received, response and follow-up figures: by the received day.
    const received = facts.cells(dayOf(c.received_at_ms), c.region_code, groups);
    add(received, RECEIVED);
    if (
      c.responded_at_ms !== null &&
      c.responded_at_ms <= c.received_at_ms + TWO_HOURS_MS &&
      c.responded_at_ms < cutoffMs
    ) {
      add(received, WITHIN_2H);
    }
    if (c.contacted !== null || c.resolved !== null || c.satisfaction !== null) {
      add(received, FOLLOWUP);
      if (c.contacted === true) add(received, CONTACTED);
      if (c.resolved === true) add(received, RESOLVED);
      if (c.satisfaction === 'satisfied') add(received, SATISFIED);
      if (c.satisfaction === 'basically_satisfied') add(received, BASICALLY);
      if (c.satisfaction === 'unsatisfied') add(received, UNSATISFIED);
    }
    // Due and on-time figures: by the deadline day.
    if (c.deadline_at_ms !== null) {
      const due = facts.cells(dayOf(c.deadline_at_ms), c.region_code, groups);
      add(due, DUE);
      if (c.closed_at_ms !== null && c.closed_at_ms <= c.deadline_at_ms && c.closed_at_ms < cutoffMs) {
        add(due, ON_TIME);
      }
    }
  }
  return facts.rows(
    frame,
    (n) => n[RECEIVED]! > 0 || n[DUE]! > 0,
    (p, region, group, n) => hotlineRow(p, frame, region, group, n, weights),
  );
}

function hotlineRow(
  p: CountedPeriod,
  frame: TruthFrame,
  region: { code: string; level: string },
  group: Group,
  n: number[],
  weights: HotlineScoring,
): HotlineRow {
  const followup = n[FOLLOWUP]!;
  const score = n[SATISFIED]! + weights.basicallySatisfied * n[BASICALLY]!;
  const responseRate = rate(n[CONTACTED]!, followup);
  const resolutionRate = rate(n[RESOLVED]!, followup);
  const satisfactionRate = followup === 0 ? null : score / followup;
  return {
    ...periodRegionCell(frame, p, region),
    ...periodDates(p),
    counted_end: dateOfDay(p.countedEnd),
    breakdown: group.breakdown,
    breakdown_value: group.value,
    received_count: n[RECEIVED]!,
    responded_within_2h_count: n[WITHIN_2H]!,
    response_2h_rate: rate(n[WITHIN_2H]!, n[RECEIVED]!),
    followup_count: followup,
    contacted_count: n[CONTACTED]!,
    response_rate: responseRate,
    resolved_count: n[RESOLVED]!,
    resolution_rate: resolutionRate,
    satisfied_count: n[SATISFIED]!,
    basically_satisfied_count: n[BASICALLY]!,
    unsatisfied_count: n[UNSATISFIED]!,
    satisfaction_score: score,
    satisfaction_rate: satisfactionRate,
    composite_score:
      followup === 0
        ? null
        : weights.response * responseRate! +
          weights.resolution * resolutionRate! +
          weights.satisfaction * satisfactionRate!,
    due_count: n[DUE]!,
    closed_on_time_count: n[ON_TIME]!,
    on_time_rate: rate(n[ON_TIME]!, n[DUE]!),
    weight_response: weights.response,
    weight_resolution: weights.resolution,
    weight_satisfaction: weights.satisfaction,
    basically_satisfied_weight: weights.basicallySatisfied,
  };
}
