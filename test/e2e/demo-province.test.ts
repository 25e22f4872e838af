/**
 * The provincial demo (issue 11, item 5): `cityhub run --demo province` runs three city hubs and a province hub,
 * each its own process on loopback. The province must pull all three and its roll-up must equal a recomputation from
 * the cities' own marts (numerators and denominators summed); its API refuses a caller without a token; SIGTERM to
 * the demo stops every hub cleanly. A hub that dies stops the demo with exit 1, naming it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../pipelines/api/tokens.js';
import { queryMarts } from '../../pipelines/models/query.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { type HubProcess, startCli, tempDir } from '../support/hub-process.js';
import { sumMemberRows } from '../support/rollup.js';

const cities = [
  { id: 'hangzhou', region: '330100' },
  { id: 'ningbo', region: '330200' },
  { id: 'wenzhou', region: '330300' },
];

/** A city's values at its own region and the snapshot they belong to, read in one query (one marts file). */
async function cityValues(folder: string, city: { id: string; region: string }) {
  const result = await queryMarts({
    martsPath: join(folder, city.id, 'marts.duckdb'),
    sql: `select s.snapshot_id, v.indicator_code, v.grain, v.period, v.numerator, v.denominator
          from (select cast(max(build_id) as varchar) as snapshot_id from cityhub_run_log) s
          left join mart_indicator_values v on v.region_code = '${city.region}'`,
  });
  return {
    snapshotId: String(result.rows[0]![0]),
    rows: result.rows.filter((r) => r[1] !== null).map((r) => r.slice(1)),
  };
}

interface ProvinceRow {
  indicator_code: string;
  grain: string;
  period: string;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  member_count: number;
  source: string;
}

