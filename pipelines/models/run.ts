import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { recoverCompactions } from '../land/compact-recover.js';
import { LocalLakeStore } from '../land/local-store.js';
import type { LakeStore } from '../land/store.js';
import { type BuildOptions, type BuildOutcome, buildModels, type ModelRunStat } from './build.js';
import type { BuildThread } from './build-thread.js';
import { type DataTestResult, failedTests, runDataTests } from './data-tests.js';
import { DataTestsFailedError, MartsFileError } from './errors.js';
import type { IndicatorSettingsInput } from './indicator-settings.js';
import type { MemberSeedsOptions } from './member-seeds.js';
import { loadProject, type ModelProject } from './project.js';
import { openMartsReadOnly } from './query.js';
import type { ModelCatalogs } from './seeds.js';

export type { BuildMode, ModelRunStat } from './build.js';

export interface ModelsRunOptions {
  /** Local lake root (<lake>/<dataset>/dt=…/*.parquet). */
  lakeDir: string;
  /** The marts file to (re)place, e.g. data/marts.duckdb. */
  martsPath: string;
  /** The sql/ folder (staging/, intermediate/, marts/). */
  sqlDir: string;
  /** The hub's own region (GB/T 2260): its marts cover the regions whose code starts with its prefix. */
  regionCode: string;
  catalogs: ModelCatalogs;
  /** Hotline weights and sensor alarm thresholds (config `models.indicators`); defaults when absent. */
  indicators?: IndicatorSettingsInput;
  /**
   * The build's "now" (default: the clock). Its Asia/Shanghai day start is the data cut-off: periods ending before
   * it are complete; open periods count only the days before it. Tests and replays pass a fixed instant.
   */
  now?: Date;
  onProgress?: BuildOptions['onProgress'];
  /** Ignore the previous marts file: build every model from the whole lake (`models run --full-refresh`). */
  fullRefresh?: boolean;
  /** Rebuild only these models (`name`, or `name+` with everything downstream); copy the others from the previous file. */
  select?: readonly string[];
  /** Lake days incremental models recompute even when their files did not change (config models.lookback_days). */
  lookbackDays?: number;
  /**
   * DuckDB's memory limit for the build (`memory_limit`, e.g. "4GiB"; config models.memory_limit): beyond it DuckDB
   * spills to a temp folder beside the marts file instead of growing. Default: DuckDB's own (80% of the RAM).
   */
  memoryLimit?: string;
  /**
   * The lake's store: a compaction a crash interrupted is finished or undone through it before the build reads the
   * lake (land/compact-recover.ts). Default: a local lake at lakeDir. An S3 lake passes its S3LakeStore (its pending
   * compactions are in the bucket; its mirror at lakeDir holds none).
   */
  lakeStore?: LakeStore;
  /** A hub rolling up member hubs (config federation): their pulled values under `dir`, loaded as seeds. */
  federation?: MemberSeedsOptions;
  /** Aborts when the build lost its right to publish (the models build lock, build-lock.ts): checked before it does. */
  signal?: AbortSignal;
  /**
   * Build in this thread instead of the caller's (the hub: its event loop, busy with ingest, would otherwise delay
   * each of the build's hundreds of awaited steps). Publishing stays with the caller.
   */
  thread?: BuildThread;
}

export interface ModelsRunResult {
  models: ModelRunStat[];
  /** Every data test result (all error-severity tests passed, or runModels would have thrown). */
  tests: DataTestResult[];
  /** The failed tests of warn severity: the build was published anyway. */
  warnings: DataTestResult[];
  martsPath: string;
  /** Set when the previous marts file was not used (every model built from the whole lake), with why. */
  fullBuildReason?: string;
}

/** Builds of the same marts file within this process run one after another. */
const building = new Map<string, Promise<unknown>>();

async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = building.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  building.set(key, next);
  try {
    return await next;
  } finally {
    if (building.get(key) === next) building.delete(key);
  }
}

