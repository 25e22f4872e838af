/**
 * Federation (issue 11, item 3): three city hubs serve their marts over the tier API, each its own process; a
 * provincial hub pulls them (`cityhub pull`), builds (`cityhub models run`) and serves the roll-up. The province's
 * figures must equal a recomputation from the cities' marts (numerators and denominators summed, never averaged);
 * a city that goes down is stale with its age while its last good values stay; it recovers when it is back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../pipelines/api/tokens.js';
import { queryMarts } from '../../pipelines/models/query.js';
import { buildTestMarts, hotline, type MartRow, tempDirs, testRegions } from '../../pipelines/models/testing.js';
import type { Region } from '../../schemas/index.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { freePorts, type HubProcess, startCli, tempDir, writeConfig } from '../support/hub-process.js';
import { sumMemberRows } from '../support/rollup.js';

const regions: Region[] = [
  ...testRegions,
  { code: '330300', name: '温州市', level: 'city', parent_code: '330000' },
  { code: '330302', name: '鹿城区', level: 'district', parent_code: '330300' },
];

interface City {
  id: string;
  region: string;
  district: string;
  token: string;
  port: number;
  dir: string;
  martsPath: string;
  config: string;
  process?: HubProcess;
}

/** A month of 12345 cases in a city's district: `n` received, every `k`-th resolved and satisfied. */
function cases(city: string, district: string, n: number, k: number) {
  return Array.from({ length: n }, (_, i) => {
    const received = `2026-07-${String(1 + (i % 28)).padStart(2, '0')}T02:00:00Z`;
    const done = i % k === 0;
    return hotline({
      case_id: `${city}-${i}`,
      received_at: received,
      region_code: i % 2 === 0 ? district : city,
      status: 'closed',
      updated_at: received.replace('T02', 'T05'),
      responded_at: received.replace('T02', 'T03'),
      closed_at: received.replace('T02', 'T05'),
      deadline_at: received.replace('T02:00:00Z', 'T23:00:00Z'),
      contacted: true,
      resolved: done,
      satisfaction: done ? 'satisfied' : 'unsatisfied',
    });
  });
}

let dirs: Awaited<ReturnType<typeof tempDirs>>;
let provinceDir: Awaited<ReturnType<typeof tempDir>>;
let provinceConfig: string;
let provinceApiPort: number;
const nationalToken = 'national-platform-token-0123456789';
const cities: City[] = [];

const now = new Date('2026-08-20T10:00:00+08:00');

async function startCity(city: City): Promise<void> {
  city.process = startCli(['run', '--config', city.config, '--role', 'api']);
  await city.process.waitFor(/api listening on/);
}

async function stopCity(city: City): Promise<void> {
  city.process!.child.kill('SIGTERM');
  expect(await city.process!.exited).toBe(0);
}

const provinceQuery = async (sql: string): Promise<MartRow[]> => {
  const r = await queryMarts({ martsPath: join(provinceDir.path, 'data', 'marts.duckdb'), sql });
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
};

async function buildProvince(): Promise<void> {
  const built = await runCliInProcess(['models', 'run', '--config', provinceConfig]);
  expect(built.code, built.stderr).toBe(0);
}

beforeAll(async () => {
  dirs = await tempDirs();
  const ports = await freePorts(4);
  const specs = [
    { id: 'hangzhou', region: '330100', district: '330102', n: 40, k: 2 },
    { id: 'ningbo', region: '330200', district: '330203', n: 30, k: 3 },
    { id: 'wenzhou', region: '330300', district: '330302', n: 20, k: 5 },
  ];
  for (const [i, s] of specs.entries()) {
    const built = await buildTestMarts(dirs, {
      regionCode: s.region,
      lake: { hotline_case: cases(s.region, s.district, s.n, s.k) },
      catalogs: { regions },
      now,
    });
    expect(built.result.tests.filter((t) => !t.passed)).toEqual([]);
    const dir = await dirs.make();
    const token = `${s.id}-grants-the-province-0123456789`;
    const config = await writeConfig(dir, {
      region_code: s.region,
      data_dir: 'data',
      privacy: { salt: 'federation-test-salt-01' },
      connectors: [{ id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 }],
      models: { marts_path: built.result.martsPath },
      api: { listen: `127.0.0.1:${ports[i]}`, tokens: [{ id: 'zhejiang', sha256: tokenHash(token), regions: ['33'] }] },
    });
    cities.push({ ...s, token, port: ports[i]!, dir, martsPath: built.result.martsPath, config });
  }
  await Promise.all(cities.map(startCity));
  provinceDir = await tempDir('province');
  provinceApiPort = ports[3]!;
  // One config for the province: pulls, builds, and (in the second test) serves its tier's API.
  provinceConfig = await writeConfig(provinceDir.path, {
    region_code: '330000',
    tier: 'province',
    data_dir: 'data',
    privacy: { salt: 'federation-test-salt-02' },
    // A province lands nothing of its own: no connector provides these catalogs.
    catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
    federation: {
      timeout_ms: 5000,
      retries: 1,
      members: cities.map((c) => ({
        id: c.id,
        url: `http://127.0.0.1:${c.port}/`,
        token: c.token,
        region_code: c.region,
      })),
    },
    api: {
      listen: `127.0.0.1:${provinceApiPort}`,
      tokens: [{ id: 'national', sha256: tokenHash(nationalToken), regions: ['33'] }],
    },
  });
}, 180_000);

afterAll(async () => {
  for (const city of cities)
    if (city.process && city.process.child.exitCode === null) city.process.child.kill('SIGTERM');
  await Promise.all(cities.map((c) => c.process?.exited));
  await provinceDir?.remove();
  await dirs?.cleanup();
});

