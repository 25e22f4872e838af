/**
 * Ground truth of `mart_data_sharing` (per region) and its drill-down `mart_resource_sharing` (per resource), from the
 * data-resource catalog and the deliveries the simulator plans (never from the lake or SQL), implementing
 * docs/indicators.md "Data-sharing rate". Both come from one evaluation of each resource in each period, so a
 * region's counts are exactly its resources' flags counted.
 */
import type { DataResource, Region } from '../../schemas/index.js';
import {
  type CountedPeriod,
  periodDates,
  periodRegionCell,
  rate,
  regionPrefix,
  spanPeriods,
  type TruthFrame,
} from './ground-truth-frame.js';
import { anyIn } from './ground-truth-index.js';
import { dayOf, dayOfDate, type Grain, type Period, periodContaining, periodsIntersecting, weekdayOf } from './time.js';
import type { DataSharingRow, DeliveryFact, DemoCity } from './types.js';

export const TARGET_RATE = 0.9;
const meets = (r: number | null): boolean | null => (r === null ? null : r >= TARGET_RATE);

/** A period of the sharing marts (month, quarter, year) as counted at the cut-off. */
export type SharingPeriod = CountedPeriod & { grain: Grain };

/** Data sharing is defined per month, quarter and year. */
export function sharingPeriods(frame: TruthFrame): SharingPeriod[] {
  // spanPeriods keeps the grains it is given: these have no day.
  return spanPeriods(frame, ['month', 'quarter', 'year']) as SharingPeriod[];
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

const inForce = (v: Validity, p: Pick<Period, 'start' | 'end'>) => v.from <= p.end && v.to >= p.start;

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
function sharingWindow(r: DataResource, p: Pick<Period, 'start' | 'end'>): [number, number] {
  if (r.update_frequency !== 'quarterly' && r.update_frequency !== 'yearly') return [p.start, p.end];
  const c = periodContaining(r.update_frequency === 'quarterly' ? 'quarter' : 'year', p.end);
  return [Math.min(p.start, c.start), Math.max(p.end, c.end)];
}

type Delivery = DeliveryFact & { day: number };

/** The landed deliveries, by resource code and all together, each with its Asia/Shanghai day. */
class Deliveries {
  readonly all: Delivery[];
  /** resource → its deliveries. */
  readonly byResource = new Map<string, Delivery[]>();
  /** resource → sorted days of its deliveries with at least one valid record. */
  readonly validDays = new Map<string, number[]>();
  /** resource → the day of its first delivery of any kind. */
  readonly firstDay = new Map<string, number>();

  constructor(city: DemoCity) {
    this.all = city.plan.facts.dept_delivery.map((d) => ({ ...d, day: dayOf(d.delivered_at_ms) }));
    for (const d of this.all) {
      const list = this.byResource.get(d.resource_code);
      if (list) list.push(d);
      else this.byResource.set(d.resource_code, [d]);
      if (d.valid_count >= 1) {
        const days = this.validDays.get(d.resource_code);
        if (days) days.push(d.day);
        else this.validDays.set(d.resource_code, [d.day]);
      }
      this.firstDay.set(d.resource_code, Math.min(this.firstDay.get(d.resource_code) ?? d.day, d.day));
    }
    for (const days of this.validDays.values()) days.sort((a, b) => a - b);
  }
}

/** One catalog resource in force in one period, judged as docs/indicators.md defines it. */
interface ResourceStatus {
  /** Counts in the period's required_count: shareable, and in an open period only once shared or due. */
  required: boolean;
  shared: boolean;
  due: boolean;
  onTime: boolean;
  hooked: boolean;
}

function resourceStatus(r: DataResource, v: Validity, p: CountedPeriod, deliveries: Deliveries): ResourceStatus {
  const days = deliveries.validDays.get(r.resource_code);
  const [windowStart, windowEnd] = sharingWindow(r, p);
  const shared = anyIn(days, windowStart, windowEnd);
  const instances = dueInstances(r, v, p);
  const due = instances.length > 0;
  const first = deliveries.firstDay.get(r.resource_code);
  return {
    // An open period has not missed a resource that is neither shared nor due yet.
    required: r.share_type !== 'not_shared' && (p.isComplete || shared || due),
    shared,
    due,
    onTime: due && instances.every(([s, e]) => anyIn(days, s, e)),
    hooked: first !== undefined && first <= p.end,
  };
}

/** Every catalog resource in force in each sharing period, with its status there. */
function evaluated(city: DemoCity, frame: TruthFrame, deliveries: Deliveries) {
  const resources = city.catalogs.data_resources.map((r) => ({ r, v: validity(r) }));
  return sharingPeriods(frame).map((p) => ({
    p,
    resources: resources
      .filter(({ v }) => inForce(v, p))
      .map(({ r, v }) => ({ r, status: resourceStatus(r, v, p, deliveries) })),
  }));
}

export function dataSharingTruth(city: DemoCity, frame: TruthFrame): DataSharingRow[] {
  const deliveries = new Deliveries(city);
  const rows: DataSharingRow[] = [];
  for (const { p, resources } of evaluated(city, frame, deliveries)) {
    for (const region of frame.scope) rows.push(sharingRow(p, region, frame, resources, deliveries));
  }
  return rows;
}

function sharingRow(
  p: SharingPeriod,
  region: Region,
  frame: TruthFrame,
  resources: { r: DataResource; status: ResourceStatus }[],
  deliveries: Deliveries,
): DataSharingRow {
  const pre = regionPrefix(region);
  const mine = resources.filter(({ r, status }) => status.required && r.region_code.startsWith(pre));
  const count = (flag: keyof ResourceStatus) => mine.filter(({ status }) => status[flag]).length;
  const required = mine.length;
  const shared = count('shared');
  const due = count('due');
  const onTime = count('onTime');
  const hooked = count('hooked');
  // Quality counts deliveries by their own region, whatever the resource, dated in P.
  let received = 0;
  let valid = 0;
  for (const d of deliveries.all) {
    if (d.region_code.startsWith(pre) && d.day >= p.start && d.day <= p.end) {
      received += d.record_count;
      valid += d.valid_count;
    }
  }
  const sharingRate = rate(shared, required);
  return {
    ...periodRegionCell(frame, p, region),
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
}

export interface ResourceSharingRow {
  grain: Grain;
  period: string;
  period_start: string;
  period_end: string;
  is_complete: boolean;
  data_cutoff: string;
  resource_code: string;
  resource_name: string;
  department_code: string;
  region_code: string;
  share_type: string;
  update_frequency: string;
  is_required: boolean;
  /** The flags of a required resource; null when it is not required in P. */
  is_shared: boolean | null;
  is_due: boolean | null;
  is_on_time: boolean | null;
  is_hooked: boolean | null;
  deliveries: number;
  received_records: number;
  valid_records: number;
  /** ISO 8601 UTC, as the marts return TIMESTAMPTZ. */
  last_delivered_at: string | null;
}

/** One row per period and catalog resource within the hub's scope in force in it, whatever its share type. */
export function resourceSharingTruth(city: DemoCity, frame: TruthFrame): ResourceSharingRow[] {
  const deliveries = new Deliveries(city);
  const prefixes = frame.scope.map(regionPrefix);
  const inScope = (r: DataResource) => prefixes.some((pre) => r.region_code.startsWith(pre));
  const rows: ResourceSharingRow[] = [];
  for (const { p, resources } of evaluated(city, frame, deliveries)) {
    for (const { r, status } of resources) {
      if (inScope(r)) rows.push(resourceRow(p, r, status, frame, deliveries.byResource.get(r.resource_code) ?? []));
    }
  }
  return rows;
}

function resourceRow(
  p: SharingPeriod,
  r: DataResource,
  status: ResourceStatus,
  frame: TruthFrame,
  delivered: readonly Delivery[],
): ResourceSharingRow {
  const flag = (value: boolean) => (status.required ? value : null);
  // Its deliveries of P's counted days; its last delivery dated up to P.end that has happened at the cut-off.
  const counted = delivered.filter((d) => d.day >= p.start && d.day <= p.countedEnd);
  let last: number | null = null;
  for (const d of delivered) {
    if (d.day <= p.end && d.delivered_at_ms < frame.cutoffMs && (last === null || d.delivered_at_ms > last)) {
      last = d.delivered_at_ms;
    }
  }
  return {
    grain: p.grain,
    period: p.period,
    ...periodDates(p),
    is_complete: p.isComplete,
    data_cutoff: frame.data_cutoff,
    resource_code: r.resource_code,
    resource_name: r.name,
    department_code: r.department_code,
    region_code: r.region_code,
    share_type: r.share_type,
    update_frequency: r.update_frequency,
    is_required: status.required,
    is_shared: flag(status.shared),
    is_due: flag(status.due),
    is_on_time: flag(status.onTime),
    is_hooked: flag(status.hooked),
    deliveries: counted.length,
    received_records: counted.reduce((n, d) => n + d.record_count, 0),
    valid_records: counted.reduce((n, d) => n + d.valid_count, 0),
    last_delivered_at: last === null ? null : new Date(last).toISOString(),
  };
}
