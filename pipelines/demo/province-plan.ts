/**
 * The provincial demo's four hubs (`cityhub run --demo province`): three city hubs of 浙江 (330000), each running the
 * seeded demo city limited to its own region, and one province hub pulling and rolling them up over the tier API.
 * Pure: given the folder, the ports and the token hashes, it says what to write and how to start each hub; the
 * command (pipelines/cli/demo-province.ts) does the writing and the starting.
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Region } from '../../schemas/index.js';
import { demoConfig } from '../config/load.js';

export const DEMO_PROVINCE_CODE = '330000';

export interface DemoCity {
  /** The hub's name: its files, its output prefix, its member id at the province. */
  id: string;
  name: string;
  regionCode: string;
  /** The simulator's seed: each city its own, so that their figures differ as real cities' do. */
  seed: number;
}

/**
 * The cities, each with what the demo simulator gives it (connectors/demo/layout.ts): 杭州 has sensors, cameras,
 * 12345 traffic, grid inspectors and most catalogued resources; 宁波 the same on a smaller scale; 温州 is a city just
 * connecting — only its departments deliver (one yearly delivery in the third month), so it brings its data-sharing
 * figures and its scenarios (none covered) to the province, and reports 0 of 0 for hotline, events and sensors.
 */
export const demoCities: readonly DemoCity[] = [
  { id: 'hangzhou', name: '杭州', regionCode: '330100', seed: 20261123 },
  { id: 'ningbo', name: '宁波', regionCode: '330200', seed: 20261124 },
  { id: 'wenzhou', name: '温州', regionCode: '330300', seed: 20261125 },
];

export const DEMO_PROVINCE_ID = 'province';

/**
 * How the province pulls in the demo: every 15 s (node-cron with seconds) so its roll-up follows the cities soon
 * after their marts exist; a member whose pulls keep failing (a city slow to answer on a loaded machine) is tried
 * again after 30 s, not after the 5 minutes of a real deployment.
 */
export const demoFederation = {
  schedule: '*/15 * * * * *',
  timeout_ms: 10_000,
  retries: 2,
  breaker_failures: 3,
  breaker_cooldown_ms: 30_000,
} as const;

/**
 * Each city's history: three months (the demo's default, so 温州's yearly delivery falls within it) at a third of the
 * demo's volume, sent straight to the bus and not live: every city has landed it and built its marts within about
 * half a minute on a busy 2-core machine, and the figures then stay put while you compare them.
 */
export const demoCityHistory = { months: 3, scale: 0.3, live: false } as const;

/**
 * A city rebuilds its marts every 30 s instead of every minute: its first build may come before its whole history
 * has landed, and the next one (which the province pulls within 15 s) should not be a minute away. A rebuild of a
 * city this size takes a few seconds.
 */
export const demoCityModels = { schedule: '*/30 * * * * *' } as const;

export interface DemoHubPlan {
  id: string;
  /** What the output calls it, e.g. `杭州 330100`. */
  label: string;
  tier: 'city' | 'province';
  /** Absolute path of its config file (YAML). */
  configFile: string;
  /** The config, as written to configFile (secrets as `${ENV}` references, tokens as their SHA-256 only). */
  config: Record<string, unknown>;
  /** The base URL of its tier API. */
  apiUrl: string;
  /** Environment variables the hub's process needs beside the parent's (the province: its member tokens). */
  envNames: readonly string[];
}

export interface ProvinceDemoPlan {
  folder: string;
  cities: (DemoHubPlan & { city: DemoCity; regionsFile: string; regionsCsv: string })[];
  province: DemoHubPlan;
  /** Every file to write, config files included: path → text. */
  files: Map<string, string>;
}

export interface ProvinceDemoInput {
  /** Absolute folder holding the configs, each hub's data_dir and the cities' region catalogs. */
  folder: string;
  /** A free loopback port per hub id (the cities' ids and `province`). */
  ports: Readonly<Record<string, number>>;
  /** The SHA-256 of the token each city grants the province, by city id. */
  memberTokenHashes: Readonly<Record<string, string>>;
  /** The SHA-256 of the token the province grants the national platform. */
  nationalTokenHash: string;
  /** The region catalog the cities' catalogs are cut from (the bundled Zhejiang one). */
  regions: readonly Region[];
}

/** The environment variable through which the province gets the token a city granted it. */
export function memberTokenEnv(cityId: string): string {
  return `CITYHUB_DEMO_TOKEN_${cityId.toUpperCase()}`;
}

