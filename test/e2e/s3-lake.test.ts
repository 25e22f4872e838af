/**
 * The demo hub with its lake in an S3 bucket (s3rver), run as a user runs it, with the store taken down while the
 * pipeline lands: it backs off, keeps the batch, commits nothing, and lands everything once the store is back. The
 * bucket then holds the lake layout, and the marts — built from the local mirror of the bucket — equal the
 * simulator's ground truth, as on a local lake (demo-ground-truth.test.ts).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDemoCity,
  type DemoCity,
  expectedCounts,
  type GroundTruth,
  groundTruth,
} from '../../connectors/demo/index.js';
import { type S3rverPeer, startS3rver } from '../../connectors/dept-files/s3rver-peer.js';
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';
import { demoConnectors } from '../../pipelines/config/load.js';
import type { S3LakeConfig } from '../../pipelines/config/schema.js';
import { S3LakeStore } from '../../pipelines/land/s3-store.js';
import { queryMarts } from '../../pipelines/models/index.js';
import { runCli, startCli, summaryCounts, tempDir, writeConfig } from '../support/hub-process.js';
import { outageRelay } from '../support/outage-relay.js';

const BUCKET = 'city-lake';
const PREFIX = 'zj/lake';
const demo = { seed: 4242, startMonth: '2026-06', months: 1, scale: 0.2, dept: 'files' as const };

async function martRows(martsPath: string, table: string, keys: string[]): Promise<Record<string, unknown>[]> {
  const { columns, rows } = await queryMarts({ martsPath, sql: `select ${keys.join(', ')} from ${table}` });
  return sortRows(
    rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]]))),
    keys,
  );
}

function sortRows(rows: object[], keys: string[]): Record<string, unknown>[] {
  const key = (r: Record<string, unknown>) => JSON.stringify(keys.map((k) => r[k]));
  return (rows as Record<string, unknown>[])
    .map((row) => Object.fromEntries(keys.map((k) => [k, row[k]])))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The ground truth as of the build's own data cut-off (the marts carry it). */
async function truthAsBuilt(city: DemoCity, martsPath: string): Promise<GroundTruth> {
  const { rows } = await queryMarts({ martsPath, sql: 'select distinct data_cutoff from mart_data_sharing' });
  expect(rows).toHaveLength(1);
  return groundTruth(city, { now: new Date(String(rows[0]![0])) });
}

