import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogIndicator, evaluationTruth } from '../../connectors/demo/ground-truth.js';
import { martDifferences, martTruths, truthColumns } from '../../connectors/demo/ground-truth-compare.js';
import { buildDemoCity, clearPhones, type DemoCity, expectedCounts, groundTruth } from '../../connectors/demo/index.js';
import { dayOf, dayStartMs } from '../../connectors/demo/time.js';
import { bundledRegionsPath, loadCatalogFile } from '../../pipelines/catalogs/load.js';
import { demoConnectors } from '../../pipelines/config/load.js';
import { queryMarts } from '../../pipelines/models/index.js';
import { freePorts, runCli, tempDir, writeConfig } from '../support/hub-process.js';

const sqlDir = join(import.meta.dirname, '..', '..', 'sql');

const demo = {
  seed: 4242,
  startMonth: '2026-06',
  months: 3,
  scale: 0.2,
  dept: 'files' as const,
  hotline: 'api' as const,
};

/**
 * The ground truth as of the build's own data cut-off (the marts carry it): periods still running at it (the demo's
 * year 2026, while it lasts) count only the days before it.
 */
async function truthAsBuilt(
  city: DemoCity,
  martsPath: string,
  runStartedMs: number,
): Promise<ReturnType<typeof groundTruth>> {
  const { rows } = await queryMarts({ martsPath, sql: 'select distinct data_cutoff from mart_data_sharing' });
  expect(rows).toHaveLength(1);
  const cutoff = new Date(String(rows[0]![0]));
  // The build ran today: its cut-off is the start of the Asia/Shanghai day it ran on.
  const shanghaiDayStart = (ms: number) => dayStartMs(dayOf(ms));
  expect(cutoff.getTime()).toBeGreaterThanOrEqual(shanghaiDayStart(runStartedMs));
  expect(cutoff.getTime()).toBeLessThanOrEqual(shanghaiDayStart(Date.now()));
  return groundTruth(city, { now: cutoff });
}

