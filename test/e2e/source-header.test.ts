/**
 * `_source` in the lake is the connector that sent a record (issue 7 item 1): the connector's send path stamps the
 * bus header `cityhub-source`, the pipeline lands it. Drives the built CLI with one raw-files connector of a chosen id.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeConfig } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const reading = (over: Record<string, unknown>) =>
  JSON.stringify({
    dev: 'GAS-330106-0001',
    kind: 'gas_methane',
    metric: 'methane',
    val: 0.8,
    unit: '%LEL',
    ts: '2026-08-01 08:00:00',
    adcode: '330106',
    ...over,
  });

async function select(sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRows();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('_source = the sending connector, through the CLI', () => {
  it('rows, normalizer dead letters and connector dead letters all name the raw-files connector by its id', async () => {
    dir = await tempDir('source-header');
    const inbox = join(dir.path, 'inbox');
    await mkdir(inbox);
    await writeFile(join(inbox, '1-good.json'), reading({}));
    await writeFile(join(inbox, '2-invalid.json'), reading({ dev: 'GAS-330106-0002', val: 'high' }));
    // Larger than bus.max_message_bytes: the connector dead-letters it itself (dlq.sensor, raw cut to 64 KiB).
    await writeFile(join(inbox, '3-oversized.json'), reading({ dev: 'GAS-330106-0003', note: 'x'.repeat(150_000) }));
    const dataDir = join(dir.path, 'data');
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      tier: 'city',
      data_dir: dataDir,
      privacy: { salt: 'source-header-salt' },
      bus: { type: 'embedded', max_message_bytes: 100_000 },
      connectors: [{ id: 'river-gauges', kind: 'raw-files', path: 'inbox', feed: 'sensor', once: true }],
      catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
      landing: { max_age_ms: 200 },
      models: { schedule: '0 0 1 1 *' },
    });
    const run = await runCli(['run', '--config', config, '--for', '1s'], { timeoutMs: 120_000 });
    expect(run.code, run.stderr.slice(-4000)).toBe(0);

    const lake = join(dataDir, 'lake');
    expect(await select(`select _source, device_id from read_parquet('${lake}/sensor_reading/*/*.parquet')`)).toEqual([
      ['river-gauges', 'GAS-330106-0001'],
    ]);
    expect(
      await select(
        `select source, reason_code, _topic from read_parquet('${lake}/_dlq/sensor/*/*.parquet') order by reason_code`,
      ),
    ).toEqual([
      ['river-gauges', 'invalid', 'raw.sensor'],
      ['river-gauges', 'oversized', 'dlq.sensor'],
    ]);
  });
});
