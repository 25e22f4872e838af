import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { feeds, rawTopic } from '../../connectors/types.js';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { runCli, startCli, tempDir, writeConfig } from '../support/hub-process.js';

describe('exactly once across kill -9', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
  });

  it('a hub killed while landing, restarted and drained, has landed every acknowledged record exactly once', async () => {
    dir = await tempDir('crash');
    const dataDir = join(dir.path, 'data');
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
    const consumer = bus.consumer({ groupId: 'cityhub-pipeline' });
    let acknowledged = 0;
    let committedBefore = 0;
    await consumer.subscribe(feeds.map(rawTopic));
    for (const feed of feeds) {
      for (const { partition, highWatermark } of await bus.describe(rawTopic(feed))) {
        acknowledged += highWatermark;
        committedBefore += await consumer.committed({ topic: rawTopic(feed), partition });
      }
    }
    await consumer.close();
    await bus.close();
    expect(acknowledged).toBeGreaterThan(0);
    // The kill really interrupted landing: some but not all was committed.
    expect(committedBefore).toBeLessThan(acknowledged);

    const second = await runCli(['run', '--config', config, '--for', '1s']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resumes from checkpoint|demo history sent/);

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const lake = join(dataDir, 'lake');
    const scalar = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0]![0]);
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
    // Every acknowledged bus message is accounted for exactly once: it produced landed rows or dead letters,
    // and no (topic, partition, offset) is in the lake twice across files.
    const coordinates = Object.keys(datasets)
      .filter((d) => d !== 'dept_record' && d !== 'dept_delivery')
      .map((d) => `select _topic, _partition, _offset from read_parquet('${lake}/${d}/*/*.parquet')`)
      .concat(`select _topic, _partition, _offset from read_parquet('${lake}/dept_delivery/*/*.parquet')`)
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
    connection.closeSync();
    instance.closeSync();
  });
});
