import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tokenHash } from '../api/tokens.js';
import { bundledRegionsPath, loadCatalogFile } from '../catalogs/load.js';
import { loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { hubConfig } from '../config/schema.js';
import { cityRegionsCsv, memberTokenEnv, provinceDemoPlan } from './province-plan.js';

const regions = loadCatalogFile('regions', bundledRegionsPath());
const memberTokens = {
  hangzhou: 'hangzhou-grants-the-province-token',
  ningbo: 'ningbo-grants-the-province-token',
  wenzhou: 'wenzhou-grants-the-province-token',
};
const nationalToken = 'the-province-grants-the-national-platform';

function planIn(folder: string) {
  return provinceDemoPlan({
    folder,
    ports: { hangzhou: 41001, ningbo: 41002, wenzhou: 41003, province: 41004 },
    memberTokenHashes: Object.fromEntries(Object.entries(memberTokens).map(([id, t]) => [id, tokenHash(t)])),
    nationalTokenHash: tokenHash(nationalToken),
    regions,
  });
}

const tokenEnv = Object.fromEntries(Object.entries(memberTokens).map(([id, t]) => [memberTokenEnv(id), t]));

describe('the provincial demo plan', () => {
  let folder: string | undefined;
  afterEach(async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
    folder = undefined;
  });

  it('makes three city configs and a province config that pass the config schema', () => {
    const plan = planIn('/demo');
    expect(plan.cities.map((c) => [c.id, c.config.region_code])).toEqual([
      ['hangzhou', '330100'],
      ['ningbo', '330200'],
      ['wenzhou', '330300'],
    ]);
    for (const hub of [...plan.cities, plan.province]) {
      const parsed = hubConfig.safeParse(
        hub.tier === 'province' ? { ...hub.config, ...interpolated(hub) } : hub.config,
      );
      expect(parsed.error?.issues, hub.id).toBeUndefined();
    }
    expect(plan.province.config).toMatchObject({ region_code: '330000', tier: 'province' });
  });

  it('wires the province to each city API with the token it was granted, by environment only', () => {
    const plan = planIn('/demo');
    const members = (plan.province.config.federation as { members: Record<string, string>[] }).members;
    expect(members).toEqual(
      plan.cities.map((c) => ({
        id: c.id,
        url: c.apiUrl,
        token: `\${CITYHUB_DEMO_TOKEN_${c.id.toUpperCase()}}`,
        region_code: c.city.regionCode,
      })),
    );
    expect(plan.province.envNames).toEqual(Object.keys(tokenEnv));
    for (const city of plan.cities) {
      const api = city.config.api as { listen: string; tokens: { sha256: string; regions: string[] }[] };
      expect(city.apiUrl).toBe(`http://${api.listen}/`);
      expect(api.tokens).toEqual([
        expect.objectContaining({ sha256: tokenHash(memberTokens[city.id as keyof typeof memberTokens]) }),
      ]);
    }
    const provinceApi = plan.province.config.api as { listen: string; tokens: { id: string; sha256: string }[] };
    expect(provinceApi).toEqual({
      listen: '127.0.0.1:41004',
      tokens: [{ id: 'national', sha256: tokenHash(nationalToken), regions: ['33'] }],
    });
    // No file it writes holds a token in clear.
    for (const text of plan.files.values())
      for (const token of [...Object.values(memberTokens), nationalToken]) expect(text).not.toContain(token);
  });

  it('gives each city a region catalog of its own city and districts only', () => {
    const csv = cityRegionsCsv(regions, '330300');
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('code,name,level,parent_code');
    expect(lines[1]).toBe('330300,温州市,city,330000');
    expect(lines.slice(1).every((l) => l.startsWith('3303'))).toBe(true);
    expect(lines.length - 1).toBe(regions.filter((r) => r.code.startsWith('3303')).length);
    expect(() => cityRegionsCsv(regions, '330600')).toThrow(/no city 330600/);
  });

  it('writes files that load and pass preflight as `cityhub run` reads them', async () => {
    folder = await mkdtemp(join(tmpdir(), 'cityhub-demo-plan-'));
    const plan = planIn(folder);
    for (const [path, text] of plan.files) await writeFile(path, text);
    for (const hub of [...plan.cities, plan.province]) {
      const loaded = loadConfig(hub.configFile, tokenEnv);
      const checked = preflight(loaded);
      expect(loaded.paths.martsPath).toBe(join(folder, hub.id, 'marts.duckdb'));
      if (hub.tier === 'city') {
        // The demo simulates the regions of this catalog: the city's own, no other city's.
        const prefix = (hub.config.region_code as string).slice(0, 4);
        expect(checked.catalogs.regions.length).toBeGreaterThan(1);
        expect(checked.catalogs.regions.every((r) => r.code.startsWith(prefix))).toBe(true);
      } else {
        expect(loaded.config.federation.members.map((m) => m.token)).toEqual(Object.values(memberTokens));
        expect(loaded.config.federation.schedule).toBe('*/15 * * * * *');
      }
    }
    expect(parse(await readFile(plan.province.configFile, 'utf8'))).toEqual(plan.province.config);
    // The member tokens come from the environment only: a province started without them is refused, by name.
    expect(() => loadConfig(plan.province.configFile, {})).toThrow(
      /federation\.members\[0\]\.token: environment variable CITYHUB_DEMO_TOKEN_HANGZHOU to be set/,
    );
  });
});

/** The province's federation members with their `${ENV}` tokens replaced, as loadConfig does. */
function interpolated(hub: { config: Record<string, unknown> }) {
  const federation = hub.config.federation as { members: { id: string; token: string }[] };
  return {
    federation: {
      ...federation,
      members: federation.members.map((m) => ({ ...m, token: memberTokens[m.id as keyof typeof memberTokens] })),
    },
  };
}
