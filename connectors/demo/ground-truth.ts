/**
 * Ground truth of the marts, computed from the simulator's own plan of valid records (never from SQL), implementing
 * docs/indicators.md literally. Decisions where the text leaves room are listed in README.md ("Ground truth").
 * The data cut-off is an input, like the build's `now`: periods still running at it count only the days before it.
 * Each mart has its own module; this one puts them together.
 */
import {
  type CatalogIndicator,
  type EvaluationRow,
  type EvaluationSchemeInput,
  scoreEvaluation,
} from './ground-truth-evaluation.js';
import { type EventClosureRow, eventClosureTruth } from './ground-truth-events.js';
import { DEFAULT_HUB_REGION, regionPrefix, truthFrame } from './ground-truth-frame.js';
import { type HotlineRow, type HotlineSettings, hotlineTruth } from './ground-truth-hotline.js';
import { type ScenarioStatusTruthRow, scenarioTruth } from './ground-truth-scenarios.js';
import { type SensorHealthRow, sensorHealthTruth } from './ground-truth-sensors.js';
import {
  dataSharingTruth,
  type ResourceSharingRow,
  resourceSharingTruth,
  TARGET_RATE,
} from './ground-truth-sharing.js';
import { type DemoCity, type Feed, type FeedCounts, feeds, type GroundTruth } from './types.js';

export type {
  CatalogIndicator,
  EvaluationRow,
  EvaluationSchemeInput,
  EventClosureRow,
  HotlineRow,
  ResourceSharingRow,
  ScenarioStatusTruthRow,
  SensorHealthRow,
};
export { DEFAULT_HUB_REGION, regionPrefix, TARGET_RATE };

/** The part of config `models.indicators` the truth follows, in its own keys (defaults when absent). */
export interface IndicatorSettingsTruth extends HotlineSettings {
  evaluation?: EvaluationSchemeInput;
}

export interface GroundTruthOptions {
  /**
   * The build's "now" (default: the clock), as `runModels({ now })`: its Asia/Shanghai day is the cut-off day, the
   * first day not counted. Pass the marts' own `data_cutoff` to get the truth of a finished build.
   */
  now?: Date;
  /** The build's `models.indicators` (hotline weights): the same object `runModels({ indicators })` was given. */
  indicators?: IndicatorSettingsTruth;
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

/**
 * The ground truth of every mart computed from the plan: each grain, period, region and breakdown row.
 * `mart_evaluation` scores these rows through the indicator catalog (`evaluationTruth`); `mart_indicators` is the
 * catalog itself.
 */
export interface DemoGroundTruth extends GroundTruth {
  /** `mart_scenario_status`, with each region's catalog name. */
  scenario_status: ScenarioStatusTruthRow[];
  /** `mart_resource_sharing`: every resource in force within the scope, per period (ground-truth-sharing.ts). */
  resource_sharing: ResourceSharingRow[];
  /** `mart_hotline`: breakdown 'all' and category_l1 | category_l2 | channel | request_type (ground-truth-hotline.ts). */
  hotline: HotlineRow[];
  /** `mart_event_closure`: breakdown 'all' and event_class | source_kind (ground-truth-events.ts). */
  event_closure: EventClosureRow[];
  /** `mart_sensor_health`: device_type 'all' and each registry device type (ground-truth-sensors.ts). */
  sensor_health: SensorHealthRow[];
  /** The settings the hotline truth used, for `evaluationTruth`'s scheme. */
  indicators: IndicatorSettingsTruth;
}

export function groundTruth(city: DemoCity, options: GroundTruthOptions = {}): DemoGroundTruth {
  const frame = truthFrame(city, options.now ?? new Date());
  const indicators = options.indicators ?? {};
  return {
    data_sharing: dataSharingTruth(city, frame),
    ...scenarioTruth(city, frame),
    expected: expectedCounts(city),
    resource_sharing: resourceSharingTruth(city, frame),
    hotline: hotlineTruth(city, frame, indicators),
    event_closure: eventClosureTruth(city, frame),
    sensor_health: sensorHealthTruth(city, frame),
    indicators,
  };
}

/**
 * `mart_evaluation` as the build scores the truth's indicator rows: the catalog (sql/seeds/indicators.json) says
 * where each indicator lives, the truth's `indicators.evaluation` (config `models.indicators.evaluation`) which are
 * scored and how. One cell per month, quarter and year period and region of the scope: data_sharing's rows.
 */
export function evaluationTruth(truth: DemoGroundTruth, catalog: readonly CatalogIndicator[]): EvaluationRow[] {
  const marts = new Map<string, readonly object[]>([
    ['mart_data_sharing', truth.data_sharing],
    ['mart_scenario_coverage', truth.scenario_coverage],
    ['mart_hotline', truth.hotline],
    ['mart_event_closure', truth.event_closure],
    ['mart_sensor_health', truth.sensor_health],
  ]);
  const cells = truth.data_sharing.map(({ grain, period, is_complete, data_cutoff, region_code, region_level }) => ({
    grain,
    period,
    is_complete,
    data_cutoff,
    region_code,
    region_level,
  }));
  return scoreEvaluation(cells, marts, catalog, truth.indicators.evaluation);
}
