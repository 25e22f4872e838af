/**
 * Lake compaction and retention (docs/lake.md "Compaction"): each past day folder of small landed files becomes one
 * file, with a manifest keeping every original file's bus coordinates, and day folders past their dataset's
 * retention are removed. Works through the LakeStore interface (a local folder or an S3 bucket); DuckDB reads the
 * sources from a local folder (the lake, or an S3 lake's synced mirror) as the models do.
 *
 * Call it holding the models build lock (compact-job.ts does): no models build then reads a day folder while its
 * sources and its compacted file are both in it, and no two compactions run at once. The pipeline keeps landing
 * meanwhile: only the files of one listing are touched, never a file a flush journal names.
 */
import { mkdir } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { shanghaiDate } from '../normalize/time.js';
import { type CompactionStep, compactDay, type DayCompacted } from './compact-day.js';
import { abandonedCompactionOutput, type DayFolder, dayFolders, journalListedFiles } from './compact-plan.js';
import { type RecoveryResult, recoverCompactions } from './compact-recover.js';
import { type DayRemoved, expiredDays, removeExpiredDay } from './compact-retention.js';
import type { DayRef } from './manifest.js';
import type { LakeStore } from './store.js';

export type { CompactionStep, DayCompacted } from './compact-day.js';
export type { DayRemoved } from './compact-retention.js';

export interface CompactLakeOptions {
  store: LakeStore;
  /** The local folder holding the files DuckDB reads: the lake itself, or an S3 lake's mirror. */
  readDir: string;
  /** An S3 lake's mirror (the same folder as readDir): compacted files are placed there as they are committed. */
  mirrorDir?: string;
  /** Where DuckDB spills the sort of a day larger than its memory. */
  spillDir: string;
  /** A day folder before today is compacted once it holds this many Parquet files (config lake.compaction). */
  minFiles: number;
  /** Days kept per dataset folder name, `_dlq` for dead letters (config lake.retention). */
  retention?: ReadonlyMap<string, number>;
  /** Only these folders: a dataset, `_dlq` (the dead letters of every feed) or `_dlq/<feed>`. Default all. */
  datasets?: readonly string[];
  /** Only these days (YYYY-MM-DD): each is compacted whatever its file count (two or more), today included. */
  days?: readonly string[];
  /** Plan only: list what would be compacted and removed, change nothing (not even recovery). */
  dryRun?: boolean;
  now?: () => Date;
  /** Called after recovery, before the lake is listed: an S3 lake syncs its mirror here. */
  prepareRead?: () => Promise<void>;
  /** Aborts when the models build lock was lost (build-lock.ts): no day is replaced after that. */
  signal?: AbortSignal;
  onEvent?: (event: CompactionEvent) => void;
  /** Tests: called between the steps of each day's swap (a throw stops there, as a crash would). */
  afterStep?: (step: CompactionStep, day: DayRef) => Promise<void> | void;
}

export type CompactionEvent =
  | { kind: 'recovered'; result: RecoveryResult }
  | { kind: 'compacted'; day: DayCompacted }
  | { kind: 'expired'; day: DayRemoved }
  | { kind: 'planned'; action: 'compact' | 'expire'; day: DayFolder };

export interface CompactionReport {
  /** Today in Asia/Shanghai: days before it are compacted by default; retention counts back from it. */
  today: string;
  recovered: RecoveryResult;
  compacted: DayCompacted[];
  expired: DayRemoved[];
  /** What a dry run would do (empty otherwise). */
  planned: { compact: DayFolder[]; expire: DayFolder[] };
}

export async function compactLake(options: CompactLakeOptions): Promise<CompactionReport> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const today = shanghaiDate(now().getTime());
  const report: CompactionReport = {
    today,
    recovered: { rolledForward: 0, rolledBack: 0 },
    compacted: [],
    expired: [],
    planned: { compact: [], expire: [] },
  };
  if (!options.dryRun) {
    report.recovered = await recoverCompactions(store);
    if (report.recovered.rolledForward + report.recovered.rolledBack > 0)
      options.onEvent?.({ kind: 'recovered', result: report.recovered });
    await options.prepareRead?.();
  }
  // Journals read before and after the listing: a file a flush placed was named by its journal before it was placed,
  // and a pipeline's crash recovery removes a journal only after the files it judged; so a listed file no journal
  // named at either read was committed before the listing and stays committed.
  const journalListed = await journalListedFiles(store);
  const listing = await store.list();
  for (const path of await journalListedFiles(store)) journalListed.add(path);
  if (!options.dryRun) for (const leftover of abandonedCompactionOutput(listing)) await store.remove(leftover);

  const selected = dayFolders(listing).filter((folder) => isSelected(folder, options));
  const expired = expiredDays(selected, options.retention ?? new Map(), today);
  const expiredKeys = new Set(expired.map(key));
  const candidates = selected
    .filter((folder) => !expiredKeys.has(key(folder)))
    .map((folder) => ({ ...folder, files: folder.files.filter((path) => !journalListed.has(path)) }))
    .filter((folder) => isDue(folder, options, today));

  if (options.dryRun) {
    report.planned = { compact: candidates, expire: expired };
    for (const day of expired) options.onEvent?.({ kind: 'planned', action: 'expire', day });
    for (const day of candidates) options.onEvent?.({ kind: 'planned', action: 'compact', day });
    return report;
  }
  for (const folder of expired) {
    options.signal?.throwIfAborted();
    const removed = await removeExpiredDay(store, folder, journalListed);
    report.expired.push(removed);
    options.onEvent?.({ kind: 'expired', day: removed });
  }
  if (candidates.length === 0) return report;

  await mkdir(options.spillDir, { recursive: true });
  // Bounded like the pipeline's writer: a large day spills its sort to disk instead of growing the process.
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '2',
    memory_limit: '512MB',
    temp_directory: options.spillDir,
  });
  const connection = await instance.connect();
  try {
    for (const folder of candidates) {
      options.signal?.throwIfAborted();
      const compacted = await compactDay(
        {
          store,
          connection,
          readDir: options.readDir,
          ...(options.mirrorDir ? { mirrorDir: options.mirrorDir } : {}),
          now,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.afterStep ? { afterStep: options.afterStep } : {}),
        },
        folder,
      );
      if (!compacted) continue;
      report.compacted.push(compacted);
      options.onEvent?.({ kind: 'compacted', day: compacted });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return report;
}

function key(folder: DayRef): string {
  return `${folder.folder}/${folder.day}`;
}

function isSelected(folder: DayRef, options: CompactLakeOptions): boolean {
  const { datasets, days } = options;
  if (days && days.length > 0 && !days.includes(folder.day)) return false;
  if (!datasets || datasets.length === 0) return true;
  return datasets.some((d) => d === folder.folder || (d === '_dlq' && folder.folder.startsWith('_dlq/')));
}

/** A day named by the caller needs two files; otherwise a day before today needs min_files. */
function isDue(folder: DayFolder, options: CompactLakeOptions, today: string): boolean {
  if (options.days && options.days.length > 0) return folder.files.length >= 2;
  return folder.day < today && folder.files.length >= options.minFiles;
}
