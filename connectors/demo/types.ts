import type { DataResource, Device, Region, Scenario } from '../../schemas/index.js';
import type { Grain } from './time.js';

export type Feed = 'sensor' | 'video' | 'hotline' | 'event' | 'dept';
export const feeds: readonly Feed[] = ['sensor', 'video', 'hotline', 'event', 'dept'];

export interface DemoOptions {
  /** Same seed → byte-identical messages and ground truth. */
  seed: number;
  /** 'YYYY-MM', first month of history (Asia/Shanghai). */
  startMonth: string;
  /** History length in calendar months. */
  months: number;
  /** 1 = default volume (~45k raw messages over 3 months); volume is roughly linear in it. */
  scale: number;
  /** The regions catalog (e.g. sql/seeds/regions.csv). */
  regions: Region[];
  /** The hub's own region; its prefix bounds the regions that get rows. Default '330000'. */
  hubRegionCode?: string;
  /**
   * How departmental deliveries leave the city: `messages` (default) as one raw.dept message each, `files` as files
   * for a dept-files connector (dept-files.ts): GBK CSV, XLSX and NDJSON, a few broken.
   */
  dept?: 'messages' | 'files';
  /**
   * How the 12345 system gives out its work orders: `messages` (default) as raw.hotline messages the demo sends,
   * `api` as versions a REST API serves to a polling connector. An API page is JSON, so no order in it is broken
   * JSON, and a poller reads each version once: with `api` the hotline feed has no `malformed_json` order and no
   * re-sends (a restarted poller's re-reads are the connector's business, not the plan's).
   */
  hotline?: 'messages' | 'api';
}

export interface RawMessage {
  feed: Feed;
  key: string;
  /** JSON text exactly per docs/feeds.md (or deliberately broken). */
  value: string;
}

/** How a deliberately invalid message is broken. */
export type Flaw =
  | 'malformed_json'
  | 'missing_field'
  | 'wrong_type'
  | 'unknown_region'
  | 'impossible_time'
  | 'oversized'
  | 'unknown_vendor_code'
  | 'unknown_unit';

export type MessageKind = 'valid' | 'invalid' | 'duplicate';

/** One raw message of the history as planned. */
export interface PlannedMessage {
  readonly feed: Feed;
  readonly key: string;
  /** When the source sends it (epoch ms): the history is ordered by (emitMs, seq). */
  readonly emitMs: number;
  readonly seq: number;
  readonly kind: MessageKind;
  /** How an invalid message is broken. */
  readonly flaw: Flaw | undefined;
  /** The raw message text (JSON, or deliberately broken text). */
  readonly value: string;
  /** Records it counts for (docs/feeds.md "Counting"). */
  readonly units: number;
  /** Of those, records that land. */
  readonly landed: number;
}

// Canonical facts of the valid messages: the columns of the landed rows that the indicators read.

export interface SensorFact {
  device_id: string;
  device_type: string;
  metric: string;
  region_code: string;
  observed_at_ms: number;
}

export interface VideoFact {
  alert_id: string;
  status: string;
  event_type: string;
  region_code: string;
  occurred_at_ms: number;
}

export interface HotlineFact {
  case_id: string;
  status: string;
  category: string;
  region_code: string;
  received_at_ms: number;
}

export interface EventFact {
  event_id: string;
  status: string;
  source_kind: string;
  event_class: string;
  region_code: string;
  reported_at_ms: number;
  closed_at_ms: number | null;
}

export interface DeliveryFact {
  delivery_id: string;
  resource_code: string;
  region_code: string;
  delivered_at_ms: number;
  record_count: number;
  valid_count: number;
}

/** One fact per landed canonical row (after de-duplication), by dataset. */
export interface CanonicalFacts {
  sensor_reading: SensorFact[];
  video_alert: VideoFact[];
  hotline_case: HotlineFact[];
  city_event: EventFact[];
  dept_delivery: DeliveryFact[];
}

export interface History {
  /** First day (Shanghai day number) and the day after the last. */
  startDay: number;
  endDay: number;
  startMs: number;
  endMs: number;
  /** First day of each history month, plus the day after the last month (length months + 1). */
  monthStarts: number[];
}

export type TsFormat = 'local' | 'local_ms' | 'epoch' | 'iso';

