/**
 * Ground truth of the marts, computed from the simulator's own plan of valid records (never from SQL), implementing
 * docs/indicators.md literally. Decisions where the text leaves room are listed in README.md ("Ground truth").
 * The data cut-off is an input, like the build's `now`: periods still running at it count only the days before it.
 */
import {
  type DataResource,
  type Device,
  type Region,
  type Scenario,
  scenarioCoversRegion,
} from '../../schemas/index.js';
import { registrationDays } from './catalogs.js';
import { type EventClosureRow, eventClosureTruth } from './ground-truth-events.js';
import { DEFAULT_HUB_REGION, regionPrefix, type TruthFrame, truthFrame } from './ground-truth-frame.js';
import { type HotlineRow, hotlineTruth } from './ground-truth-hotline.js';
import { type SensorHealthRow, sensorHealthTruth } from './ground-truth-sensors.js';
import { dayOf, dayOfDate, type Grain, type Period, periodContaining, periodsIntersecting, weekdayOf } from './time.js';
import {
  type DataSharingRow,
  type DemoCity,
  type Feed,
  type FeedCounts,
  feeds,
  type GroundTruth,
  type ScenarioCoverageRow,
  type ScenarioStatusRow,
} from './types.js';

export type { EventClosureRow, HotlineRow, SensorHealthRow };
export { DEFAULT_HUB_REGION, regionPrefix };

export const TARGET_RATE = 0.9;
const grains: Grain[] = ['month', 'quarter', 'year'];
const statusRank: Record<string, number> = {
  reported: 0,
  registered: 1,
  dispatched: 2,
  handled: 3,
  verified: 4,
  closed: 5,
  cancelled: 6,
};

const rate = (num: number, den: number): number | null => (den === 0 ? null : num / den);
const meets = (r: number | null): boolean | null => (r === null ? null : r >= TARGET_RATE);

/** Index of the first element >= x in a sorted array. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a sorted day list has a day in [start, end]. */
function anyIn(sorted: readonly number[] | undefined, start: number, end: number): boolean {
  if (!sorted) return false;
  const i = lowerBound(sorted, start);
  return i < sorted.length && sorted[i]! <= end;
}

/** key → region → sorted distinct days. */
type DayIndex = Map<string, Map<string, number[]>>;

function buildIndex<T>(rows: readonly T[], key: (r: T) => string, region: (r: T) => string, day: (r: T) => number) {
  const sets = new Map<string, Map<string, Set<number>>>();
  for (const row of rows) {
    const k = key(row);
    let byRegion = sets.get(k);
    if (!byRegion) {
      byRegion = new Map();
      sets.set(k, byRegion);
    }
    const reg = region(row);
    let days = byRegion.get(reg);
    if (!days) {
      days = new Set();
      byRegion.set(reg, days);
    }
    days.add(day(row));
  }
  const index: DayIndex = new Map();
  for (const [k, byRegion] of sets) {
    index.set(k, new Map([...byRegion].map(([reg, days]) => [reg, [...days].sort((a, b) => a - b)])));
  }
  return index;
}

/** Any row of `key` within the region prefix with a day in [start, end]. */
function anyWithin(index: DayIndex, key: string, prefix: string, start: number, end: number): boolean {
  for (const [reg, days] of index.get(key) ?? []) if (reg.startsWith(prefix) && anyIn(days, start, end)) return true;
  return false;
}

export interface GroundTruthOptions {
  /**
   * The build's "now" (default: the clock), as `runModels({ now })`: its Asia/Shanghai day is the cut-off day, the
   * first day not counted. Pass the marts' own `data_cutoff` to get the truth of a finished build.
   */
  now?: Date;
}

/** A period as counted at the cut-off: `countedEnd` is its last counted day (before `start` when none is over). */
interface CountedPeriod extends Period {
  isComplete: boolean;
  countedEnd: number;
}

function countedAt(p: Period, cutoffDay: number): CountedPeriod {
  return { ...p, isComplete: p.end < cutoffDay, countedEnd: Math.min(p.end, cutoffDay - 1) };
}

interface Validity {
  from: number;
  to: number;
}

function validity(r: DataResource): Validity {
  return {
    from: r.valid_from ? dayOfDate(r.valid_from) : Number.NEGATIVE_INFINITY,
    to: r.valid_to ? dayOfDate(r.valid_to) : Number.POSITIVE_INFINITY,
  };
}

/**
 * The resource's cycle instances due in P: last day inside P's counted days (an instance still running at the
 * cut-off is not due yet) and inside the validity.
 */
