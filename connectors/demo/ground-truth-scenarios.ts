/**
 * Ground truth of `mart_scenario_status` (per period and applicable scenario–region pair) and `mart_scenario_coverage`
 * (those pairs counted per region), from the feeds' facts, the deliveries and the catalogs the simulator plans (never
 * from the lake or SQL), implementing docs/indicators.md "Key-scenario coverage".
 */
import { type Device, type Region, type Scenario, scenarioCoversRegion } from '../../schemas/index.js';
import { registrationDays } from './catalogs.js';
import { type CountedPeriod, periodRegionCell, rate, regionPrefix, type TruthFrame } from './ground-truth-frame.js';
import { anyWithin, buildIndex, byCodePoint, type DayIndex } from './ground-truth-index.js';
import { type SharingPeriod, sharingPeriods, TARGET_RATE } from './ground-truth-sharing.js';
import { dayOf } from './time.js';
import type { DemoCity, ScenarioCoverageRow, ScenarioStatusRow } from './types.js';

/** A status row with the region's catalog name, as `mart_scenario_status` returns it beside the code. */
export interface ScenarioStatusTruthRow extends ScenarioStatusRow {
  region_name: string;
}

const meets = (r: number | null): boolean | null => (r === null ? null : r >= TARGET_RATE);

const statusRank: Record<string, number> = {
  reported: 0,
  registered: 1,
  dispatched: 2,
  handled: 3,
  verified: 4,
  closed: 5,
  cancelled: 6,
};

/** What the conditions read, indexed once: per feed, key → region → sorted days. */
interface ConditionFacts {
  sensors: DayIndex;
  videos: DayIndex;
  hotline: DayIndex;
  deliveries: DayIndex;
  onlineDays: Map<string, Set<number>>;
  closedLoops: { event_class: string; region_code: string; day: number }[];
}

function conditionFacts(city: DemoCity): ConditionFacts {
  const { catalogs, plan } = city;
  const facts = plan.facts;
  const hotline: DayIndex = new Map();
  for (const c of new Set(catalogs.scenarios.flatMap((s) => s.required_hotline_categories))) {
    const rows = facts.hotline_case.filter((h) => h.category.startsWith(c));
    hotline.set(
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
  return {
    sensors: buildIndex(
      facts.sensor_reading,
      (r) => r.device_type,
      (r) => r.region_code,
      (r) => dayOf(r.observed_at_ms),
    ),
    videos: buildIndex(
      facts.video_alert,
      (r) => r.event_type,
      (r) => r.region_code,
      (r) => dayOf(r.occurred_at_ms),
    ),
    hotline,
    deliveries: buildIndex(
      facts.dept_delivery.filter((d) => d.valid_count >= 1),
      (d) => d.resource_code,
      (d) => d.region_code,
      (d) => dayOf(d.delivered_at_ms),
    ),
    onlineDays,
    closedLoops: [...latest.values()]
      .filter((e) => (e.source_kind === 'video' || e.source_kind === 'sensor') && e.closed_at_ms !== null)
      .map((e) => ({ event_class: e.event_class, region_code: e.region_code, day: dayOf(e.closed_at_ms!) })),
  };
}

export function scenarioTruth(
  city: DemoCity,
  frame: TruthFrame,
): { scenario_coverage: ScenarioCoverageRow[]; scenario_status: ScenarioStatusTruthRow[] } {
  const { catalogs } = city;
  const { scope } = frame;
  const facts = conditionFacts(city);
  const scenarios = [...catalogs.scenarios].sort((a, b) => byCodePoint(a.scenario_code, b.scenario_code));
  const pairs = scenarios.flatMap((s) =>
    scope.filter((r) => r.level === s.level && scenarioCoversRegion(s, r.code)).map((r) => ({ s, r })),
  );
  const scenario_coverage: ScenarioCoverageRow[] = [];
  const scenario_status: ScenarioStatusTruthRow[] = [];
  for (const p of sharingPeriods(frame)) {
    const statuses = pairs.map(({ s, r }) => statusRow(p, s, r, frame, catalogs.devices, facts));
    scenario_status.push(...statuses);
    for (const region of scope) {
      const pre = regionPrefix(region);
      const mine = statuses.filter((st) => st.region_code.startsWith(pre));
      const covered = mine.filter((st) => st.is_covered).length;
      const coverageRate = rate(covered, mine.length);
      scenario_coverage.push({
        ...periodRegionCell(frame, p, region),
        applicable_count: mine.length,
        covered_count: covered,
        coverage_rate: coverageRate,
        target_rate: TARGET_RATE,
        meets_target: meets(coverageRate),
      });
    }
  }
  return { scenario_coverage, scenario_status };
}

function statusRow(
  p: SharingPeriod,
  s: Scenario,
  region: Region,
  frame: TruthFrame,
  devices: Device[],
  facts: ConditionFacts,
): ScenarioStatusTruthRow {
  const pre = regionPrefix(region);
  const failed: string[] = [];
  for (const t of s.required_device_types) {
    if (!anyWithin(facts.sensors, t, pre, p.start, p.end)) failed.push(`no_sensor_data:${t}`);
  }
  for (const e of s.required_video_event_types) {
    if (!anyWithin(facts.videos, e, pre, p.start, p.end)) failed.push(`no_video_alerts:${e}`);
  }
  for (const c of s.required_hotline_categories) {
    const byRegion = facts.hotline.get(c) ?? new Map<string, number[]>();
    if (!anyWithin(new Map([[c, byRegion]]), c, pre, p.start, p.end)) failed.push(`no_hotline_cases:${c}`);
  }
  for (const k of s.required_resources) {
    if (!anyWithin(facts.deliveries, k, pre, p.start, p.end)) failed.push(`no_resource_delivery:${k}`);
  }
  const { online, registered } = deviceDays(devices, s.required_device_types, pre, p, facts.onlineDays);
  const onlineRate = rate(online, registered);
  if (s.min_online_rate !== undefined && s.required_device_types.length > 0) {
    if (registered === 0) failed.push('no_registered_devices');
    else if (onlineRate! < s.min_online_rate) failed.push('online_rate_below_min');
  }
  if (s.closed_loop) {
    const closed = facts.closedLoops.some(
      (e) =>
        s.event_classes.includes(e.event_class) && e.region_code.startsWith(pre) && e.day >= p.start && e.day <= p.end,
    );
    if (!closed) failed.push('no_closed_loop');
  }
  failed.sort(byCodePoint);
  return {
    grain: p.grain,
    period: p.period,
    is_complete: p.isComplete,
    data_cutoff: frame.data_cutoff,
    scenario_code: s.scenario_code,
    scenario_name: s.name,
    dimension: s.dimension,
    region_code: region.code,
    region_name: region.name,
    is_covered: failed.length === 0,
    failed_conditions: failed,
    online_rate: onlineRate,
    online_device_days: online,
    registered_device_days: registered,
  };
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