/** What the live generator needs to know about a registered device. */
export interface LiveDevice {
  device_id: string;
  device_type: string;
  metric: string;
  unit: string;
  ts: TsFormat;
  region_code: string;
  grid_code: string;
  lon?: number;
  lat?: number;
}

/** The formats the demo's departments deliver in; each is read by its own dept-files connector (one folder each). */
export const deptFileFormats = ['csv', 'xlsx', 'ndjson'] as const;
export type DeptFileFormat = (typeof deptFileFormats)[number];

/** How a deliberately broken delivery file is broken, and the problem the dept-files connector reports. */
export type DeptFileFlaw = 'empty' | 'encoding_mismatch' | 'truncated' | 'unknown_resource';

/** One departmental delivery as a file (`dept: 'files'`): what it holds and what a correct reader makes of it. */
export interface DeptFile {
  format: DeptFileFormat;
  /** `<resource code>_<YYYYMMDDHHmmss>[_<suffix>].<ext>`: the delivery time in Asia/Shanghai wall time. */
  name: string;
  resourceCode: string;
  /** Catalog name of the resource (a CSV title row names it). */
  title: string;
  deliveredMs: number;
  /** Header (the template's field names, in order) and data rows; missing values are "". */
  columns: readonly string[];
  rows: readonly Record<string, string | number>[];
  /** GBK CSV with a title row above the header. */
  titleRow: boolean;
  flaw?: DeptFileFlaw;
  /** Records it counts for (docs/feeds.md "Counting": its rows, or 1 for a file with a problem). */
  units: number;
  /** Of those, rows that land as dept_record. */
  landed: number;
}

export interface DemoPlan {
  history: History;
  /** In emission order. */
  messages: PlannedMessage[];
  /** `dept: 'files'`: the history's delivery files, in delivery order (their deliveries are not in `messages`). */
  deptFiles: DeptFile[];
  facts: CanonicalFacts;
  /** Every clear caller phone the city uses (history and live). */
  phones: string[];
  liveDevices: LiveDevice[];
}

export interface DemoCatalogs {
  regions: Region[];
  data_resources: DataResource[];
  scenarios: Scenario[];
  devices: Device[];
}

export interface DemoCity {
  catalogs: DemoCatalogs;
  options: DemoOptions;
  plan: DemoPlan;
}

// Ground truth rows: columns exactly as docs/indicators.md lists them.

export interface DataSharingRow {
  grain: Grain;
  period: string;
  /** The period ended before the data cut-off. */
  is_complete: boolean;
  /** The cut-off instant (00:00 Asia/Shanghai of the build's day), ISO 8601 UTC as the marts return TIMESTAMPTZ. */
  data_cutoff: string;
  region_code: string;
  region_level: string;
  required_count: number;
  shared_count: number;
  sharing_rate: number | null;
  due_count: number;
  on_time_count: number;
  timeliness_rate: number | null;
  received_records: number;
  valid_records: number;
  quality_rate: number | null;
  hooked_count: number;
  hookup_rate: number | null;
  target_rate: number;
  meets_target: boolean | null;
}

export interface ScenarioCoverageRow {
  grain: Grain;
  period: string;
  /** The period ended before the data cut-off. */
  is_complete: boolean;
  /** The cut-off instant (00:00 Asia/Shanghai of the build's day), ISO 8601 UTC as the marts return TIMESTAMPTZ. */
  data_cutoff: string;
  region_code: string;
  region_level: string;
  applicable_count: number;
  covered_count: number;
  coverage_rate: number | null;
  target_rate: number;
  meets_target: boolean | null;
}

export interface ScenarioStatusRow {
  grain: Grain;
  period: string;
  /** The period ended before the data cut-off. */
  is_complete: boolean;
  /** The cut-off instant (00:00 Asia/Shanghai of the build's day), ISO 8601 UTC as the marts return TIMESTAMPTZ. */
  data_cutoff: string;
  scenario_code: string;
  scenario_name: string;
  dimension: string;
  region_code: string;
  is_covered: boolean;
  failed_conditions: string[];
  online_rate: number | null;
  online_device_days: number;
  registered_device_days: number;
}

export interface FeedCounts {
  received: number;
  landed: number;
  dead_lettered: number;
}

export interface GroundTruth {
  data_sharing: DataSharingRow[];
  scenario_coverage: ScenarioCoverageRow[];
  scenario_status: ScenarioStatusRow[];
  expected: Record<Feed, FeedCounts>;
}
