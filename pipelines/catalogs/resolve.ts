import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { readCatalog } from './effective.js';
import type { Catalogs } from './load.js';
import { type CatalogSources, planCatalogSources } from './sources.js';

/**
 * The catalogs of a process that runs no connectors (`cityhub models run`): by the same rule as the hub, each from
 * its configured file, `none`, or — when a connector provides it — the catalog the hub published under
 * `<data_dir>/catalogs/`. Throws ConfigError for a catalog without a source, CatalogUnavailableError when the hub
 * has not published a connector's catalog yet.
 */
export function resolveCatalogs(loaded: LoadedConfig): Catalogs {
  const planned = planCatalogSources(loaded);
  if (planned.issues.length > 0) throw new ConfigError(loaded.file, planned.issues);
  const sources = planned.sources as CatalogSources;
  const dataDir = resolve(loaded.paths.baseDir, loaded.config.data_dir);
  return {
    regions: readCatalog('regions', sources.regions, dataDir),
    data_resources: readCatalog('data_resources', sources.data_resources, dataDir),
    scenarios: readCatalog('scenarios', sources.scenarios, dataDir),
    devices: readCatalog('devices', sources.devices, dataDir),
  };
}
