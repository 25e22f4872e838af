/**
 * What "every record landed exactly once" means in a lake folder, as DuckDB reads it: no bus message (topic,
 * partition, offset) in two data files, every acknowledged message in the data or the dead letters, no natural key
 * twice. Shared by the kill -9 test (embedded bus) and the roles test (Kafka, S3).
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Datasets whose rows carry the bus coordinates of the message they came from (one row per message). */
const COORDINATE_DATASETS = ['sensor_reading', 'video_alert', 'city_event', 'hotline_case', 'dept_delivery'];

/** Each dataset's natural key, as the normalizer dedupes it. */
const NATURAL_KEYS: Record<string, string> = {
  sensor_reading: 'device_id, metric, observed_at',
  video_alert: 'alert_id, status',
  city_event: 'event_id, status',
  hotline_case: 'case_id, status, updated_at',
  dept_delivery: 'delivery_id',
  dept_record: 'delivery_id, line',
};

export interface LakeCounts {
  /** Bus messages found in more than one data row. */
  repeatedMessages: number;
  /** Distinct bus messages found in the data or the dead letters. */
  accountedMessages: number;
  /** Per dataset, natural keys found more than once. */
  naturalKeyRepeats: Record<string, number>;
}

export async function lakeCounts(lake: string): Promise<LakeCounts> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const scalar = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0]![0]);
  try {
    const coordinates = COORDINATE_DATASETS.map(
      (d) => `select _topic, _partition, _offset from read_parquet('${lake}/${d}/*/*.parquet')`,
    ).join(' union all ');
    const deadLetters = `select _topic, _partition, _offset from read_parquet('${lake}/_dlq/*/*/*.parquet')`;
    const naturalKeyRepeats: Record<string, number> = {};
    for (const [dataset, key] of Object.entries(NATURAL_KEYS)) {
      const files = `read_parquet('${lake}/${dataset}/*/*.parquet', hive_partitioning = true, union_by_name = true)`;
      naturalKeyRepeats[dataset] = await scalar(
        `select count(*) from (select ${key} from ${files} group by all having count(*) > 1)`,
      );
    }
    return {
      repeatedMessages: await scalar(
        `select count(*) from (select _topic, _partition, _offset from (${coordinates}) group by all having count(*) > 1)`,
      ),
      accountedMessages: await scalar(
        `select count(*) from (select distinct _topic, _partition, _offset from (${coordinates} union all ${deadLetters}))`,
      ),
      naturalKeyRepeats,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** No natural key twice, for every dataset: the value `naturalKeyRepeats` must equal. */
export const noNaturalKeyRepeats = Object.fromEntries(Object.keys(NATURAL_KEYS).map((d) => [d, 0]));
