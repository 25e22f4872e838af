/**
 * Compacting one lake day folder: its files as listed (never what lands after) merged by DuckDB into one file, then
 * swapped in through the store in an order a crash can always be recovered from (compact-recover.ts):
 *
 *   write + verify (staged, invisible) → pending record + manifest (durable) → commit (atomic rename / PUT)
 *   → remove the sources and the manifests they replace → remove the pending record.
 */
import { copyFile, mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { CityhubError } from '../errors.js';
import { CompactionError, CompactionRowCountError } from './compact-errors.js';
import type { DayFolder } from './compact-plan.js';
import { parseDataFileName } from './layout.js';
import {
  type CompactionManifest,
  compactedFileName,
  type DayRef,
  dayPath,
  isCompactedFileName,
  manifestPath,
  type OriginalFile,
  type PendingCompaction,
  pendingPath,
  readManifest,
  writeJson,
} from './manifest.js';
import type { LakeStore } from './store.js';

/** The points between the steps where a crash leaves work for recovery (tests stop there through `afterStep`). */
export type CompactionStep = 'manifest' | 'commit' | 'removed';

export interface DayCompactionContext {
  store: LakeStore;
  connection: DuckDBConnection;
  /** The local folder holding the files DuckDB reads: the lake itself, or an S3 lake's synced mirror. */
  readDir: string;
  /** An S3 lake's mirror: the compacted file is placed there too, so readers of the mirror never see neither. */
  mirrorDir?: string;
  now: () => Date;
  /** Aborts when the models build lock was lost: checked before anything is replaced. */
  signal?: AbortSignal;
  afterStep?: (step: CompactionStep, day: DayRef) => Promise<void> | void;
}

export interface DayCompacted extends DayRef {
  /** File name of the compacted file in the day folder. */
  compacted: string;
  filesBefore: number;
  bytesBefore: number;
  bytes: number;
  rows: number;
  /** Original landed files the compacted file holds (through earlier compactions of the day). */
  originals: number;
}

interface SourceFile {
  path: string;
  local: string;
  bytes: number;
  mtimeMs: number;
  rows: number;
}

/**
 * Merges `day.files` into one compacted file. Returns undefined when fewer than two of them can be read locally (an
 * S3 lake's mirror lacks files landed after its sync: they wait for the next run).
 */
export async function compactDay(ctx: DayCompactionContext, day: DayFolder): Promise<DayCompacted | undefined> {
  const { store } = ctx;
  let step: CompactionError['step'] = 'read';
  let staged: string | undefined;
  let mirrorStaged: string | undefined;
  try {
    const sources = await readableSources(ctx, day);
    if (sources.length < 2) return undefined;
    const name = compactedFileName(sources.map((s) => s.path));
    const relPath = `${dayPath(day)}/${name}`;
    const originals = await originalFiles(store, day, sources);
    const replacedManifests = sources
      .map((s) => basename(s.path))
      .filter(isCompactedFileName)
      .map((n) => manifestPath(day, n));

    step = 'write';
    staged = await store.stagingPath(relPath);
    await ctx.connection.run(
      `copy (select * from read_parquet(${sqlList(sources.map((s) => s.local))}, union_by_name = true, hive_partitioning = false)
             order by _topic, _partition, _offset)
       to ${sqlString(staged)} (format parquet, compression zstd)`,
    );
    step = 'verify';
    const expectedRows = sources.reduce((sum, s) => sum + s.rows, 0);
    const rows = (await rowCounts(ctx.connection, [staged])).get(staged) ?? 0;
    if (rows !== expectedRows) throw new CompactionRowCountError(day, expectedRows, rows);
    const bytes = (await stat(staged)).size;
    // Its rows are as recent as its newest source: the pipeline's dedupe recall picks a local lake's newest files by
    // modification time, and an old day's compacted file must not look like the newest data.
    const newest = Math.max(...sources.map((s) => s.mtimeMs));
    await utimes(staged, new Date(newest), new Date(newest));

    step = 'manifest';
    const compactedAt = ctx.now().toISOString();
    const manifest: CompactionManifest = {
      version: 1,
      folder: day.folder,
      dt: day.day,
      compacted: name,
      rows,
      bytes,
      compacted_at: compactedAt,
      sources: sources.map((s) => basename(s.path)),
      files: originals,
    };
    const pending: PendingCompaction = {
      compacted: relPath,
      manifest: manifestPath(day, name),
      sources: sources.map((s) => s.path),
      replaced_manifests: replacedManifests,
      started_at: compactedAt,
    };
    await writeJson(store, pendingPath(day, name), pending);
    await writeJson(store, pending.manifest, manifest);
    await ctx.afterStep?.('manifest', day);

    step = 'commit';
    ctx.signal?.throwIfAborted();
    if (ctx.mirrorDir) {
      // The upload consumes the staged file: keep a copy to put into the mirror once the object is committed.
      mirrorStaged = join(ctx.mirrorDir, `${relPath}.tmp`);
      await mkdir(dirname(mirrorStaged), { recursive: true });
      await copyFile(staged, mirrorStaged);
    }
    await store.commit([relPath]);
    staged = undefined;
    if (mirrorStaged) {
      await rename(mirrorStaged, join(ctx.mirrorDir!, relPath));
      mirrorStaged = undefined;
    }
    await ctx.afterStep?.('commit', day);

    step = 'remove';
    for (const source of sources) await store.remove(source.path);
    for (const replaced of replacedManifests) await store.remove(replaced);
    await ctx.afterStep?.('removed', day);
    await store.remove(pendingPath(day, name));
    return {
      ...day,
      compacted: name,
      filesBefore: sources.length,
      bytesBefore: sources.reduce((sum, s) => sum + s.bytes, 0),
      bytes,
      rows,
      originals: originals.length,
    };
  } catch (error) {
    // The pending record (if written) stays: the next compaction or models build resolves it (compact-recover.ts).
    if (staged) await rm(staged, { force: true }).catch(() => undefined);
    if (mirrorStaged) await rm(mirrorStaged, { force: true }).catch(() => undefined);
    if (error instanceof CompactionError) throw error;
    throw new CompactionError(day, step, error instanceof Error ? error.message : String(error), {
      cause: error,
      retriable: error instanceof CityhubError ? error.retriable : false,
    });
  }
}

/** The day's files as found in the read folder, with their sizes and row counts. */
async function readableSources(ctx: DayCompactionContext, day: DayFolder): Promise<SourceFile[]> {
  const found: Omit<SourceFile, 'rows'>[] = [];
  for (const path of day.files) {
    const local = join(ctx.readDir, path);
    const info = await stat(local).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info) found.push({ path, local, bytes: info.size, mtimeMs: info.mtimeMs });
  }
  if (found.length < 2) return [];
  const rows = await rowCounts(
    ctx.connection,
    found.map((f) => f.local),
  );
  return found.map((f) => ({ ...f, rows: rows.get(f.local) ?? 0 }));
}