describe('the demo hub on an S3 lake (s3rver), through an outage of the store while landing', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: S3rverPeer;
  let relay: Awaited<ReturnType<typeof outageRelay>>;
  let lake: S3LakeConfig;
  let config: string;
  let run: { code: number | string; stdout: string; stderr: string };
  const city = buildDemoCity({ ...demo, regions: loadCatalogFile('regions', bundledRegionsPath()) });
  const data = () => join(dir.path, 'data');
  const martsPath = () => join(data(), 'marts.duckdb');
  const mirror = () => join(data(), 'lake-cache', 'mirror');

  beforeAll(async () => {
    dir = await tempDir('s3-lake');
    server = await startS3rver([BUCKET]);
    relay = await outageRelay(server.endpoint);
    lake = {
      type: 's3',
      endpoint: relay.endpoint,
      bucket: BUCKET,
      prefix: PREFIX,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
      multipart_threshold_bytes: 64 * 1024 * 1024,
    };
    // The bus-only demo (no `wire`), its departments delivering files to the three dept-files connectors.
    const deptFiles = demoConnectors().filter((c) => c.kind === 'dept-files');
    config = await writeConfig(dir.path, {
      region_code: '330000',
      tier: 'province',
      data_dir: data(),
      privacy: { salt: 'e2e-test-salt-2026' },
      lake: {
        ...lake,
        access_key_id: '${CITYHUB_TEST_S3_KEY_ID}',
        secret_access_key: '${CITYHUB_TEST_S3_SECRET}',
      },
      connectors: [
        {
          id: 'demo',
          kind: 'demo',
          inbox: 'data/demo-inbox',
          seed: demo.seed,
          start_month: demo.startMonth,
          months: demo.months,
          scale: demo.scale,
          live: false,
        },
        ...deptFiles,
      ],
      // No flush before the shutdown's drain, so the outage below meets the landing of every record.
      landing: { max_age_ms: 600_000, max_rows: 1_000_000, max_bytes: 1024 * 1024 * 1024 },
      log: { level: 'info' },
    });
    const env = { CITYHUB_TEST_S3_KEY_ID: 'S3RVER', CITYHUB_TEST_S3_SECRET: 'S3RVER' };
    const hub = startCli(['run', '--config', config], { env });
    // A step that does not come fails with the hub's output instead of hanging until the hook's timeout.
    const step = async <T>(what: string, work: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what}\n${hub.stdout()}\n${hub.stderr()}`)), 120_000);
      });
      try {
        return await Promise.race([work, late]);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      await step('demo history', hub.waitFor(/demo history sent/));
      await relay.down();
      hub.child.kill('SIGTERM');
      await step('failed landing', hub.waitFor(/landing failed/));
      await relay.up();
      const code = await step('exit', hub.exited);
      run = { code, stdout: hub.stdout(), stderr: hub.stderr() };
    } finally {
      // Whatever failed above, the store is back for the checks and the cleanup.
      await relay.up().catch(() => {});
    }
  });
  afterAll(async () => {
    await relay?.down();
    await server?.close();
    await dir?.remove();
  });

  it('backs off while the store is down, then lands every record once: a clean exit with balanced counts', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/"retriable":true/);
    for (const [feed, expected] of Object.entries(expectedCounts(city))) {
      const counts = summaryCounts(run.stdout, feed);
      expect(counts, `summary line for ${feed}`).toBeDefined();
      const { received, landed, dead_lettered } = counts!;
      expect({ received, landed, dead_lettered }, feed).toEqual(expected);
    }
  });

  it('the bucket holds the lake layout under the prefix, the flush journal gone, and the mirror holds exactly it', async () => {
    const store = new S3LakeStore({ config: lake, cacheDir: join(dir.path, 'check-cache') });
    const keys: string[] = [];
    try {
      for await (const object of store.objects()) keys.push(object.relPath);
      expect(await store.list()).toEqual(keys);
    } finally {
      store.client.destroy();
    }
    const name = String.raw`dt=\d{4}-\d{2}-\d{2}/(raw|dlq)\.[a-z]+~\d+~\d{20}~\d{20}~[0-9a-f]{12}\.parquet`;
    for (const key of keys)
      expect(key).toMatch(
        new RegExp(
          `^(sensor_reading|video_alert|city_event|hotline_case|dept_delivery|dept_record|_dlq/[a-z]+)/${name}$`,
        ),
      );
    // Every file the run wrote is one object: none twice, none left over from the failed attempt.
    expect(keys).toHaveLength(Number(run.stdout.match(/lake files written: ([\d,]+)/)![1]!.replaceAll(',', '')));
    const datasets = new Set(keys.map((k) => k.split('/dt=')[0]));
    expect([...datasets].sort()).toEqual(
      expect.arrayContaining([
        'city_event',
        'dept_delivery',
        'dept_record',
        'hotline_case',
        'sensor_reading',
        'video_alert',
      ]),
    );
    // The mirror's own work folders (.etags, .partial) aside.
    const mirrored = (await readdir(mirror(), { recursive: true }))
      .filter((f) => f.endsWith('.parquet') && !f.startsWith('.'))
      .sort();
    expect(mirrored).toEqual([...keys].sort());
  });

  it('mart_data_sharing, mart_scenario_coverage and mart_scenario_status equal the ground truth', async () => {
    const truth = await truthAsBuilt(city, martsPath());
    for (const [table, rows] of [
      ['mart_data_sharing', truth.data_sharing],
      ['mart_scenario_coverage', truth.scenario_coverage],
      ['mart_scenario_status', truth.scenario_status],
    ] as const) {
      const keys = Object.keys(rows[0]!);
      expect(await martRows(martsPath(), table, keys), table).toEqual(sortRows(rows, keys));
    }
  });

  it('`cityhub models run` syncs a lost mirror from the bucket first; `query` reads that copy', async () => {
    const before = await martRows(martsPath(), 'mart_data_sharing', ['grain', 'period', 'region_code', 'sharing_rate']);
    await rm(mirror(), { recursive: true, force: true });
    const env = { CITYHUB_TEST_S3_KEY_ID: 'S3RVER', CITYHUB_TEST_S3_SECRET: 'S3RVER' };
    const models = await runCli(['models', 'run', '--config', config], { env });
    expect(models.code, models.stderr).toBe(0);
    expect(models.stdout).toMatch(/lake mirror: \d+ object\(s\) checked, [1-9]\d* downloaded/);
    expect(
      await martRows(martsPath(), 'mart_data_sharing', ['grain', 'period', 'region_code', 'sharing_rate']),
    ).toEqual(before);
    const sql = `select count(*) as n from read_parquet('${join(mirror(), 'dept_delivery', '*', '*.parquet')}')`;
    const query = await runCli(['query', sql, '--config', config, '--format', 'csv'], { env });
    expect(query.code, query.stderr).toBe(0);
    const deliveries = city.plan.deptFiles.filter((f) => f.flaw !== 'unknown_resource').length;
    expect(query.stdout.trim().split('\n')[1]).toBe(String(deliveries));
  });
});