describe('cityhub run --demo province', () => {
  let cwd: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    cwd = await tempDir('demo-province');
  });
  afterAll(async () => {
    await cwd?.remove();
  });

  it('runs three cities and a province that rolls them up, and stops them all cleanly', async () => {
    const folder = join(cwd.path, 'data', 'demo-province');
    const demo = startCli(['run', '--demo', 'province'], { cwd: cwd.path });
    try {
      const curl = await demo.waitFor(/curl -H 'Authorization: Bearer \S+' '\S+\/api\/v1\/snapshots\/current'/);
      const [, token, provinceUrl] = /Bearer (\S+)' '(\S+\/)api\/v1\/snapshots\/current'/.exec(curl)!;
      const national = { authorization: `Bearer ${token}` };
      // The configs hold the token's hash only; the cities' tokens are not in the province's file either.
      const provinceYaml = await readFile(join(folder, 'province.yaml'), 'utf8');
      expect(provinceYaml).toContain(tokenHash(token!));
      expect(provinceYaml).not.toContain(token);
      for (const city of cities)
        expect(provinceYaml).toContain(`token: \${CITYHUB_DEMO_TOKEN_${city.id.toUpperCase()}}`);

      await demo.waitFor(/\[demo\] +province roll-up 330000: 3 of 3 members pulled and fresh/);
      expect((await fetch(`${provinceUrl}api/v1/aggregates?grain=month`)).status).toBe(401);
      expect(
        (await fetch(`${provinceUrl}api/v1/snapshots/current`, { headers: { authorization: 'Bearer wrong' } })).status,
      ).toBe(401);

      // The province's values must come from the snapshots the cities publish now: the cities rebuild every 30 s and
      // the province pulls every 15 s, so wait until the province's members are the cities' current snapshots.
      let compared = false;
      for (let attempt = 0; attempt < 120 && !compared; attempt++) {
        const own = await Promise.all(cities.map((city) => cityValues(folder, city)));
        const snapshot = (await (
          await fetch(`${provinceUrl}api/v1/snapshots/current`, { headers: national })
        ).json()) as {
          snapshot_id: string;
          members: { member_id: string; snapshot_id: string | null; stale: boolean }[];
        };
        const page = (await (
          await fetch(`${provinceUrl}api/v1/aggregates?region=330000&limit=10000`, { headers: national })
        ).json()) as { snapshot_id: string; rows: ProvinceRow[] };
        const current = cities.every(
          (city, i) =>
            snapshot.members.find((m) => m.member_id === city.id)?.snapshot_id === own[i]!.snapshotId &&
            page.snapshot_id === snapshot.snapshot_id,
        );
        if (!current) {
          await sleep(1000);
          continue;
        }
        expect(snapshot.members.map((m) => [m.member_id, m.stale])).toEqual(cities.map((c) => [c.id, false]));
        const expected = sumMemberRows(own.map(({ rows }) => rows));
        const rollUps = page.rows.filter((r) => r.source === 'rollup');
        expect(rollUps.length).toBe(expected.size);
        for (const row of rollUps) {
          const want = expected.get(`${row.indicator_code} ${row.grain} ${row.period}`)!;
          expect(row.member_count).toBe(want.members);
          expect(row.denominator).toBeCloseTo(want.denominator, 6);
          if (want.numerator === null) expect(row.numerator).toBeNull();
          else {
            expect(row.numerator).toBeCloseTo(want.numerator, 6);
            if (want.denominator !== 0) expect(row.value).toBeCloseTo(want.numerator / want.denominator, 9);
          }
        }
        // At least one figure every city contributes to: the data-sharing rate of the history's last month.
        const sharing = rollUps.filter(
          (r) => r.indicator_code === 'data_sharing_rate' && r.grain === 'month' && r.member_count === 3,
        );
        expect(sharing.length).toBeGreaterThan(0);
        compared = true;
      }
      expect(compared, 'the province never rolled up the snapshots the cities publish').toBe(true);

      demo.child.kill('SIGTERM');
      expect(await demo.exited, demo.stdout() + demo.stderr()).toBe(0);
      for (const hub of [...cities.map((c) => c.id), 'province'])
        expect(demo.stdout()).toMatch(new RegExp(`\\[demo\\] +${hub} ended \\(exit code 0\\)`));
      expect(demo.stdout()).toMatch(/\[demo\] +every hub ended cleanly/);
      // Each hub stopped as a hub does: its summary, under its name.
      for (const hub of cities) expect(demo.stdout()).toMatch(new RegExp(`\\[${hub.id}\\] +run summary`));
    } finally {
      await stopDemo(demo);
    }
  });

  it('stops every hub and exits 1 when one of them dies, naming it', async () => {
    // A folder of its own: with the first test's marts the cities would be ready, and the province started, at once.
    const own = await tempDir('demo-province-dies');
    const demo = startCli(['run', '--demo', 'province'], { cwd: own.path });
    try {
      const started = await demo.waitFor(/\[demo\] +ningbo started: pid \d+/);
      // The others are running (their graceful stop is installed) before ningbo goes.
      await demo.waitFor(/\[hangzhou\] +api listening on/);
      await demo.waitFor(/\[wenzhou\] +api listening on/);
      process.kill(Number(/pid (\d+)/.exec(started)![1]), 'SIGKILL');
      expect(await demo.exited).toBe(1);
      expect(demo.stdout()).toMatch(/\[demo\] +ningbo ended unexpectedly \(signal SIGKILL\): stopping the others/);
      for (const hub of ['hangzhou', 'wenzhou'])
        expect(demo.stdout()).toMatch(new RegExp(`\\[demo\\] +${hub} ended \\(exit code 0\\)`));
      // The province starts only once every city is ready: it never did.
      expect(demo.stdout()).not.toMatch(/\[province\]/);
      expect(demo.stderr()).toMatch(/hub ningbo ended unexpectedly \(signal SIGKILL\)/);
    } finally {
      await stopDemo(demo);
      await own.remove();
    }
  });

  it('is refused with --config or --role, and for a demo it does not know', async () => {
    const unknown = await runCliInProcess(['run', '--demo', 'national']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--demo must be one of: province (got "national")');
    for (const extra of [
      ['--config', 'cityhub.yaml'],
      ['--role', 'all'],
    ]) {
      const refused = await runCliInProcess(['run', '--demo', 'province', ...extra]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('takes neither --config nor --role');
    }
    const help = await runCliInProcess(['run', '--help']);
    expect(help.stdout).toContain('cityhub run --demo province [--for DURATION]');
  });
});

/**
 * A demo still running when its test failed is stopped the way a user would (SIGTERM), so its hubs, each in a
 * process group of its own, stop too; the helper's SIGKILL after the test would leave them running.
 */
async function stopDemo(demo: HubProcess): Promise<void> {
  if (demo.child.exitCode !== null || demo.child.signalCode !== null) return;
  demo.child.kill('SIGTERM');
  await demo.exited;
}
