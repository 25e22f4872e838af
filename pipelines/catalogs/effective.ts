import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Connector, providedCatalogNames } from '../../connectors/types.js';
import type { CatalogName } from '../../schemas/index.js';
import { CityhubError } from '../errors.js';
import { type Catalogs, loadCatalogFile } from './load.js';
import type { CatalogSource, CatalogSources } from './sources.js';

/** A connector-provided catalog that neither a running connector nor an earlier hub run has handed over. */
export class CatalogUnavailableError extends CityhubError {
  constructor(
    readonly catalog: CatalogName,
    readonly connectorId: string,
    readonly path: string,
    why: string,
  ) {
    super(`catalog ${catalog} (provided by connector ${connectorId}) is not available: ${why}`);
  }
}

/** The effective catalogs a hub publishes for `cityhub models run` and operators: `<data_dir>/catalogs/<name>.json`. */
export function publishedCatalogPath(dataDir: string, name: CatalogName): string {
  return join(dataDir, 'catalogs', `${name}.json`);
}

/** The folder a connector writes its catalogs into. */
export function providedCatalogDir(dataDir: string, connectorId: string): string {
  return join(dataDir, 'catalogs', 'connectors', connectorId);
}

export interface LoadCatalogsOptions {
  dataDir: string;
  /** Connectors running in this process: a catalog they provide is written by them now. */
  connectors: readonly Connector[];
  /** Catalogs already read (preflight reads the configured files); not read again. */
  loaded: Partial<Catalogs>;
}

/**
 * Every catalog from its one source. A connector-provided catalog comes from the files the connector writes when it
 * runs in this process (which writes under `<data_dir>`: call this only while holding the data-dir lock), otherwise
 * from the catalog a hub run published; never from anywhere else.
 */
export async function loadCatalogs(sources: CatalogSources, options: LoadCatalogsOptions): Promise<Catalogs> {
  const { dataDir, loaded } = options;
  const written = await writeProvidedCatalogs(sources, options);
  const load = <N extends CatalogName>(name: N): Catalogs[N] =>
    loaded[name] ?? readCatalog(name, sources[name], dataDir, written.get(name));
  return {
    regions: load('regions'),
    data_resources: load('data_resources'),
    scenarios: load('scenarios'),
    devices: load('devices'),
  };
}

/**
 * Reads one catalog from its source; a connector-provided one from `written` (the file its connector just wrote)
 * or else from the catalog a hub run published under `<data_dir>/catalogs/`. Writes nothing.
 */
export function readCatalog<N extends CatalogName>(
  name: N,
  source: CatalogSource,
  dataDir: string,
  written?: string,
): Catalogs[N] {
  switch (source.kind) {
    case 'empty':
      return [];
    case 'file':
    case 'bundled':
      return loadCatalogFile(name, source.path) as Catalogs[N];
    case 'connector': {
      if (written) return loadCatalogFile(name, written) as Catalogs[N];
      const published = publishedCatalogPath(dataDir, name);
      if (!existsSync(published))
        throw new CatalogUnavailableError(
          name,
          source.connectorId,
          published,
          `the connector does not run in this process and no hub run has published ${published} yet; run the hub with its connectors first, or set catalogs.${name}`,
        );
      return loadCatalogFile(name, published) as Catalogs[N];
    }
  }
}

/** Asks each running connector for the catalogs it is the source of; returns the file of each catalog written. */
async function writeProvidedCatalogs(
  sources: CatalogSources,
  { dataDir, connectors }: LoadCatalogsOptions,
): Promise<Map<CatalogName, string>> {
  const files = new Map<CatalogName, string>();
  for (const connector of connectors) {
    const names = providedCatalogNames.filter((name) => {
      const source = sources[name];
      return source.kind === 'connector' && source.connectorId === connector.id;
    });
    if (names.length === 0) continue;
    const dir = providedCatalogDir(dataDir, connector.id);
    if (!connector.writeCatalogs)
      throw new CatalogUnavailableError(
        names[0]!,
        connector.id,
        dir,
        `connector kind ${connector.kind} cannot write catalogs`,
      );
    await mkdir(dir, { recursive: true });
    await connector.writeCatalogs(dir, names);
    for (const name of names) files.set(name, join(dir, `${name}.json`));
  }
  return files;
}

/** Writes the effective catalogs to `<data_dir>/catalogs/` (each replaced atomically, so readers see whole files). */
export async function publishCatalogs(catalogs: Catalogs, dataDir: string): Promise<void> {
  await mkdir(join(dataDir, 'catalogs'), { recursive: true });
  for (const [name, entries] of Object.entries(catalogs)) {
    const path = publishedCatalogPath(dataDir, name as CatalogName);
    await writeFile(`${path}.tmp`, `${JSON.stringify(entries, null, 1)}\n`);
    await rename(`${path}.tmp`, path);
  }
}
