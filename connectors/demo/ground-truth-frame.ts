/**
 * What every mart's ground truth shares (docs/indicators.md "Common rules"): the data cut-off, the regions in the hub's
 * scope with their roll-up prefixes, the data span and its periods as counted at the cut-off, and day facts summed
 * into (period, region, group) cells by inclusive code-prefix roll-up.
 */
import type { Region } from '../../schemas/index.js';
import { dateOfDay, dayOf, dayStartMs, type Grain, periodsIntersecting } from './time.js';
import type { DemoCity } from './types.js';

export const DEFAULT_HUB_REGION = '330000';

/** The marts' grains: the sharing and coverage marts have no day rows, the hotline, event and sensor marts do. */
export type MartGrain = 'day' | Grain;

/** A period as counted at the cut-off: `countedEnd` is its last counted day (before `start` when none is over). */
export interface CountedPeriod {
  grain: MartGrain;
  period: string;
  start: number;
  end: number;
  isComplete: boolean;
  countedEnd: number;
}

export function countedAt(
  p: Pick<CountedPeriod, 'grain' | 'period' | 'start' | 'end'>,
  cutoffDay: number,
): CountedPeriod {
  return {
    grain: p.grain,
    period: p.period,
    start: p.start,
    end: p.end,
    isComplete: p.end < cutoffDay,
    countedEnd: Math.min(p.end, cutoffDay - 1),
  };
}

export function regionPrefix(region: Pick<Region, 'code' | 'level'>): string {
  return region.code.slice(0, region.level === 'province' ? 2 : region.level === 'city' ? 4 : 6);
}

function hubPrefix(regions: Region[], code: string): string {
  const hub = regions.find((r) => r.code === code);
  if (hub) return regionPrefix(hub);
  return code.endsWith('0000') ? code.slice(0, 2) : code.endsWith('00') ? code.slice(0, 4) : code;
}

export interface TruthFrame {
  /** The cut-off day: the build's Asia/Shanghai day, the first day not counted. */
  cutoffDay: number;
  /** 00:00 Asia/Shanghai of the cut-off day (epoch ms): an instant at or after it has not happened at the build. */
  cutoffMs: number;
  /** The same instant, ISO 8601 UTC, as the marts return TIMESTAMPTZ. */
  data_cutoff: string;
  /** Regions of the hub's scope, in code order. */
  scope: Region[];
  /** Earliest and latest event day over every landed row; null when nothing lands. */
  span: { start: number; end: number } | null;
}

export function truthFrame(city: DemoCity, now: Date): TruthFrame {
  const { catalogs, options, plan } = city;
  const cutoffDay = dayOf(now.getTime());
  const cutoffMs = dayStartMs(cutoffDay);
  const prefix = hubPrefix(catalogs.regions, options.hubRegionCode ?? DEFAULT_HUB_REGION);
  const scope = catalogs.regions
    .filter((r) => r.code.startsWith(prefix))
    .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const facts = plan.facts;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  const see = (ms: number) => {
    const d = dayOf(ms);
    if (d < start) start = d;
    if (d > end) end = d;
  };
  for (const r of facts.sensor_reading) see(r.observed_at_ms);
  for (const r of facts.video_alert) see(r.occurred_at_ms);
  for (const r of facts.hotline_case) see(r.received_at_ms);
  for (const r of facts.city_event) see(r.reported_at_ms);
  for (const r of facts.dept_delivery) see(r.delivered_at_ms);
  return {
    cutoffDay,
    cutoffMs,
    data_cutoff: new Date(cutoffMs).toISOString(),
    scope,
    span: start <= end ? { start, end } : null,
  };
}

/** Every period of the grains that intersects the data span (every day of it for `day`), counted at the cut-off. */
export function spanPeriods(frame: TruthFrame, grains: readonly MartGrain[]): CountedPeriod[] {
  const { span } = frame;
  if (!span) return [];
  const out: CountedPeriod[] = [];
  for (const grain of grains) {
    if (grain === 'day') {
      for (let d = span.start; d <= span.end; d++) {
        out.push(countedAt({ grain: 'day', period: dateOfDay(d), start: d, end: d }, frame.cutoffDay));
      }
    } else {
      for (const p of periodsIntersecting(grain, span.start, span.end)) out.push(countedAt(p, frame.cutoffDay));
    }
  }
  return out;
}

/** The regions of the scope a record of `code` counts for (inclusive roll-up by prefix), cached per code. */
export class RollUp {
  private readonly cache = new Map<string, Region[]>();
  constructor(private readonly scope: readonly Region[]) {}

  of(code: string): Region[] {
    let regions = this.cache.get(code);
    if (regions === undefined) {
      regions = this.scope.filter((r) => code.startsWith(regionPrefix(r)));
      this.cache.set(code, regions);
    }
    return regions;
  }
}

/**
 * A group of a mart's rows: the total (`ALL`) or one value of one breakdown (mart_hotline's category_l1, channel …,
 * mart_event_closure's event_class, source_kind, mart_sensor_health's device_type). Every record counts in the total
 * and in one value of each breakdown, so the total and every breakdown come from the same counting code.
 */