function dueInstances(r: DataResource, v: Validity, p: CountedPeriod): [number, number][] {
  const out: [number, number][] = [];
  const due = (last: number) => last >= p.start && last <= p.countedEnd && v.from <= last && last <= v.to;
  switch (r.update_frequency) {
    case 'realtime':
    case 'daily':
      for (let d = p.start; d <= p.countedEnd; d++) if (due(d)) out.push([d, d]);
      break;
    case 'weekly':
      for (let sunday = p.start + ((6 - weekdayOf(p.start) + 7) % 7); sunday <= p.end; sunday += 7) {
        if (due(sunday)) out.push([sunday - 6, sunday]);
      }
      break;
    default: {
      const grain: Grain =
        r.update_frequency === 'monthly' ? 'month' : r.update_frequency === 'quarterly' ? 'quarter' : 'year';
      for (const c of periodsIntersecting(grain, p.start, p.end)) if (due(c.end)) out.push([c.start, c.end]);
    }
  }
  return out;
}

/** P itself, or for quarterly/yearly resources P extended to the quarter/year that contains P.end. */
function sharingWindow(r: DataResource, p: Period): [number, number] {
  if (r.update_frequency !== 'quarterly' && r.update_frequency !== 'yearly') return [p.start, p.end];
  const c = periodContaining(r.update_frequency === 'quarterly' ? 'quarter' : 'year', p.end);
  return [Math.min(p.start, c.start), Math.max(p.end, c.end)];
}

export function expectedCounts(city: DemoCity): Record<Feed, FeedCounts> {
  const out = Object.fromEntries(feeds.map((f) => [f, { received: 0, landed: 0, dead_lettered: 0 }])) as Record<
    Feed,
    FeedCounts
  >;
  for (const m of city.plan.messages) {
    const c = out[m.feed];
    c.received += m.units;
    c.landed += m.landed;
    c.dead_lettered += m.units - m.landed;
  }
  // Delivery files reach raw.dept through a dept-files connector and count by the same rules.
  for (const f of city.plan.deptFiles) {
    out.dept.received += f.units;
    out.dept.landed += f.landed;
    out.dept.dead_lettered += f.units - f.landed;
  }
  return out;
}

/** The ground truth of every mart the demo checks: the marts with a day grain have their own modules. */
export interface DemoGroundTruth extends GroundTruth {
  /** `mart_hotline`, breakdown 'all' (ground-truth-hotline.ts). */
  hotline: HotlineRow[];
  /** `mart_event_closure`, breakdown 'all' (ground-truth-events.ts). */
  event_closure: EventClosureRow[];
  /** `mart_sensor_health`, device_type 'all' (ground-truth-sensors.ts). */
  sensor_health: SensorHealthRow[];
}

export function groundTruth(city: DemoCity, options: GroundTruthOptions = {}): DemoGroundTruth {
  const frame = truthFrame(city, options.now ?? new Date());
  return {
    ...sharingAndCoverageTruth(city, frame),
    hotline: hotlineTruth(city, frame),
    event_closure: eventClosureTruth(city, frame),
    sensor_health: sensorHealthTruth(city, frame),
  };
}

