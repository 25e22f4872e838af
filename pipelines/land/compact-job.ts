/**
 * One compaction run as the CLI (`cityhub compact`) and the hub's schedule do it: the configured lake, its retention
 * and min_files, holding the models build lock of the marts file so that no models build reads a day folder mid-swap
 * (and none of two compactions run at once), with an S3 lake's mirror synced first (DuckDB reads the sources there).
 */
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { type BuildLockLog, type LockHolder, withBuildLock } from '../models/build-lock.js';
import { syncModelsLake } from '../models/lake-sync.js';
import { type CompactionEvent, type CompactionReport, compactLake } from './compact.js';
import { LocalLakeStore } from './local-store.js';
import { S3LakeStore } from './s3-store.js';
import type { LakeStore } from './store.js';

export interface CompactionJobOptions {
  /** The hub's own store (it shares the S3 client); by default one is made from the config and closed after. */
  store?: LakeStore;
  datasets?: readonly string[];
  days?: readonly string[];
  dryRun?: boolean;
  /** How long to wait for a models build (or compaction) another process is running. */
  lockWaitMs: number;
  log?: BuildLockLog;
  /** Stops a wait for the lock, and the run before its next day (a hub shutting down). */
  signal?: AbortSignal;
  onEvent?: (event: CompactionEvent) => void;
  now?: () => Date;
}

export type CompactionJobOutcome = { ran: true; report: CompactionReport } | { ran: false; holder: LockHolder };

/** The configured lake's store: the bucket for `lake.type: s3`, the lake folder otherwise. */
export function lakeStoreOf(loaded: LoadedConfig): LakeStore {
  const { config, paths } = loaded;
  return config.lake.type === 's3'
    ? new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir })
    : new LocalLakeStore(paths.lakeDir);
}

export async function runCompactionJob(
  loaded: LoadedConfig,
  options: CompactionJobOptions,
): Promise<CompactionJobOutcome> {
  const { config, paths } = loaded;
  const store = options.store ?? lakeStoreOf(loaded);
  const s3 = store instanceof S3LakeStore ? store : undefined;
  const compact = (lockLost?: AbortSignal) => {
    const signal =
      lockLost && options.signal ? AbortSignal.any([lockLost, options.signal]) : (lockLost ?? options.signal);
    return compactLake({
      store,
      readDir: paths.lakeDir,
      ...(s3 ? { mirrorDir: s3.mirrorDir } : {}),
      spillDir: resolve(paths.baseDir, config.data_dir, 'tmp', 'compaction'),
      minFiles: config.lake.compaction.min_files,
      retention: new Map(Object.entries(config.lake.retention)),
      ...(options.datasets ? { datasets: options.datasets } : {}),
      ...(options.days ? { days: options.days } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(signal ? { signal } : {}),
      ...(s3
        ? {
            prepareRead: async () => {
              await syncModelsLake(loaded, { store: s3 });
            },
          }
        : {}),
    });
  };
  try {
    // A dry run changes nothing: it needs no lock and waits for no build.
    if (options.dryRun) return { ran: true, report: await compact() };
    const outcome = await withBuildLock(
      paths.martsPath,
      {
        waitMs: options.lockWaitMs,
        ...(options.log ? { log: options.log } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      compact,
    );
    return outcome.built ? { ran: true, report: outcome.value } : { ran: false, holder: outcome.holder };
  } finally {
    if (!options.store && s3) s3.client.destroy();
  }
}

/** One line about a run, for logs and the CLI. */
export function describeCompaction(report: CompactionReport): string {
  const files = report.compacted.reduce((sum, d) => sum + d.filesBefore, 0);
  const before = report.compacted.reduce((sum, d) => sum + d.bytesBefore, 0);
  const after = report.compacted.reduce((sum, d) => sum + d.bytes, 0);
  const removedFiles = report.expired.reduce((sum, d) => sum + d.files, 0);
  const { rolledForward, rolledBack } = report.recovered;
  const parts = [
    `compacted ${report.compacted.length} day(s): ${files} files → ${report.compacted.length} (${mib(before)} → ${mib(after)})`,
    `retention removed ${report.expired.length} day(s) (${removedFiles} files)`,
  ];
  if (rolledForward + rolledBack > 0)
    parts.push(`interrupted compactions: ${rolledForward} finished, ${rolledBack} undone`);
  return parts.join('; ');
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