describe('the demo city end to end over the real protocols (fixed seed)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let run: Awaited<ReturnType<typeof runCli>>;
  let runStartedMs = 0;
  const city = buildDemoCity({ ...demo, regions: loadCatalogFile('regions', bundledRegionsPath()) });

  beforeAll(async () => {
    dir = await tempDir('demo');
    const [mqtt, ingest, hotlineApi] = await freePorts(3);
    // The built-in demo's connectors as they are — the city over MQTT, webhooks, NDJSON pushes, a 12345 API and
    // files (dept-files with `drain_on_stop`) — on free ports, with a fixed seed and no live traffic.
    const [demoConnector, ...network] = demoConnectors({ mqtt: mqtt!, ingest: ingest!, hotlineApi: hotlineApi! });
    const config = await writeConfig(dir.path, {
      region_code: '330000',
      tier: 'province',
      data_dir: join(dir.path, 'data'),
      privacy: { salt: 'e2e-test-salt-2026' },
      connectors: [
        {
          ...demoConnector,
          seed: demo.seed,
          start_month: demo.startMonth,
          months: demo.months,
          scale: demo.scale,
          live: false,
        },
        ...network,
      ],
      landing: { max_age_ms: 300 },
      log: { level: 'info' },
    });
    runStartedMs = Date.now();
    run = await runCli(['run', '--config', config, '--for', '1s']);
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('runs bounded, drains and exits 0 with a balanced per-feed summary', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('run summary');
    for (const [feed, expected] of Object.entries(expectedCounts(city))) {
      const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith(`${feed} `));
      expect(line, `summary line for ${feed}`).toBeDefined();
      const numbers = line!.match(/[\d,]+/g)!.map((n) => Number(n.replaceAll(',', '')));
      // sent, received, landed, dead-lettered
      expect({ received: numbers[1], landed: numbers[2], dead_lettered: numbers[3] }).toEqual(expected);
      expect(line).toMatch(/yes$/);
    }
    // Each network connector's line: it appended exactly its feeds' messages, and stopped cleanly.
    const expected = expectedCounts(city);
    const appended = (id: string) => {
      const line = run.stdout.split('\n').find((l) => l.trimStart().startsWith(`${id} (`));
      expect(line, `summary line of connector ${id}`).toMatch(/ stopped: [\d,]+ messages, [\d.]+ (B|KiB|MiB) /);
      return Number(line!.match(/stopped: ([\d,]+) messages/)![1]!.replaceAll(',', ''));
    };
    expect(appended('sensors')).toBe(expected.sensor!.received);
    expect(appended('push')).toBe(expected.video!.received + expected.event!.received);
    expect(appended('hotline')).toBe(expected.hotline!.received);
    expect(appended('demo')).toBe(0);
  });

  it("delivers the departments' data as files: a dept_delivery for every history file of a catalogued resource", async () => {
    const files = city.plan.deptFiles;
    expect(new Set(files.map((f) => f.format))).toEqual(new Set(['csv', 'xlsx', 'ndjson']));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const lake = join(dir.path, 'data/lake/dept_delivery/**/*.parquet');
    const rows = (
      await connection.runAndReadAll(
        `select source_file, record_count, valid_count from read_parquet('${lake}') order by source_file`,
      )
    ).getRows();
    connection.closeSync();
    instance.closeSync();
    const expected = files
      .filter((f) => f.flaw !== 'unknown_resource')
      .map((f) => [f.name, BigInt(f.flaw ? 0 : f.rows.length), BigInt(f.landed)])
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
    expect(rows.map((r) => [r[0], BigInt(r[1] as number), BigInt(r[2] as number)])).toEqual(expected);
    // Each connector moved what it delivered to done/: nothing is left in the inbox.
    for (const format of ['csv', 'xlsx', 'ndjson']) {
      const left = (await readdir(join(dir.path, 'data/demo-inbox', format))).filter((n) => !n.startsWith('.'));
      expect(left).toEqual(['done']);
    }
  });

  it('took every feed in through its network connector: no row came from the demo straight onto the bus', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const sources: Record<string, unknown[]> = {};
    for (const dataset of ['sensor_reading', 'video_alert', 'city_event', 'hotline_case', 'dept_delivery']) {
      const lake = join(dir.path, 'data/lake', dataset, '**/*.parquet');
      const reader = await connection.runAndReadAll(
        `select distinct _source from read_parquet('${lake}') order by _source`,
      );
      sources[dataset] = reader.getRows().map((r) => r[0]);
    }
    connection.closeSync();
    instance.closeSync();
    expect(sources).toEqual({
      sensor_reading: ['sensors'],
      video_alert: ['video'],
      city_event: ['events'],
      hotline_case: ['hotline'],
      dept_delivery: ['demo-csv', 'demo-ndjson', 'demo-xlsx'],
    });
  });

  it('every mart equals the ground truth: every grain, period, region, breakdown, resource and evaluation level', async () => {
    const martsPath = join(dir.path, 'data/marts.duckdb');
    const truth = await truthAsBuilt(city, martsPath, runStartedMs);
    const catalog = JSON.parse(await readFile(join(sqlDir, 'seeds', 'indicators.json'), 'utf8')) as CatalogIndicator[];
    for (const t of martTruths(truth, evaluationTruth(truth, catalog))) {
      expect(t.rows.length, t.mart).toBeGreaterThan(0);
      const actual = await queryMarts({ martsPath, sql: `select ${truthColumns(t).join(', ')} from ${t.mart}` });
      // Soft: one run reports the differences of every mart.
      expect.soft(martDifferences(t, actual), t.mart).toEqual([]);
    }
    // mart_indicators is the catalog itself.
    const indicators = await queryMarts({ martsPath, sql: 'select code, mart, value_column from mart_indicators' });
    expect(indicators.rows.map((r) => r.join(' ')).sort()).toEqual(
      catalog.map((i) => `${i.code} ${i.mart} ${i.value_column}`).sort(),
    );
    // Non-trivial: the demo's year has cases, follow-ups, closed events and online devices (alarm counts are 0: the
    // demo configures no thresholds, and the truth says so), and rows of every breakdown.
    const year = <T extends { grain: string; region_code: string }>(rows: readonly T[]): T =>
      rows.find((r) => r.grain === 'year' && r.region_code === '330000')!;
    expect(year(truth.hotline).followup_count).toBeGreaterThan(0);
    expect(year(truth.event_closure).closed_count).toBeGreaterThan(0);
    expect(year(truth.sensor_health).online_device_days).toBeGreaterThan(0);
    expect(year(truth.sensor_health).alarm_readings).toBe(0);
    expect(new Set(truth.hotline.map((r) => r.breakdown)).size).toBe(5);
    expect(new Set(truth.event_closure.map((r) => r.breakdown)).size).toBe(3);
    expect(new Set(truth.sensor_health.map((r) => r.device_type)).size).toBeGreaterThan(2);
  });

  it('no clear caller phone number is in any Parquet file, the marts or the log output', async () => {
    const phones = clearPhones(buildDemoCity({ ...demo, regions: loadCatalogFile('regions', bundledRegionsPath()) }));
    expect(phones.length).toBeGreaterThan(10);
    const haystacks: string[] = [run.stdout, run.stderr];
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const lake = join(dir.path, 'data/lake');
    const files = (await readdir(lake, { recursive: true })).filter((f) => f.endsWith('.parquet'));
    expect(files.some((f) => f.startsWith('hotline_case/'))).toBe(true);
    expect(files.some((f) => f.startsWith('_dlq/hotline/'))).toBe(true);
    // One query per folder of same-shaped files (a dataset, a feed's dead letters), not per file: the run leaves
    // thousands of files and each query costs milliseconds. The explicit list reads exactly these files.
    const byFolder = new Map<string, string[]>();
    for (const file of files) {
      const folder = file.split(/[\\/]dt=/)[0]!;
      const group = byFolder.get(folder);
      if (group) group.push(file);
      else byFolder.set(folder, [file]);
    }
    for (const group of byFolder.values()) {
      const list = group.map((file) => `'${join(lake, file).replaceAll("'", "''")}'`).join(', ');
      // Every column as text, so no type hides a value.
      const reader = await connection.runAndReadAll(
        `select to_json(t)::varchar as j from read_parquet([${list}], union_by_name = true) t`,
      );
      haystacks.push(
        reader
          .getRows()
          .map((r) => String(r[0]))
          .join('\n'),
      );
    }
    const marts = await DuckDBInstance.create(join(dir.path, 'data/marts.duckdb'), { access_mode: 'READ_ONLY' });
    const martsConnection = await marts.connect();
    const tables = (await martsConnection.runAndReadAll(`select table_name from information_schema.tables`)).getRows();
    for (const [table] of tables) {
      const reader = await martsConnection.runAndReadAll(`select to_json(t)::varchar from "${String(table)}" t`);
      haystacks.push(
        reader
          .getRows()
          .map((r) => String(r[0]))
          .join('\n'),
      );
    }
    martsConnection.closeSync();
    marts.closeSync();
    connection.closeSync();
    instance.closeSync();
    // The generated catalogs (the hub's and, under connectors/, the ones the demo handed over) sit in data/ too.
    const catalogFiles = await readdir(join(dir.path, 'data/catalogs'), { recursive: true, withFileTypes: true });
    for (const f of catalogFiles.filter((e) => e.isFile()))
      haystacks.push(await readFile(join(f.parentPath, f.name), 'utf8'));
    const all = haystacks.join('\n');
    const leaked = phones.filter((phone) => all.includes(phone));
    expect(leaked).toEqual([]);
  });
});
