/**
 * The local read cache of an object-store lake: a mirror of the bucket's Parquet objects under a local folder, in the
 * lake layout, that DuckDB reads (its httpfs extension cannot be downloaded here). A sync lists the bucket once, in
 * key order, and walks the mirror in the same order beside it (a merge join), so it holds one listing page and one
 * folder's names at a time however large the lake: objects new or changed (by ETag and size) are downloaded, files
 * whose object vanished are removed. Every download goes to a temporary name and is renamed into place, so a reader
 * never sees half a file; the object's ETag is kept in `.etags/<path>` beside the mirror so a later sync can tell a
 * rewritten object (a range landed again after a crash: same name, new bytes) from the copy it has.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One Parquet object of the lake, its key relative to the lake's root. */
export interface LakeObject {
  relPath: string;
  size: number;
  etag: string;
  lastModified: number;
}

/** What the mirror needs of an object-store lake (S3LakeStore). */
export interface LakeObjectSource {
  /** The lake's Parquet data objects under `folder` (all when absent), in UTF-8 byte order of their keys. */
  objects(folder?: string): AsyncIterable<LakeObject>;
  /** Streams an object to `localPath` (created); resolves with the ETag of the bytes written. */
  download(relPath: string, localPath: string): Promise<{ etag: string; size: number }>;
}

export interface MirrorProgress {
  checked: number;
  downloaded: number;
  downloadedBytes: number;
  removed: number;
}

export interface MirrorOptions {
  /** Told every `progressEvery` objects checked and once at the end when the sync touched that many: for logs. */
  onProgress?: (progress: MirrorProgress, done: boolean) => void;
  progressEvery?: number;
  /** Downloads in flight at once. */
  concurrency?: number;
}

const ETAGS = '.etags';
const PARTIAL = '.partial';

/** Byte order of UTF-8 text, the order S3 lists keys in (JS string order differs above U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Brings `localDir` in line with the lake's Parquet objects; returns what it did. */
export async function syncLakeMirror(
  source: LakeObjectSource,
  localDir: string,
  options: MirrorOptions = {},
): Promise<MirrorProgress> {
  const progress: MirrorProgress = { checked: 0, downloaded: 0, downloadedBytes: 0, removed: 0 };
  const every = options.progressEvery ?? 1_000;
  const pool = new DownloadPool(options.concurrency ?? 4);
  const remote = source.objects()[Symbol.asyncIterator]();
  const local = walkSorted(localDir)[Symbol.asyncIterator]();
  let r = await remote.next();
  let l = await local.next();
  while (!r.done || !l.done) {
    const order = r.done ? 1 : l.done ? -1 : compareKeys(r.value.relPath, l.value);
    if (order > 0) {
      await removeMirrored(localDir, l.value as string);
      progress.removed++;
      l = await local.next();
      continue;
    }
    const object = r.value as LakeObject;
    // A new object is downloaded into a folder the walk has read already or will never reach (its key sorts before
    // the walk's position), so the walk never meets it as a file to remove.
    if (order < 0 || !(await isCurrent(localDir, object))) {
      await pool.run(async () => {
        const { size } = await fetchObject(source, localDir, object.relPath);
        progress.downloaded++;
        progress.downloadedBytes += size;
      });
    }
    if (order === 0) l = await local.next();
    r = await remote.next();
    if (++progress.checked % every === 0) options.onProgress?.(progress, false);
  }
  await pool.drain();
  if (progress.checked >= every || progress.downloaded >= every) options.onProgress?.(progress, true);
  return progress;
}

/** The mirror's copy of `object` (downloaded when missing or stale): its local path. */
export async function mirrorObject(source: LakeObjectSource, localDir: string, object: LakeObject): Promise<string> {
  if (!(await isCurrent(localDir, object))) await fetchObject(source, localDir, object.relPath);
  return join(localDir, object.relPath);
}

async function isCurrent(localDir: string, object: LakeObject): Promise<boolean> {
  try {
    const [info, etag] = await Promise.all([
      stat(join(localDir, object.relPath)),
      readFile(join(localDir, ETAGS, object.relPath), 'utf8'),
    ]);
    return info.size === object.size && etag === object.etag;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Downloads to a unique temporary name, then renames into place: readers see the old file or the whole new one. */
async function fetchObject(
  source: LakeObjectSource,
  localDir: string,
  relPath: string,
): Promise<{ etag: string; size: number }> {
  const partial = join(localDir, PARTIAL, randomUUID());
  const final = join(localDir, relPath);
  await Promise.all([mkdir(dirname(partial), { recursive: true }), mkdir(dirname(final), { recursive: true })]);
  try {
    const fetched = await source.download(relPath, partial);
    await rename(partial, final);
    // Written after the file: a crash between the two leaves a stale ETag, and the next sync downloads again.
    const etagPath = join(localDir, ETAGS, relPath);
    await mkdir(dirname(etagPath), { recursive: true });
    await writeFile(etagPath, fetched.etag);
    return fetched;
  } finally {
    await rm(partial, { force: true });
  }
}

async function removeMirrored(localDir: string, relPath: string): Promise<void> {
  await rm(join(localDir, relPath), { force: true });
  await rm(join(localDir, ETAGS, relPath), { force: true });
}

/**
 * The mirror's Parquet files, relative to `root`, in UTF-8 byte order of the whole path: each folder's entries are
 * sorted as `name/` for folders and `name` for files, which orders a depth-first walk like the full paths. Hidden
 * work folders at the root (`.etags`, `.partial`) are skipped.
 */
async function* walkSorted(root: string, folder = ''): AsyncGenerator<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(join(root, folder), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const named = entries
    .filter((e) => (e.isDirectory() ? !(folder === '' && e.name.startsWith('.')) : e.name.endsWith('.parquet')))
    .map((e) => ({ sortKey: e.isDirectory() ? `${e.name}/` : e.name, entry: e }))
    .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  for (const { entry } of named) {
    const relPath = folder === '' ? entry.name : `${folder}/${entry.name}`;
    if (entry.isDirectory()) yield* walkSorted(root, relPath);
    else yield relPath;
  }
}

/** At most `limit` tasks at once; the first failure is thrown, once all running tasks ended, by run() or drain(). */
class DownloadPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    // Stop starting work on the first failure, but let what runs finish: no download is left writing behind us.
    if (this.failure) return this.drain();
    const promise: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.running.delete(promise));
    this.running.add(promise);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }
}