/** Removes a DuckDB database file and its write-ahead log, if there. */
export async function removeDatabase(path: string): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.wal`, { force: true });
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the pid exists but belongs to another user, so it is alive.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes `<marts>.building-<pid>` files (and their .wal) left by builds that were killed. Only files of pids that
 * are no longer alive go: a live pid may be another process (a `cityhub models run` beside the hub) building right
 * now. A pid reused by an unrelated process keeps its leftover until that process ends — wasted disk, never a
 * removed build in progress.
 */
async function removeAbandonedBuilds(martsPath: string): Promise<string[]> {
  const prefix = `${basename(martsPath)}.building-`;
  const removed: string[] = [];
  for (const name of await readdir(dirname(martsPath))) {
    if (!name.startsWith(prefix)) continue;
    const pid = /^(\d+)(\.wal)?$/.exec(name.slice(prefix.length))?.[1];
    if (pid === undefined || Number(pid) === process.pid || isProcessAlive(Number(pid))) continue;
    await rm(join(dirname(martsPath), name), { force: true });
    removed.push(name);
  }
  return removed;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What a build needs to make its marts file, as plain data (it may cross to a build thread). */
export interface BuildIntoFileRequest {
  /** The new database file, `<martsPath>.building-<pid>`: created, built, checkpointed and closed. */
  buildingPath: string;
  sqlDir: string;
  memoryLimit?: string;
  options: Omit<BuildOptions, 'onProgress'>;
}

function buildOptionsOf(o: ModelsRunOptions, martsPath: string): BuildIntoFileRequest['options'] {
  return {
    lakeDir: o.lakeDir,
    martsPath,
    regionCode: o.regionCode,
    catalogs: o.catalogs,
    now: o.now ?? new Date(),
    ...(o.indicators === undefined ? {} : { indicators: o.indicators }),
    ...(o.fullRefresh === undefined ? {} : { fullRefresh: o.fullRefresh }),
    ...(o.select === undefined ? {} : { select: o.select }),
    ...(o.lookbackDays === undefined ? {} : { lookbackDays: o.lookbackDays }),
    ...(o.federation === undefined ? {} : { federation: o.federation }),
  };
}

/**
 * Creates the building database, builds every model into it and checkpoints it; the file is closed on return,
 * built or not (the caller removes a failed one). Runs in this thread or in a build thread (build-thread.ts).
 */
export async function buildIntoFile(
  request: BuildIntoFileRequest,
  project: ModelProject,
  onProgress?: BuildOptions['onProgress'],
  /** Cuts the build short: its statements are interrupted until it ends (it then fails). */
  interrupt?: AbortSignal,
): Promise<BuildOutcome> {
  const { buildingPath } = request;
  const settings = request.memoryLimit === undefined ? undefined : { memory_limit: request.memoryLimit };
  const instance = await DuckDBInstance.create(buildingPath, settings).catch((err: unknown) => {
    throw new MartsFileError(buildingPath, 'prepare', err);
  });
  const connection = await instance.connect().catch((err: unknown) => {
    instance.closeSync();
    throw new MartsFileError(buildingPath, 'prepare', err);
  });
  // An interrupt between two statements is lost (each statement starts uninterrupted): repeat it until the end.
  let interrupting: NodeJS.Timeout | undefined;
  const interruptNow = () => {
    connection.interrupt();
    interrupting ??= setInterval(() => connection.interrupt(), 10);
  };
  if (interrupt?.aborted) interruptNow();
  else interrupt?.addEventListener('abort', interruptNow, { once: true });
  try {
    const result = await buildModels(connection, project, {
      ...request.options,
      ...(onProgress === undefined ? {} : { onProgress }),
    });
    try {
      await connection.run('checkpoint');
    } catch (err) {
      throw new MartsFileError(buildingPath, 'checkpoint', err);
    }
    return result;
  } finally {
    interrupt?.removeEventListener('abort', interruptNow);
    clearInterval(interrupting);
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Builds every model into `<martsPath>.building-<pid>`, runs the header tests, drops the views that read the lake
 * (so the file is self-contained), fsyncs and renames it over martsPath: readers see the old file or the new one,
 * never a half-built one, and readers that already have the old file open keep reading it.
 * A failing data test of error severity discards the new file and throws DataTestsFailedError, leaving the previous
 * marts file untouched; failing warn-severity tests are returned in `warnings` and the new file is published.
 * Leftover building files of killed builds (pids no longer alive) are removed first.
 */
export async function runModels(o: ModelsRunOptions): Promise<ModelsRunResult> {
  // Loaded first, so a broken model file fails before anything is written. A build thread loads its own: this
  // thread, when it has one, is busy (the hub's), and reading the project here cost it a turn of its loop per file.
  const { thread } = o;
  const buildFile: (request: BuildIntoFileRequest) => Promise<BuildOutcome> =
    thread === undefined
      ? await loadProject(o.sqlDir).then((project) => (request) => buildIntoFile(request, project, o.onProgress))
      : (request) => thread.build(request, o.onProgress);
  const martsPath = resolve(o.martsPath);
  return serialized(martsPath, async () => {
    const buildingPath = `${martsPath}.building-${process.pid}`;
    // Under the caller's build lock, which compactions hold too: every lake day is read with one copy of its rows.
    await recoverCompactions(o.lakeStore ?? new LocalLakeStore(o.lakeDir));
    try {
      await mkdir(dirname(martsPath), { recursive: true });
      await removeDatabase(buildingPath);
      await removeAbandonedBuilds(martsPath);
    } catch (err) {
      throw new MartsFileError(buildingPath, 'prepare', err);
    }
    let result: BuildOutcome;
    try {
      const request: BuildIntoFileRequest = {
        buildingPath,
        sqlDir: o.sqlDir,
        ...(o.memoryLimit === undefined ? {} : { memoryLimit: o.memoryLimit }),
        options: buildOptionsOf(o, martsPath),
      };
      result = await buildFile(request);
      await rm(`${buildingPath}.wal`, { force: true }); // checkpointed and closed: nothing is left in it
      const blocking = failedTests(result.tests, 'error');
      if (blocking.length > 0) throw new DataTestsFailedError(martsPath, blocking, result.tests);
      o.signal?.throwIfAborted();
    } catch (err) {
      await removeDatabase(buildingPath).catch(() => undefined);
      throw err;
    }
    let step: MartsFileError['step'] = 'fsync';
    try {
      await fsyncPath(buildingPath);
      step = 'rename';
      await rm(`${martsPath}.wal`, { force: true }); // a stale log of the old file must not be replayed onto the new one
      await rename(buildingPath, martsPath);
      step = 'fsync';
      await fsyncPath(dirname(martsPath));
    } catch (err) {
      await removeDatabase(buildingPath).catch(() => undefined);
      throw new MartsFileError(martsPath, step, err);
    }
    return { ...result, warnings: failedTests(result.tests, 'warn'), martsPath };
  });
}

/**
 * Runs the header tests against an existing marts file (read-only). Models not stored in the file — views over
 * the lake, dropped when the file was built — are reported with `skipped: true`.
 */
export async function testModels(o: { martsPath: string; sqlDir: string }): Promise<DataTestResult[]> {
  const project = await loadProject(o.sqlDir);
  const { instance, connection } = await openMartsReadOnly(resolve(o.martsPath));
  try {
    const reader = await connection.runAndReadAll(
      `select table_name from information_schema.tables where table_schema = 'main' and table_catalog = current_database()`,
    );
    const present = new Set(reader.getRows().map((r) => String(r[0])));
    return await runDataTests(connection, project.models, (name) => present.has(name));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
