import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createConnector } from '../../connectors/index.js';
import { loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { ConfigError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { CatalogUnavailableError, loadCatalogs, publishCatalogs, publishedCatalogPath } from './effective.js';
import { resolveCatalogs } from './resolve.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-catalog-sources-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configWith(overrides: Record<string, unknown>) {
  const file = join(dir, 'cityhub.yaml');
  await writeFile(
    file,
    stringify({
      region_code: '330000',
      data_dir: 'data',
      privacy: { salt: 'catalog-test-salt' },
      connectors: [{ id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 }],
      ...overrides,
    }),
  );
  return loadConfig(file);
}

describe('the demo hands its catalogs over as files', () => {
  it('writes them into the folder the hub gives it; the hub loads and publishes them', async () => {
    const loaded = await configWith({});
    const checked = preflight(loaded);
    const dataDir = join(dir, 'data');
    const connectors = loaded.config.connectors.map((c) =>
      createConnector(c, { regions: checked.catalogs.regions, checkpointDir: join(dataDir, 'checkpoints') }),
    );
    const catalogs = await loadCatalogs(checked.catalogSources, { dataDir, connectors, loaded: checked.catalogs });
    const handedOver = JSON.parse(await readFile(join(dataDir, 'catalogs/connectors/demo/devices.json'), 'utf8'));
    expect(catalogs.devices.length).toBeGreaterThan(0);
    expect(catalogs.devices).toEqual(handedOver);
    expect(catalogs.scenarios.length).toBeGreaterThan(0);
    expect((await readdir(join(dataDir, 'catalogs/connectors/demo'))).sort()).toEqual([
      'data_resources.json',
      'devices.json',
      'scenarios.json',
    ]);
    await publishCatalogs(catalogs, dataDir);
    expect(JSON.parse(await readFile(publishedCatalogPath(dataDir, 'devices'), 'utf8'))).toEqual(handedOver);
  });

  it('`catalogs.devices: none` wins over the demo: the hub gets no devices', async () => {
    const loaded = await configWith({ catalogs: { devices: 'none' } });
    const checked = preflight(loaded);
    const dataDir = join(dir, 'data');
    const connectors = loaded.config.connectors.map((c) =>
      createConnector(c, { regions: checked.catalogs.regions, checkpointDir: join(dataDir, 'checkpoints') }),
    );
    const catalogs = await loadCatalogs(checked.catalogSources, { dataDir, connectors, loaded: checked.catalogs });
    expect(catalogs.devices).toEqual([]);
    expect(catalogs.scenarios.length).toBeGreaterThan(0);
  });
});

describe('`cityhub models run` catalogs (no connector runs)', () => {
  it('reads a connector-provided catalog from what the hub published', async () => {
    const loaded = await configWith({});
    const dataDir = join(dir, 'data');
    await publishCatalogs(
      {
        regions: [],
        data_resources: [],
        scenarios: [],
        devices: [{ device_id: 'GAS-1', device_type: 'gas_methane', region_code: '330106', reporting_interval_s: 300 }],
      },
      dataDir,
    );
    const catalogs = resolveCatalogs(loaded);
    expect(catalogs.devices.map((d) => d.device_id)).toEqual(['GAS-1']);
    // The region catalog comes from its own source (bundled), not from the published copy.
    expect(catalogs.regions).toHaveLength(39);
  });

  it('fails clearly, naming the connector and the missing file, before any hub run published it', async () => {
    const loaded = await configWith({});
    expect(() => resolveCatalogs(loaded)).toThrow(CatalogUnavailableError);
    expect(() => resolveCatalogs(loaded)).toThrow(/provided by connector demo.*catalogs\/data_resources\.json/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('applies the config rule: a catalog without a source is a ConfigError naming the key', async () => {
    const loaded = await configWith({
      connectors: [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor' }],
      catalogs: { data_resources: 'none', scenarios: 'none' },
    });
    expect(() => resolveCatalogs(loaded)).toThrow(ConfigError);
    expect(() => resolveCatalogs(loaded)).toThrow(/catalogs\.devices: /);
  });
});

describe('the engine never imports the demo connector', () => {
  async function sources(folder: string): Promise<string[]> {
    const entries = await readdir(folder, { withFileTypes: true, recursive: true });
    return entries
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      .map((e) => join(e.parentPath, e.name));
  }

  it('no module under pipelines/ names connectors/demo (the registry in connectors/index.ts is the only way in)', async () => {
    const root = packageRoot();
    const offenders: string[] = [];
    for (const file of await sources(join(root, 'pipelines'))) {
      if (/(from|import\()\s*['"][./]*connectors\/demo\b/.test(await readFile(file, 'utf8')))
        offenders.push(relative(root, file));
    }
    expect(offenders).toEqual([]);
  });
});
