/**
 * The http-ingest connector through the hub CLI, as a city would run it: a config with one listener, a signed
 * video-AI webhook source with its own mapping and a secret from the environment; alerts POSTed over loopback land
 * as video_alert rows with `_source` = the source id, and a body that is not JSON lands as a dead letter.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts, startCli, tempDir, writeConfig } from '../../test/support/hub-process.js';
import { signedHeaders, TEST_SECRET } from './testing.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
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

const mapping = `
dataset: video_alert
description: ACME video-AI webhook, one alert per request
fields:
  alert_id: id
  camera_id: camera
  event_type: { path: class, type: text }
  vendor_code: { path: code, type: text }
  confidence: score
  occurred_at: { path: at, time: iso8601 }
  region_code: adcode
  status: { const: new }
  status_at: { path: at, time: iso8601 }
`;

describe('http-ingest through the hub CLI', () => {
  it('signed alerts posted to the webhook land as video_alert rows with _source = the source id', async () => {
    dir = await tempDir('http-ingest-e2e');
    await writeFile(join(dir.path, 'acme.yaml'), mapping);
    const [port] = await freePorts(1);
    const dataDir = join(dir.path, 'data');
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      tier: 'city',
      data_dir: dataDir,
      privacy: { salt: 'http-ingest-salt' },
      connectors: [
        {
          id: 'push',
          kind: 'http-ingest',
          listen: { host: '127.0.0.1', port },
          sources: [
            {
              id: 'acme-alerts',
              kind: 'video-webhook',
              path: '/hooks/acme',
              mapping: 'acme.yaml',
              signature: { keys: { k1: '${ACME_HOOK_SECRET}' } },
            },
          ],
        },
      ],
      catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
      landing: { max_age_ms: 200 },
      models: { schedule: '0 0 1 1 *' },
    });
    const hub = startCli(['run', '--config', config, '--for', '8s'], { env: { ACME_HOOK_SECRET: TEST_SECRET } });
    await hub.waitFor(/http-ingest listening/);
    const at = new Date(Date.now() - 60_000).toISOString();
    const alerts = [1, 2, 3].map((i) =>
      JSON.stringify({
        id: `ACME-${i}`,
        camera: 'CAM-330106-7',
        class: '0101',
        code: 'litter',
        score: 0.9,
        at,
        adcode: '330106',
      }),
    );
    for (const body of [...alerts, '{"id": "ACME-4", ']) {
      const response = await fetch(`http://127.0.0.1:${port}/hooks/acme`, {
        method: 'POST',
        headers: signedHeaders(body),
        body,
      });
      expect(response.status).toBe(body.startsWith('{"id": "ACME-4"') ? 400 : 202);
    }
    const code = await hub.exited;
    expect(code, hub.stderr().slice(-4000)).toBe(0);
    expect(hub.stdout() + hub.stderr()).not.toContain(TEST_SECRET);

    const lake = join(dataDir, 'lake');
    expect(
      await select(
        `select _source, alert_id, event_type from read_parquet('${lake}/video_alert/*/*.parquet') order by alert_id`,
      ),
    ).toEqual([
      ['acme-alerts', 'ACME-1', '0101'],
      ['acme-alerts', 'ACME-2', '0101'],
      ['acme-alerts', 'ACME-3', '0101'],
    ]);
    expect(await select(`select source, reason_code from read_parquet('${lake}/_dlq/video/*/*.parquet')`)).toEqual([
      ['acme-alerts', 'not_json'],
    ]);
  }, 120_000);
});
