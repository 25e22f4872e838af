/**
 * The feeds the ingest bench measures: how each one's payloads are generated, the normalizer the hub would give it
 * (default landing config, the bundled region catalog) and the DuckDB-native reference query over the same bytes.
 */
import type { Feed } from '../../connectors/types.js';
import { landingConfig } from '../../pipelines/config/schema.js';
import { Normalizer } from '../../pipelines/normalize/normalizer.js';
import type { DatasetName } from '../../schemas/index.js';
import type { GenerateOptions, PayloadSet } from './payload-set.js';
import { deptPayloads, deptResources } from './payloads-dept.js';
import { HOTLINE_KEY, hotlinePayloads } from './payloads-hotline.js';
import { sensorPayloads } from './payloads-sensor.js';
import { videoPayloads } from './payloads-video.js';
import { regions } from './regions.js';

export const benchFeeds = ['sensor', 'video', 'hotline', 'dept'] as const;
export type BenchFeed = (typeof benchFeeds)[number];

export interface FeedBench {
  feed: Feed;
  /** The dataset its records land in (dept: dept_record; its dept_delivery rows are not records). */
  dataset: DatasetName;
  generate(count: number, options: GenerateOptions): PayloadSet;
  /** DuckDB's own NDJSON → rows of the same payload file: what the reference writes to Parquet. */
  referenceSelect(ndjson: string): string;
}

const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;
/** Every line as a row; a malformed line is a row of NULLs rather than an error. */
const readLines = (ndjson: string) =>
  `select * from read_json(${sqlText(ndjson)}, format = 'newline_delimited', ignore_errors = true)`;

export const feedBenches: Record<BenchFeed, FeedBench> = {
  sensor: { feed: 'sensor', dataset: 'sensor_reading', generate: sensorPayloads, referenceSelect: readLines },
  video: { feed: 'video', dataset: 'video_alert', generate: videoPayloads, referenceSelect: readLines },
  hotline: { feed: 'hotline', dataset: 'hotline_case', generate: hotlinePayloads, referenceSelect: readLines },
  dept: {
    feed: 'dept',
    dataset: 'dept_record',
    generate: deptPayloads,
    // One row per delivered record, as dept_record: the chunks' records unnested beside their lines.
    referenceSelect: (ndjson) =>
      `select deliveryId as delivery_id, resourceCode as resource_code, adcode as region_code,
         deliveredAt as delivered_at, unnest(lines) as line, unnest(records) as record
       from read_json(${sqlText(ndjson)}, format = 'newline_delimited', ignore_errors = true,
         columns = {deliveryId: 'VARCHAR', resourceCode: 'VARCHAR', adcode: 'VARCHAR', deliveredAt: 'TIMESTAMPTZ',
                    lines: 'INTEGER[]', records: 'JSON[]'})`,
  },
};

/** The feed's normalizer as the hub builds it with the default landing config (pipelines/hub.ts). */
export function benchNormalizer(feed: Feed, bulk = landingConfig.parse({}).bulk): Normalizer {
  const landing = landingConfig.parse({});
  return new Normalizer(feed, {
    salt: HOTLINE_KEY.key,
    keyId: HOTLINE_KEY.id,
    regionCodes: new Set(regions.map((r) => r.code)),
    dataResources: deptResources,
    maxPayloadBytes: landing.max_payload_bytes,
    minEventMs: Date.parse(`${landing.min_event_time}T00:00:00+08:00`),
    maxFutureSkewMs: landing.max_future_skew_ms,
    dedupeWindow: landing.dedupe_window,
    maxDepth: landing.max_depth,
    maxStringBytes: landing.max_string_bytes,
    maxRecordsPerMessage: landing.max_records_per_message,
    bulk,
  });
}
