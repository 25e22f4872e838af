import { resolve } from 'node:path';
import { type ConnectorConfig, catalogsProvidedBy } from '../../connectors/config.js';
import { type ProvidedCatalogName, providedCatalogNames } from '../../connectors/types.js';
import type { CatalogName } from '../../schemas/index.js';
import type { LoadedConfig } from '../config/load.js';
import type { ConfigIssue } from '../errors.js';
import { bundledRegionsPath } from './load.js';

/** `catalogs.<name>: none` configures a catalog as explicitly empty (a file literally named none: `./none`). */
export const EMPTY_CATALOG = 'none';

/** Where one reference catalog comes from. There is no fallback: every catalog has exactly one stated source. */
export type CatalogSource =
  | { kind: 'file'; path: string }
  | { kind: 'bundled'; path: string }
  | { kind: 'empty' }
  | { kind: 'connector'; connectorId: string };

export type CatalogSources = Record<CatalogName, CatalogSource>;

/** Which catalogs a configured connector hands over (the registry's declaration by default; tests inject others). */
export type CatalogProviders = (connector: ConnectorConfig) => readonly ProvidedCatalogName[];

export const registryProviders: CatalogProviders = (connector) => catalogsProvidedBy[connector.kind];

/**
 * Decides each catalog's source from the config alone (reads nothing): a configured path, `none`, the bundled
 * region catalog, or the one configured connector that provides it. Anything else is an issue at `catalogs.<name>`.
 */
export function planCatalogSources(
  loaded: LoadedConfig,
  providers: CatalogProviders = registryProviders,
): { sources: Partial<CatalogSources>; issues: ConfigIssue[] } {
  const { config, paths } = loaded;
  const sources: Partial<CatalogSources> = {};
  const issues: ConfigIssue[] = [];
  const at = (p: string) => resolve(paths.baseDir, p);
  const regions = config.catalogs.regions;
  if (regions === EMPTY_CATALOG)
    issues.push({ path: 'catalogs.regions', value: regions, expected: 'a region catalog file (it cannot be empty)' });
  else
    sources.regions = regions ? { kind: 'file', path: at(regions) } : { kind: 'bundled', path: bundledRegionsPath() };

  for (const name of providedCatalogNames) {
    const configured = config.catalogs[name];
    if (configured === EMPTY_CATALOG) sources[name] = { kind: 'empty' };
    else if (configured) sources[name] = { kind: 'file', path: at(configured) };
    else {
      const by = config.connectors.filter((c) => providers(c).includes(name)).map((c) => c.id);
      if (by.length === 1) sources[name] = { kind: 'connector', connectorId: by[0]! };
      else
        issues.push({
          path: `catalogs.${name}`,
          expected:
            by.length === 0
              ? `a ${name} catalog file, or "${EMPTY_CATALOG}" for an explicitly empty catalog (no configured connector provides ${name})`
              : `a ${name} catalog file, or "${EMPTY_CATALOG}" (connectors ${by.join(', ')} all provide ${name}; say which data to use)`,
        });
    }
  }
  return { sources, issues };
}

/** One line per catalog for `config check` and the run log. */
export function describeCatalogSource(source: CatalogSource): string {
  switch (source.kind) {
    case 'file':
      return `file ${source.path}`;
    case 'bundled':
      return `bundled ${source.path}`;
    case 'empty':
      return `explicitly empty (${EMPTY_CATALOG})`;
    case 'connector':
      return `provided by connector ${source.connectorId}`;
  }
}