/** Every original landed file the sources stand for: a compacted source contributes its manifest's list. */
async function originalFiles(store: LakeStore, day: DayRef, sources: readonly SourceFile[]): Promise<OriginalFile[]> {
  const files: OriginalFile[] = [];
  for (const source of sources) {
    const name = basename(source.path);
    if (isCompactedFileName(name)) {
      const manifest = await readManifest(store, manifestPath(day, name));
      if (!manifest)
        throw new CompactionError(
          day,
          'read',
          `${source.path} has no manifest (${manifestPath(day, name)}): its original files would be lost; restore the manifest or remove the file`,
        );
      files.push(...manifest.files);
      continue;
    }
    const c = parseDataFileName(name);
    files.push({
      name,
      ...(c
        ? {
            topic: c.topic,
            partition: c.partition,
            first_offset: c.firstOffset,
            last_offset: c.lastOffset,
            ...(c.generation ? { generation: c.generation } : {}),
          }
        : {}),
      rows: source.rows,
      bytes: source.bytes,
    });
  }
  return files;
}

async function rowCounts(connection: DuckDBConnection, paths: readonly string[]): Promise<Map<string, number>> {
  const reader = await connection.runAndReadAll(
    `select file_name, num_rows from parquet_file_metadata(${sqlList(paths)})`,
  );
  return new Map(reader.getRows().map(([file, rows]) => [String(file), Number(rows)]));
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function sqlList(items: readonly string[]): string {
  return `[${items.map(sqlString).join(', ')}]`;
}