export interface Group {
  breakdown: string;
  value: string;
}

export const ALL: Group = { breakdown: 'all', value: 'all' };

const groupKey = (g: Group) => `${g.breakdown}\u0000${g.value}`;

/** Counters of one (period, region, group) cell, as `DayFacts.rows` hands them to a mart's row builder. */
export interface GroupCounts {
  group: Group;
  n: number[];
}

/** Additive facts by day, record region and group: `width` counters each (the columns of one mart). */
export class DayFacts {
  /** day → record region → group key → counters. */
  private readonly days = new Map<number, Map<string, Map<string, number[]>>>();
  private readonly groups = new Map<string, Group>([[groupKey(ALL), ALL]]);
  constructor(readonly width: number) {}

  /** The counters a record of `day` and `region` adds to, one array per group it counts in. */
  cells(day: number, region: string, groups: readonly Group[]): number[][] {
    let byRegion = this.days.get(day);
    if (!byRegion) {
      byRegion = new Map();
      this.days.set(day, byRegion);
    }
    let byGroup = byRegion.get(region);
    if (!byGroup) {
      byGroup = new Map();
      byRegion.set(region, byGroup);
    }
    return groups.map((g) => {
      const key = groupKey(g);
      if (!this.groups.has(key)) this.groups.set(key, g);
      let counts = byGroup.get(key);
      if (!counts) {
        counts = new Array<number>(this.width).fill(0);
        byGroup.set(key, counts);
      }
      return counts;
    });
  }

  /** Adds `n` to one column of a record's cells (`cells`). */
  static add(cells: readonly number[][], column: number, n = 1): void {
    for (const counts of cells) counts[column]! += n;
  }

  /**
   * The counters of P's counted days summed per region of the scope (inclusive roll-up) and group; every region of
   * the scope has its `ALL` entry, zeros when nothing counts.
   */
  sum(p: CountedPeriod, scope: readonly Region[], rollUp: RollUp): Map<string, Map<string, GroupCounts>> {
    const out = new Map(
      scope.map((r) => [r.code, new Map([[groupKey(ALL), { group: ALL, n: new Array<number>(this.width).fill(0) }]])]),
    );
    for (let d = p.start; d <= p.countedEnd; d++) {
      for (const [code, byGroup] of this.days.get(d) ?? []) {
        for (const region of rollUp.of(code)) {
          const into = out.get(region.code)!;
          for (const [key, counts] of byGroup) {
            let cell = into.get(key);
            if (!cell) {
              cell = { group: this.groups.get(key)!, n: new Array<number>(this.width).fill(0) };
              into.set(key, cell);
            }
            for (let i = 0; i < this.width; i++) cell.n[i]! += counts[i]!;
          }
        }
      }
    }
    return out;
  }

  /**
   * One row per period of every mart grain, region of the scope and group: the `ALL` row always, another group's row
   * where `has` says the summed counters show it (e.g. at least one case received or due with that value).
   */
  rows<R>(
    frame: TruthFrame,
    has: (n: number[]) => boolean,
    make: (p: CountedPeriod, region: Region, group: Group, n: number[]) => R,
  ): R[] {
    const rollUp = new RollUp(frame.scope);
    const rows: R[] = [];
    for (const p of spanPeriods(frame, ['day', 'month', 'quarter', 'year'])) {
      const sums = this.sum(p, frame.scope, rollUp);
      for (const region of frame.scope) {
        for (const { group, n } of sums.get(region.code)!.values()) {
          if (group === ALL || has(n)) rows.push(make(p, region, group, n));
        }
      }
    }
    return rows;
  }
}

/** The columns every mart row has for its period and region. */
export interface PeriodRegionCell<G extends MartGrain = MartGrain> {
  grain: G;
  period: string;
  is_complete: boolean;
  data_cutoff: string;
  region_code: string;
  region_level: string;
}

export function periodRegionCell<G extends MartGrain>(
  frame: Pick<TruthFrame, 'data_cutoff'>,
  p: Pick<CountedPeriod, 'period' | 'isComplete'> & { grain: G },
  region: { code: string; level: string },
): PeriodRegionCell<G> {
  return {
    grain: p.grain,
    period: p.period,
    is_complete: p.isComplete,
    data_cutoff: frame.data_cutoff,
    region_code: region.code,
    region_level: region.level,
  };
}

/** The period's own days as the marts return DATE columns. */
export function periodDates(p: CountedPeriod): { period_start: string; period_end: string } {
  return { period_start: dateOfDay(p.start), period_end: dateOfDay(p.end) };
}

export const rate = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/** Epoch ms of a wall-clock time 'YYYY-MM-DD HH:mm:ss[.SSS]' in Asia/Shanghai, as the demo's sources write them. */
export function shanghaiMs(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(text);
  if (!m) throw new Error(`not a Shanghai wall-clock time: ${text}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - 8 * 3_600_000;
}
