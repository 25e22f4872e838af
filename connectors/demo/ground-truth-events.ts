/**
 * Ground truth of `mart_event_closure` — the total rows (breakdown 'all') and the breakdowns by event class and source
 * kind — from the city-event snapshots the simulator plans as valid messages (read from the plan, never from the lake
 * or SQL), implementing docs/indicators.md "City event closure".
 */
import { eventClassNames } from './codes.js';
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
import { dayOf } from './time.js';
import type { DemoCity } from './types.js';

type EventStatus = 'reported' | 'registered' | 'dispatched' | 'handled' | 'verified' | 'closed' | 'cancelled';

const statusOf: Record<string, EventStatus> = {
  上报: 'reported',
  立案: 'registered',
  派遣: 'dispatched',
  处置: 'handled',
  核查: 'verified',
  结案: 'closed',
  作废: 'cancelled',
};
/** Lifecycle stages in order (ranks 1–6); cancelled (7) outranks them all. */
const stages = ['reported', 'registered', 'dispatched', 'handled', 'verified', 'closed'] as const;
const statusRank: Record<EventStatus, number> = {
  reported: 1,
  registered: 2,
  dispatched: 3,
  handled: 4,
  verified: 5,
  closed: 6,
  cancelled: 7,
};
/** The source's time field of each stage. */
const timeFields = ['reportTime', 'registerTime', 'dispatchTime', 'handleTime', 'verifyTime', 'closeTime'] as const;

/** One planned snapshot of a city event in canonical terms (times as epoch ms; index = stage, 0 = reported). */
export interface EventSnapshot {
  event_id: string;
  status: EventStatus;
  source_kind: string;
  source_ref: string;
  event_class: string;
  region_code: string;
  grid_code: string | null;
  /** reported, registered, dispatched, handled, verified, closed: null where the snapshot lacks it. */
  times: (number | null)[];
  deadline_at_ms: number | null;
}

/** The valid city-event snapshots of the history, in emission order (what lands: re-sends are the same snapshot). */
export function plannedEventSnapshots(city: DemoCity): EventSnapshot[] {
  const out: EventSnapshot[] = [];
  for (const m of city.plan.messages) {
    if (m.feed !== 'event' || m.kind !== 'valid') continue;
    const o = JSON.parse(m.value) as Record<string, unknown>;
    const status = statusOf[String(o.status)];
    if (!status) throw new Error(`unplanned event status ${String(o.status)}`);
    out.push({
      event_id: String(o.caseId),
      status,
      source_kind: String(o.source),
      source_ref: String(o.sourceRef),
      event_class: String(o.eventClass),
      region_code: String(o.adcode),
      grid_code: typeof o.gridCode === 'string' ? o.gridCode : null,
      times: timeFields.map((f) => (typeof o[f] === 'string' ? shanghaiMs(o[f]) : null)),
      deadline_at_ms: typeof o.deadline === 'string' ? shanghaiMs(o.deadline) : null,
    });
  }
  return out;
}

/** One event as of the cut-off (docs/indicators.md "One event, once" and "Stages"). */
export interface EventAtCutoff {
  region_code: string;
  event_class: string;
  source_kind: string;
  reported_day: number;
  cancelled: boolean;
  registered: boolean;
  dispatched: boolean;
  handled: boolean;
  closed: boolean;
  handled_on_time: boolean;
  closed_on_time: boolean;
  has_deadline: boolean;
  handling_hours: number | null;
  closure_hours: number | null;
}

export function eventsAtCutoff(snapshots: readonly EventSnapshot[], cutoffMs: number): EventAtCutoff[] {
  const byEvent = new Map<string, EventSnapshot[]>();
  for (const s of snapshots) {
    const list = byEvent.get(s.event_id);
    if (list) list.push(s);
    else byEvent.set(s.event_id, [s]);
  }
  const out: EventAtCutoff[] = [];
  for (const list of byEvent.values()) {
    // Identity and status: the latest snapshot (greatest status rank; a later planned one on a tie).
    let latest = list[0]!;
    for (const s of list) if (statusRank[s.status] >= statusRank[latest.status]) latest = s;
    // Each timestamp and the deadline: the greatest value any snapshot carries.
    const max = (values: (number | null)[]) =>
      values.reduce<number | null>((a, v) => (v === null ? a : a === null ? v : Math.max(a, v)), null);
    const times = stages.map((_, k) => max(list.map((s) => s.times[k]!)));
    const deadline = max(list.map((s) => s.deadline_at_ms));
    const cancelled = latest.status === 'cancelled';
    const rank = statusRank[latest.status];
    // Stage k on its own: its timestamp decides when present, else the latest status.
    const stageOwn = stages.map((_, k) => (times[k] !== null ? times[k]! < cutoffMs : rank >= k + 1));
    const reachedFrom = (k: number) => !cancelled && stageOwn.slice(k).some(Boolean);
    const registered = reachedFrom(1);
    const dispatched = reachedFrom(2);
    // 核查 (verified) implies handled, as closed does.
    const handled = reachedFrom(3);
    const closed = !cancelled && stageOwn[5]!;
    const [reportedAt, , dispatchedAt, handledAt, , closedAt] = times;
    const before = (t: number | null | undefined): t is number => t !== null && t !== undefined && t < cutoffMs;
    out.push({
      region_code: latest.region_code,
      event_class: latest.event_class,
      source_kind: latest.source_kind,
      reported_day: dayOf(latest.times[0]!),
      cancelled,
      registered,
      dispatched,
      handled,
      closed,
      handled_on_time: handled && before(handledAt) && deadline !== null && handledAt <= deadline,
      closed_on_time: closed && before(closedAt) && deadline !== null && closedAt <= deadline,
      has_deadline: deadline !== null,
      handling_hours:
        handled && before(handledAt) && dispatchedAt !== null && dispatchedAt !== undefined
          ? (handledAt - dispatchedAt) / 3_600_000
          : null,
      closure_hours: closed && before(closedAt) ? (closedAt - reportedAt!) / 3_600_000 : null,
    });
  }
  return out;
}

