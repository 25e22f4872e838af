/**
 * The models read the lake with DuckDB from a local folder. A local lake is that folder; an S3 lake is read from its
 * mirror (docs/lake.md "S3"), which must be brought in line with the bucket before each build — without httpfs,
 * DuckDB cannot read `s3://` itself here.
 */
import type { LoadedConfig } from '../config/load.js';
import { type MirrorProgress, syncLakeMirror } from '../land/lake-mirror.js';
import { S3LakeStore } from '../land/s3-store.js';

export interface LakeSyncOptions {
  /** The hub's own store, to share its client; by default one is made from the config (and destroyed after). */
  store?: S3LakeStore;
  /** Called every 1,000 objects checked, and once at the end of a large sync. */
  onProgress?: (progress: MirrorProgress, done: boolean) => void;
}

/**
 * Syncs the mirror the models read (`paths.lakeDir`) with an S3 lake; does nothing for a local lake. Returns what
 * the sync did, or undefined when there was nothing to sync.
 */
export async function syncModelsLake(
  loaded: LoadedConfig,
  options: LakeSyncOptions = {},
): Promise<MirrorProgress | undefined> {
  const { config, paths } = loaded;
  if (config.lake.type !== 's3') return undefined;
  const store = options.store ?? new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir });
  try {
    return await syncLakeMirror(store, paths.lakeDir, options.onProgress ? { onProgress: options.onProgress } : {});
  } finally {
    if (!options.store) store.client.destroy();
  }
}

/** One line about a sync, for logs and the CLI. */
export function describeLakeSync(progress: MirrorProgress): string {
  const mib = (progress.downloadedBytes / (1024 * 1024)).toFixed(1);
  return `lake mirror: ${progress.checked} object(s) checked, ${progress.downloaded} downloaded (${mib} MiB), ${progress.removed} removed`;
}