const snapshotOf = async (city: City) =>
  String(
    (await queryMarts({ martsPath: city.martsPath, sql: 'select max(build_id) from cityhub_run_log' })).rows[0]![0],
  );

describe('a provincial hub over three city hubs', () => {
  it('pulls every city and rolls their figures up from numerators and denominators', async () => {
    const pulled = await runCliInProcess(['pull', '--config', provinceConfig]);
    expect(pulled.code, pulled.stderr).toBe(0);
    for (const city of cities) expect(pulled.stdout).toMatch(new RegExp(`${city.id}: pulled snapshot \\S+, \\d+ rows`));
    await buildProvince();

    // The recomputation, from each city's own marts file: its rows at its own region, summed.
    const expected = sumMemberRows(
      await Promise.all(
        cities.map(
          async (city) =>
            (
              await queryMarts({
                martsPath: city.martsPath,
                sql: `select indicator_code, grain, period, numerator, denominator from mart_indicator_values where region_code = '${city.region}'`,
              })
            ).rows,
        ),
      ),
    );
    const rollups = await provinceQuery(
      "select * from mart_indicator_values where region_code = '330000' order by indicator_code, grain, period",
    );
    expect(rollups.length).toBe(expected.size);
    for (const row of rollups) {
      const want = expected.get(`${row.indicator_code} ${row.grain} ${row.period}`)!;
      expect(row.source).toBe('rollup');
      expect(row.member_count).toBe(want.members);
      expect(row.denominator).toBeCloseTo(want.denominator, 9);
      if (want.numerator === null) {
        expect(row.numerator).toBeNull();
        expect(row.value).toBeNull();
      } else {
        expect(row.numerator).toBeCloseTo(want.numerator, 9);
        expect(row.value).toBe(want.denominator === 0 ? null : want.numerator / want.denominator);
      }
    }
    // Hand-checked: July's resolution rate over the province's follow-ups — 20 of 40, 10 of 30, 4 of 20.
    expect(
      rollups.find(
        (r) => r.indicator_code === 'hotline_resolution_rate' && r.grain === 'month' && r.period === '2026-07',
      ),
    ).toEqual(expect.objectContaining({ numerator: 34, denominator: 90, value: 34 / 90, member_count: 3 }));

    // Each city's rows, as it serves them, with their provenance.
    const columns =
      'indicator_code, grain, period, period_start, period_end, is_complete, counted_end, region_code, region_level, value, numerator, denominator';
    for (const city of cities) {
      const order = 'order by indicator_code, grain, period, region_code';
      const own = await queryMarts({
        martsPath: city.martsPath,
        sql: `select ${columns} from mart_indicator_values ${order}`,
      });
      const kept = await provinceQuery(
        `select ${columns}, source, member_snapshot_id from mart_indicator_values where member_id = '${city.id}' ${order}`,
      );
      expect(kept.map((r) => Object.values(r).slice(0, -2))).toEqual(own.rows);
      expect(new Set(kept.map((r) => `${r.source} ${r.member_snapshot_id}`))).toEqual(
        new Set([`member ${await snapshotOf(city)}`]),
      );
    }
  });

  it('keeps a city that went down with its last good values, stale with its age, and recovers it', async () => {
    const ningbo = cities.find((c) => c.id === 'ningbo')!;
    const before = await provinceQuery(
      "select * exclude (pulled_at) from mart_indicator_values where member_id = 'ningbo' order by indicator_code, grain, period, region_code",
    );
    await stopCity(ningbo);
    const pulled = await runCliInProcess(['pull', '--config', provinceConfig]);
    expect(pulled.code).toBe(1);
    expect(pulled.stdout).toMatch(
      /ningbo: failed: member ningbo: GET \/api\/v1\/snapshots\/current failed: .* \(its last good values stay\)/,
    );
    expect(pulled.stdout).toMatch(/hangzhou: unchanged/);
    await buildProvince();
    const after = await provinceQuery(
      "select * exclude (pulled_at) from mart_indicator_values where member_id = 'ningbo' order by indicator_code, grain, period, region_code",
    );
    expect(after).toEqual(before);

    // The province's own API says which member is stale, and since when.
    const port = provinceApiPort;
    const token = nationalToken;
    const api = startCli(['run', '--config', provinceConfig, '--role', 'api']);
    try {
      await api.waitFor(/api listening on/);
      const status = async () =>
        (
          (await (
            await fetch(`http://127.0.0.1:${port}/api/v1/snapshots/current`, {
              headers: { authorization: `Bearer ${token}` },
            })
          ).json()) as { members: { member_id: string; stale: boolean; age_s: number; last_error: string | null }[] }
        ).members;
      const down = await status();
      expect(down.find((m) => m.member_id === 'ningbo')).toEqual(
        expect.objectContaining({
          stale: true,
          age_s: expect.any(Number),
          last_error: expect.stringContaining('failed'),
        }),
      );
      expect(down.filter((m) => m.stale).map((m) => m.member_id)).toEqual(['ningbo']);

      await startCity(ningbo);
      const back = await runCliInProcess(['pull', '--config', provinceConfig]);
      expect(back.code, back.stdout).toBe(0);
      expect(back.stdout).toMatch(/ningbo: unchanged/);
      await buildProvince();
      // The API sees the new snapshot within its re-check interval.
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect((await status()).filter((m) => m.stale)).toEqual([]);
    } finally {
      api.child.kill('SIGTERM');
      await api.exited;
    }
  });
});