export interface EventClosureRow {
  grain: MartGrain;
  period: string;
  period_start: string;
  period_end: string;
  is_complete: boolean;
  data_cutoff: string;
  region_code: string;
  region_level: string;
  breakdown: string;
  breakdown_value: string;
  /** The event class's name on event_class rows (the demo's class names), null otherwise. */
  breakdown_name: string | null;
  reported_count: number;
  cancelled_count: number;
  registered_count: number;
  to_handle_count: number;
  handled_count: number;
  handling_rate: number | null;
  handled_on_time_count: number;
  on_time_handling_rate: number | null;
  to_close_count: number;
  closed_count: number;
  closure_rate: number | null;
  closed_on_time_count: number;
  on_time_closure_rate: number | null;
  no_deadline_count: number;
  handling_timed_count: number;
  /** Sums (and averages) of DOUBLE hours: compare with a tolerance (summation order differs). */
  handling_hours_sum: number;
  handling_hours_avg: number | null;
  closure_timed_count: number;
  closure_hours_sum: number;
  closure_hours_avg: number | null;
}

const REPORTED = 0;
const CANCELLED = 1;
const REGISTERED = 2;
const TO_HANDLE = 3;
const HANDLED = 4;
const HANDLED_ON_TIME = 5;
const CLOSED = 6;
const CLOSED_ON_TIME = 7;
const NO_DEADLINE = 8;
const HANDLING_TIMED = 9;
const HANDLING_HOURS = 10;
const CLOSURE_TIMED = 11;
const CLOSURE_HOURS = 12;

const classNames = new Map(Object.entries(eventClassNames));

/** The groups an event counts in: the total, its event class and its source kind (of its latest snapshot). */
function eventGroups(e: EventAtCutoff): Group[] {
  return [ALL, { breakdown: 'event_class', value: e.event_class }, { breakdown: 'source_kind', value: e.source_kind }];
}

export function eventClosureTruth(city: DemoCity, frame: TruthFrame): EventClosureRow[] {
  const facts = new DayFacts(13);
  const add = DayFacts.add;
  for (const e of eventsAtCutoff(plannedEventSnapshots(city), frame.cutoffMs)) {
    const cells = facts.cells(e.reported_day, e.region_code, eventGroups(e));
    add(cells, REPORTED);
    if (e.cancelled) add(cells, CANCELLED);
    if (e.registered) add(cells, REGISTERED);
    if (e.dispatched) add(cells, TO_HANDLE);
    if (e.handled) add(cells, HANDLED);
    if (e.handled_on_time) add(cells, HANDLED_ON_TIME);
    if (e.closed) add(cells, CLOSED);
    if (e.closed_on_time) add(cells, CLOSED_ON_TIME);
    if (e.registered && !e.has_deadline) add(cells, NO_DEADLINE);
    if (e.handling_hours !== null) {
      add(cells, HANDLING_TIMED);
      add(cells, HANDLING_HOURS, e.handling_hours);
    }
    if (e.closure_hours !== null) {
      add(cells, CLOSURE_TIMED);
      add(cells, CLOSURE_HOURS, e.closure_hours);
    }
  }
  // A breakdown value has a row where at least one event of it, cancelled ones included, was reported.
  return facts.rows(
    frame,
    (n) => n[REPORTED]! > 0,
    (p, region, group, n) => eventRow(p, frame, region, group, n),
  );
}

function eventRow(
  p: CountedPeriod,
  frame: TruthFrame,
  region: { code: string; level: string },
  group: Group,
  n: number[],
): EventClosureRow {
  return {
    ...periodRegionCell(frame, p, region),
    ...periodDates(p),
    breakdown: group.breakdown,
    breakdown_value: group.value,
    breakdown_name: group.breakdown === 'event_class' ? (classNames.get(group.value) ?? null) : null,
    reported_count: n[REPORTED]!,
    cancelled_count: n[CANCELLED]!,
    registered_count: n[REGISTERED]!,
    to_handle_count: n[TO_HANDLE]!,
    handled_count: n[HANDLED]!,
    handling_rate: rate(n[HANDLED]!, n[TO_HANDLE]!),
    handled_on_time_count: n[HANDLED_ON_TIME]!,
    on_time_handling_rate: rate(n[HANDLED_ON_TIME]!, n[TO_HANDLE]!),
    to_close_count: n[REGISTERED]!,
    closed_count: n[CLOSED]!,
    closure_rate: rate(n[CLOSED]!, n[REGISTERED]!),
    closed_on_time_count: n[CLOSED_ON_TIME]!,
    on_time_closure_rate: rate(n[CLOSED_ON_TIME]!, n[REGISTERED]!),
    no_deadline_count: n[NO_DEADLINE]!,
    handling_timed_count: n[HANDLING_TIMED]!,
    handling_hours_sum: n[HANDLING_HOURS]!,
    handling_hours_avg: rate(n[HANDLING_HOURS]!, n[HANDLING_TIMED]!),
    closure_timed_count: n[CLOSURE_TIMED]!,
    closure_hours_sum: n[CLOSURE_HOURS]!,
    closure_hours_avg: rate(n[CLOSURE_HOURS]!, n[CLOSURE_TIMED]!),
  };
}
