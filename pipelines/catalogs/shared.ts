/**
 * When the roles run as separate processes (over Kafka), the connector that provides a catalog (the demo's devices,
 * a bureau's resource list) runs in the connectors process, while the pipeline and models processes need the same
 * catalog. It travels through the lake, which every role reaches: `_catalogs/<name>.json`, written by the process
 * running the connector, fetched into `<data_dir>/catalogs/` by the others before they load their catalogs.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CatalogName } from '../../schemas/index.js';
import type { LakeStore } from '../land/store.js';
import { sleep } from '../retry.js';
import { publishedCatalogPath } from './effective.js';
import type { Catalogs } from './load.js';
import type { CatalogSources } from './sources.js';

const sharedPath = (name: CatalogName) => `_catalogs/${name}.json`;

/** The catalogs provided by a connector that does not run in this process. */
function providedElsewhere(sources: CatalogSources, running: ReadonlySet<string>): CatalogName[] {
  return (Object.entries(sources) as [CatalogName, CatalogSources[CatalogName]][])
    .filter(([, source]) => source.kind === 'connector' && !running.has(source.connectorId))
    .map(([name]) => name);
}

/** Puts the catalogs the connectors of this process provide into the lake, for the roles running elsewhere. */
export async function shareProvidedCatalogs(
  catalogs: Catalogs,
  sources: CatalogSources,
  running: ReadonlySet<string>,
  store: LakeStore,
): Promise<void> {
  for (const [name, source] of Object.entries(sources) as [CatalogName, CatalogSources[CatalogName]][]) {
    if (source.kind !== 'connector' || !running.has(source.connectorId)) continue;
    await store.writeSmall(sharedPath(name), `${JSON.stringify(catalogs[name])}\n`);
  }
}

/**
 * Fetches into `<data_dir>/catalogs/` each catalog a connector of another process provides, waiting (and saying so
 * every half minute) until that process has put it into the lake. Resolves false when stopped while waiting.
 */
export async function fetchSharedCatalogs(
  sources: CatalogSources,
  running: ReadonlySet<string>,
  store: LakeStore,
  dataDir: string,
  { log, signal, pollMs = 1_000 }: { log: Logger; signal: AbortSignal; pollMs?: number },
): Promise<boolean> {
  for (const name of providedElsewhere(sources, running)) {
    const source = sources[name];
    let waitedMs = 0;
    for (;;) {
      const text = await store.readSmall(sharedPath(name));
      if (text !== undefined) {
        const path = publishedCatalogPath(dataDir, name);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(`${path}.tmp`, text);
        await rename(`${path}.tmp`, path);
        break;
      }
      if (waitedMs % 30_000 === 0)
        log.warn(
          { catalog: name, connector: source.kind === 'connector' ? source.connectorId : undefined },
          'waiting for the process running the connector that provides this catalog to put it into the lake',
        );
      try {
        await sleep(pollMs, signal);
      } catch {
        return false;
      }
      waitedMs += pollMs;
    }
  }
  return true;
}
