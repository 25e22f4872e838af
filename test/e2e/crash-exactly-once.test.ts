import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feeds, rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { deadLetterTopic } from '../../pipelines/normalize/connector-dead-letter.js';
import { runCli, startCli, tempDir, writeConfig } from '../support/hub-process.js';

describe('exactly once across kill -9', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let lake: string;
  let acknowledged = 0;
  let committedBefore = 0;
  let restart: Awaited<ReturnType<typeof runCli>>;
  let instance: DuckDBInstance;
  let connection: Awaited<ReturnType<DuckDBInstance['connect']>>;
  const scalar = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0]![0]);

  // One hub killed while landing, then restarted and drained; the tests below read what it left.
  beforeAll(async () => {
    dir = await tempDir('crash');
    const dataDir = join(dir.path, 'data');
    lake = join(dataDir, 'lake');
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      data_dir: dataDir,
      privacy: { salt: 'crash-test-salt-1' },
      connectors: [
        {
          id: 'demo',
          kind: 'demo',
          seed: 99,
          start_month: '2026-05',
          months: 2,
          scale: 0.3,
          live: false,
          batch_size: 500,
        },
      ],
      // Small flushes: the hub is killed between many of them.
      landing: { max_rows: 1500, max_age_ms: 60_000 },
      models: { schedule: '0 0 1 1 *' },
      log: { level: 'debug' },
    });

    const first = startCli(['run', '--config', config]);
    // Kill once the whole history is acknowledged by the bus and landing is under way, with no warning.
    await first.waitFor(/demo history sent/);
    await first.waitFor(/flush committed/);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    // What the bus acknowledged, and how far the pipeline had committed when it died.
    const bus = await openEmbeddedBus({ dir: join(dataDir, 'bus'), fsync: 'always' });
    try {
      // Each feed's raw topic, and its dead-letter topic where bodies that cannot go raw (unmaskable hotline
      // payloads, oversized ones) are put instead.
      const topics = feeds.flatMap((feed) => [rawTopic(feed), deadLetterTopic(feed)]);
      const consumer = bus.consumer({ groupId: 'cityhub-pipeline' });
      await consumer.subscribe(topics);
      for (const topic of topics) {
        for (const { partition, highWatermark } of await bus.describe(topic)) {
          acknowledged += highWatermark;
          committedBefore += await consumer.committed({ topic, partition });
        }
      }
      await consumer.close();
    } finally {
      await bus.close();
    }

    restart = await runCli(['run', '--config', config, '--for', '1s']);
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(async () => {
    connection?.closeSync();
    instance?.closeSync();
    await dir?.remove();
  });

  it('the kill interrupted landing, and the restarted hub resumed and exited 0', () => {
    expect(acknowledged).toBeGreaterThan(0);
    // The kill really interrupted landing: some but not all was committed.
    expect(committedBefore).toBeLessThan(acknowledged);
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stderr).toMatch(/resumes from checkpoint|demo history sent/);
  });

  it('every acknowledged bus message is in the lake or the dead letters exactly once', async () => {
    // No (topic, partition, offset) is in the lake twice across files, and every one produced rows or dead letters.
    const coordinates = ['sensor_reading', 'video_alert', 'city_event', 'hotline_case', 'dept_delivery']
      .map((d) => `select _topic, _partition, _offset from read_parquet('${lake}/${d}/*/*.parquet')`)
      .join(' union all ');
    expect(
      await scalar(
        `select count(*) from (select _topic, _partition, _offset from (${coordinates}) group by all having count(*) > 1)`,
      ),
    ).toBe(0);
    const accounted = await scalar(
      `select count(*) from (select distinct _topic, _partition, _offset from (${coordinates} union all select _topic, _partition, _offset from read_parquet('${lake}/_dlq/*/*/*.parquet')))`,
    );
    expect(accounted).toBe(acknowledged);
  });

  // The restart re-reads what the killed hub had not committed: landing it again must not put a natural key in the
  // lake twice (deterministic file names replace the half-flushed files). Redeliveries by a connector killed between
  // the bus's acknowledgement and its checkpoint are another matter (README, "Not in this release").
  it('the lake holds no natural-key duplicates across the restart', async () => {
    const datasets: Record<string, string> = {
      sensor_reading: 'device_id, metric, observed_at',
      video_alert: 'alert_id, status',
      city_event: 'event_id, status',
      hotline_case: 'case_id, status',
      dept_delivery: 'delivery_id',
      dept_record: 'delivery_id, line',
    };
    for (const [dataset, key] of Object.entries(datasets)) {
      const files = `read_parquet('${lake}/${dataset}/*/*.parquet', hive_partitioning = true)`;
      expect(
        await scalar(`select count(*) from (select ${key} from ${files} group by all having count(*) > 1)`),
        `${dataset} natural-key duplicates`,
      ).toBe(0);
    }
  });
});
