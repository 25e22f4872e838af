import { resolve } from 'node:path';
import { DemoConnector } from '../../connectors/demo/connector.js';
import type { LoadedConfig } from '../config/load.js';
import { bundledRegionsPath, type Catalogs, loadCatalogFile } from './load.js';

/**
 * The hub's reference catalogs: configured files first; for what is not configured, the demo city's generated
 * catalogs when a demo connector is configured; otherwise empty (the marts then have nothing to require).
 */
export function resolveCatalogs(loaded: LoadedConfig, demo?: DemoConnector): Catalogs {
  const { config, paths } = loaded;
  const at = (p: string) => resolve(paths.baseDir, p);
  const regions = loadCatalogFile(
    'regions',
    config.catalogs.regions ? at(config.catalogs.regions) : bundledRegionsPath(),
  );
  const demoConfig = config.connectors.find((c) => c.kind === 'demo');
  const city = demo?.city ?? (demoConfig ? new DemoConnector(demoConfig, regions).city : undefined);
  const files = config.catalogs;
  return {
    regions,
    data_resources: files.data_resources
      ? loadCatalogFile('data_resources', at(files.data_resources))
      : (city?.catalogs.data_resources ?? []),
    scenarios: files.scenarios ? loadCatalogFile('scenarios', at(files.scenarios)) : (city?.catalogs.scenarios ?? []),
    devices: files.devices ? loadCatalogFile('devices', at(files.devices)) : (city?.catalogs.devices ?? []),
  };
}