function sharingAndCoverageTruth(city: DemoCity, frame: TruthFrame): GroundTruth {
  const { catalogs, plan } = city;
  const { cutoffDay, data_cutoff, scope } = frame;
  const facts = plan.facts;
  const expected = expectedCounts(city);

  // Data span: earliest to latest event date over every landed row.
  const eventDays = [
    ...facts.sensor_reading.map((r) => r.observed_at_ms),
    ...facts.video_alert.map((r) => r.occurred_at_ms),
    ...facts.hotline_case.map((r) => r.received_at_ms),
    ...facts.city_event.map((r) => r.reported_at_ms),
    ...facts.dept_delivery.map((r) => r.delivered_at_ms),
  ].map(dayOf);
  if (eventDays.length === 0) return { data_sharing: [], scenario_coverage: [], scenario_status: [], expected };
  let spanStart = eventDays[0]!;
  let spanEnd = eventDays[0]!;
  for (const d of eventDays) {
    if (d < spanStart) spanStart = d;
    if (d > spanEnd) spanEnd = d;
  }
  const periods = grains.flatMap((g) => periodsIntersecting(g, spanStart, spanEnd)).map((p) => countedAt(p, cutoffDay));

  // Deliveries.
  const deliveries = facts.dept_delivery.map((d) => ({ ...d, day: dayOf(d.delivered_at_ms) }));
  const sharedDays = new Map<string, number[]>(); // resource → sorted days of deliveries with valid records
  const firstDelivery = new Map<string, number>(); // resource → first day of any delivery
  for (const d of deliveries) {
    if (d.valid_count >= 1) {
      const days = sharedDays.get(d.resource_code);
      if (days) days.push(d.day);
      else sharedDays.set(d.resource_code, [d.day]);
    }
    firstDelivery.set(d.resource_code, Math.min(firstDelivery.get(d.resource_code) ?? d.day, d.day));
  }
  for (const days of sharedDays.values()) days.sort((a, b) => a - b);
  const validDeliveries = buildIndex(
    deliveries.filter((d) => d.valid_count >= 1),
    (d) => d.resource_code,
    (d) => d.region_code,
    (d) => d.day,
  );

  // Feeds the scenario conditions read.
  const sensorIndex = buildIndex(
    facts.sensor_reading,
    (r) => r.device_type,
    (r) => r.region_code,
    (r) => dayOf(r.observed_at_ms),
  );
  const videoIndex = buildIndex(
    facts.video_alert,
    (r) => r.event_type,
    (r) => r.region_code,
    (r) => dayOf(r.occurred_at_ms),
  );
  const hotlineIndex: DayIndex = new Map();
  for (const c of new Set(catalogs.scenarios.flatMap((s) => s.required_hotline_categories))) {
    const rows = facts.hotline_case.filter((h) => h.category.startsWith(c));
    hotlineIndex.set(
      c,
      buildIndex(
        rows,
        () => c,
        (r) => r.region_code,
        (r) => dayOf(r.received_at_ms),
      ).get(c) ?? new Map(),
    );
  }
  const onlineDays = new Map<string, Set<number>>();
  for (const r of facts.sensor_reading) {
    let days = onlineDays.get(r.device_id);
    if (!days) {
      days = new Set();
      onlineDays.set(r.device_id, days);
    }
    days.add(dayOf(r.observed_at_ms));
  }
  // Latest snapshot per city event: greatest status rank (no event has two snapshots of one status).
  const latest = new Map<string, (typeof facts.city_event)[number]>();
  for (const e of facts.city_event) {
    const seen = latest.get(e.event_id);
    if (!seen || statusRank[e.status]! > statusRank[seen.status]!) latest.set(e.event_id, e);
  }
  const closedLoops = [...latest.values()]
    .filter((e) => (e.source_kind === 'video' || e.source_kind === 'sensor') && e.closed_at_ms !== null)
    .map((e) => ({ event_class: e.event_class, region_code: e.region_code, day: dayOf(e.closed_at_ms!) }));

  const resources = catalogs.data_resources.map((r) => ({ r, v: validity(r) }));

  const sharingRow = (p: CountedPeriod, region: Region): DataSharingRow => {
    const pre = regionPrefix(region);
    let required = 0;
    let shared = 0;
    let due = 0;
    let onTime = 0;
    let hooked = 0;
    for (const { r, v } of resources) {
      if (!r.region_code.startsWith(pre) || r.share_type === 'not_shared') continue;
      if (!(v.from <= p.end && v.to >= p.start)) continue;
      const days = sharedDays.get(r.resource_code);
      const [ws, we] = sharingWindow(r, p);
      const isShared = anyIn(days, ws, we);
      const instances = dueInstances(r, v, p);
      // An open period has not missed a resource that is neither shared nor due yet.
      if (!p.isComplete && !isShared && instances.length === 0) continue;
      required++;
      if (isShared) shared++;
      if (instances.length > 0) {
        due++;
        if (instances.every(([s, e]) => anyIn(days, s, e))) onTime++;
      }
      const first = firstDelivery.get(r.resource_code);
      if (first !== undefined && first <= p.end) hooked++;
    }
    let received = 0;
    let valid = 0;
    for (const d of deliveries) {
      if (d.region_code.startsWith(pre) && d.day >= p.start && d.day <= p.end) {
        received += d.record_count;
        valid += d.valid_count;
      }
    }
    const sharingRate = rate(shared, required);
    return {
      grain: p.grain,
      period: p.period,
      is_complete: p.isComplete,
      data_cutoff,
      region_code: region.code,
      region_level: region.level,
      required_count: required,
      shared_count: shared,
      sharing_rate: sharingRate,
      due_count: due,
      on_time_count: onTime,
      timeliness_rate: rate(onTime, due),
      received_records: received,
      valid_records: valid,
      quality_rate: rate(valid, received),
      hooked_count: hooked,
      hookup_rate: rate(hooked, required),
      target_rate: TARGET_RATE,
      meets_target: meets(sharingRate),
    };
  };

  const statusRow = (p: CountedPeriod, s: Scenario, region: Region): ScenarioStatusRow => {
    const pre = regionPrefix(region);
    const failed: string[] = [];
    for (const t of s.required_device_types) {
      if (!anyWithin(sensorIndex, t, pre, p.start, p.end)) failed.push(`no_sensor_data:${t}`);
    }
    for (const e of s.required_video_event_types) {
      if (!anyWithin(videoIndex, e, pre, p.start, p.end)) failed.push(`no_video_alerts:${e}`);
    }
    for (const c of s.required_hotline_categories) {
      const byRegion = hotlineIndex.get(c) ?? new Map<string, number[]>();
      if (!anyWithin(new Map([[c, byRegion]]), c, pre, p.start, p.end)) failed.push(`no_hotline_cases:${c}`);
    }
    for (const k of s.required_resources) {
      if (!anyWithin(validDeliveries, k, pre, p.start, p.end)) failed.push(`no_resource_delivery:${k}`);
    }
    const { online, registered } = deviceDays(catalogs.devices, s.required_device_types, pre, p, onlineDays);
    const onlineRate = rate(online, registered);
    if (s.min_online_rate !== undefined && s.required_device_types.length > 0) {
      if (registered === 0) failed.push('no_registered_devices');
      else if (onlineRate! < s.min_online_rate) failed.push('online_rate_below_min');
    }
    if (s.closed_loop) {
      const closed = closedLoops.some(
        (e) =>
          s.event_classes.includes(e.event_class) &&
          e.region_code.startsWith(pre) &&
          e.day >= p.start &&
          e.day <= p.end,
      );
      if (!closed) failed.push('no_closed_loop');
    }
    failed.sort(byCodePoint);
    return {
      grain: p.grain,
      period: p.period,
      is_complete: p.isComplete,
      data_cutoff,
      scenario_code: s.scenario_code,
      scenario_name: s.name,
      dimension: s.dimension,
      region_code: region.code,
      is_covered: failed.length === 0,
      failed_conditions: failed,
      online_rate: onlineRate,
      online_device_days: online,
      registered_device_days: registered,
    };
  };

  const scenarios = [...catalogs.scenarios].sort((a, b) => byCodePoint(a.scenario_code, b.scenario_code));
  const pairs = scenarios.flatMap((s) =>
    scope.filter((r) => r.level === s.level && scenarioCoversRegion(s, r.code)).map((r) => ({ s, r })),
  );

  const data_sharing: DataSharingRow[] = [];
  const scenario_coverage: ScenarioCoverageRow[] = [];
  const scenario_status: ScenarioStatusRow[] = [];
  for (const p of periods) {
    const statuses = pairs.map(({ s, r }) => statusRow(p, s, r));
    scenario_status.push(...statuses);
    for (const region of scope) {
      data_sharing.push(sharingRow(p, region));
      const pre = regionPrefix(region);
      const mine = statuses.filter((st) => st.region_code.startsWith(pre));
      const covered = mine.filter((st) => st.is_covered).length;
      const coverageRate = rate(covered, mine.length);
      scenario_coverage.push({
        grain: p.grain,
        period: p.period,
        is_complete: p.isComplete,
        data_cutoff,
        region_code: region.code,
        region_level: region.level,
        applicable_count: mine.length,
        covered_count: covered,
        coverage_rate: coverageRate,
        target_rate: TARGET_RATE,
        meets_target: meets(coverageRate),
      });
    }
  }
  return { data_sharing, scenario_coverage, scenario_status, expected };
}

/**
 * Online and registered device-days over P's counted days of the registry's devices of the types, within the region
 * prefix.
 */
function deviceDays(
  devices: Device[],
  types: readonly string[],
  pre: string,
  p: CountedPeriod,
  onlineDays: Map<string, Set<number>>,
): { online: number; registered: number } {
  let online = 0;
  let registered = 0;
  for (const device of devices) {
    if (!types.includes(device.device_type) || !device.region_code.startsWith(pre)) continue;
    const reg = registrationDays(device);
    const from = Math.max(p.start, reg.from);
    const to = Math.min(p.countedEnd, reg.to);
    if (from > to) continue;
    registered += to - from + 1;
    for (const d of onlineDays.get(device.device_id) ?? []) if (d >= from && d <= to) online++;
  }
  return { online, registered };
}

/** Code-point order (= UTF-8 byte order = DuckDB's VARCHAR order). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