const loopback = (port: number) => `127.0.0.1:${port}`;
const apiUrlOf = (port: number) => `http://${loopback(port)}/`;

function portOf(ports: Readonly<Record<string, number>>, id: string): number {
  const port = ports[id];
  if (port === undefined) throw new Error(`no port for hub ${id}`);
  return port;
}

/** A city's own rows of the region catalog (itself and its districts) as the CSV its hub's catalogs.regions reads. */
export function cityRegionsCsv(regions: readonly Region[], cityCode: string): string {
  const prefix = cityCode.slice(0, 4);
  const own = regions.filter((r) => r.code.startsWith(prefix));
  if (!own.some((r) => r.code === cityCode)) throw new Error(`the region catalog has no city ${cityCode}`);
  const lines = own.map((r) => [r.code, r.name, r.level, r.parent_code ?? ''].join(','));
  return `code,name,level,parent_code\n${lines.join('\n')}\n`;
}

export function provinceDemoPlan(input: ProvinceDemoInput): ProvinceDemoPlan {
  const { folder, ports } = input;
  const files = new Map<string, string>();
  // Every hub uses the demo's key: a city's caller hashes stay the same from one demo run to the next.
  const privacy = demoConfig.privacy;
  // Quiet hubs: each prints its progress, indicators and summary; its JSON log shows only what went wrong.
  const log = { level: 'warn' };
  const cities = demoCities.map((city) => {
    const port = portOf(ports, city.id);
    const tokenHash = input.memberTokenHashes[city.id];
    if (tokenHash === undefined) throw new Error(`no token for city ${city.id}`);
    const regionsFile = join(folder, `${city.id}-regions.csv`);
    const regionsCsv = cityRegionsCsv(input.regions, city.regionCode);
    const config = {
      region_code: city.regionCode,
      tier: 'city',
      // Relative to the config file: <folder>/<city>/ holds its bus, lake, marts and checkpoints.
      data_dir: city.id,
      privacy,
      // The demo simulates the regions of the hub's catalog: this city's, nothing of its neighbours'.
      catalogs: { regions: `${city.id}-regions.csv` },
      connectors: [{ id: 'demo', kind: 'demo', seed: city.seed, ...demoCityHistory }],
      models: demoCityModels,
      api: {
        listen: loopback(port),
        tokens: [{ id: 'zhejiang-province', sha256: tokenHash, regions: [DEMO_PROVINCE_CODE.slice(0, 2)] }],
      },
      log,
    };
    const configFile = join(folder, `${city.id}.yaml`);
    files.set(regionsFile, regionsCsv);
    files.set(configFile, configText(config));
    return {
      id: city.id,
      label: `${city.name} ${city.regionCode}`,
      tier: 'city' as const,
      configFile,
      config,
      apiUrl: apiUrlOf(port),
      envNames: [],
      city,
      regionsFile,
      regionsCsv,
    };
  });
  const provincePort = portOf(ports, DEMO_PROVINCE_ID);
  const provinceConfig = {
    region_code: DEMO_PROVINCE_CODE,
    tier: 'province',
    data_dir: DEMO_PROVINCE_ID,
    privacy,
    // A province lands nothing of its own (the bundled region catalog names its cities).
    catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
    federation: {
      ...demoFederation,
      members: cities.map((c) => ({
        id: c.id,
        url: c.apiUrl,
        token: `\${${memberTokenEnv(c.id)}}`,
        region_code: c.city.regionCode,
      })),
    },
    api: {
      listen: loopback(provincePort),
      tokens: [{ id: 'national', sha256: input.nationalTokenHash, regions: [DEMO_PROVINCE_CODE.slice(0, 2)] }],
    },
    log,
  };
  const province: DemoHubPlan = {
    id: DEMO_PROVINCE_ID,
    label: `浙江 ${DEMO_PROVINCE_CODE}`,
    tier: 'province',
    configFile: join(folder, `${DEMO_PROVINCE_ID}.yaml`),
    config: provinceConfig,
    apiUrl: apiUrlOf(provincePort),
    envNames: cities.map((c) => memberTokenEnv(c.id)),
  };
  files.set(province.configFile, configText(provinceConfig));
  return { folder, cities, province, files };
}

/** A config file as written: YAML under a line saying where it comes from (it is rewritten at every demo run). */
function configText(config: Record<string, unknown>): string {
  return `# written by \`cityhub run --demo province\` at every start (fresh ports and tokens): edits do not last\n${stringify(config)}`;
}
