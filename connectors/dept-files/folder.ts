import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CityhubError } from '../../pipelines/errors.js';
import { syncFolder } from '../files.js';
import type { FolderSourceConfig } from './config.js';
import type { FileStamp } from './manifest.js';

/** Where delivered files go, inside the drop folder (never scanned). */
export const DONE_FOLDER = 'done';

/** The configured drop folder is missing or not a folder: a configuration problem, not one to wait out. */
export class DropFolderError extends CityhubError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super(`dept-files folder ${path} cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.path = path;
  }
}

/** A file ready to deliver: its stamp, its name below the folder, and where to read it. */
export interface SourceFile {
  stamp: FileStamp;
  /** Name below the folder or prefix (the `folder` resource rule reads its first segment). */
  relative: string;
  /** A local path to read, and what to do once the file is read (an S3 spool copy is removed). */
  fetch(): Promise<{ path: string; release(): Promise<void> }>;
}

/** Where files come from: the drop folder or an S3 prefix. */
export interface DeliverySource {
  /** Files ready now (settled), in name order. */
  ready(): Promise<SourceFile[]>;
  /** The file's delivery is durable: move it out of the way (folder) or nothing (S3: the manifest remembers). */
  acknowledge(file: SourceFile): Promise<void>;
  /** Makes the acknowledgements so far durable (fsyncs the folders files were moved between). */
  sync(): Promise<void>;
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

/**
 * A watched drop folder: files directly in it and one sub-folder level down (names starting with "." and `done/`
 * excluded), each taken once its size and mtime have not changed for `settle_ms`.
 */
export class FolderSource implements DeliverySource {
  private readonly seen = new Map<string, Seen>();
  /** Folders a file was moved out of or into since the last sync(). */
  private readonly moved = new Set<string>();

  constructor(
    private readonly config: FolderSourceConfig,
    private readonly folder: string,
    private readonly now: () => number = Date.now,
  ) {}

  async ready(): Promise<SourceFile[]> {
    const now = this.now();
    const names = await this.list();
    const ready: SourceFile[] = [];
    const present = new Set<string>();
    for (const relative of names) {
      present.add(relative);
      const path = join(this.folder, relative);
      let info: { size: number; mtimeMs: number };
      try {
        info = await stat(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const before = this.seen.get(relative);
      if (!before || before.size !== info.size || before.mtimeMs !== info.mtimeMs) {
        this.seen.set(relative, { size: info.size, mtimeMs: info.mtimeMs, since: now });
        if (this.config.settle_ms > 0) continue;
      } else if (now - before.since < this.config.settle_ms) continue;
      ready.push({
        stamp: { name: relative, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) },
        relative,
        fetch: async () => ({ path, release: async () => {} }),
      });
    }
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);
    return ready;
  }

  async acknowledge(file: SourceFile): Promise<void> {
    this.seen.delete(file.relative);
    if (!this.config.move_done) return;
    const from = join(this.folder, file.relative);
    let to = join(this.folder, DONE_FOLDER, file.relative);
    await mkdir(dirname(to), { recursive: true });
    // A file of the same name delivered before stays: the new one gets its mtime appended.
    if (await exists(to)) to = `${to}.${file.stamp.mtimeMs}`;
    await rename(from, to);
    // Synced in sync(), every few files: a move lost in a crash only brings back a file the manifest knows is taken.
    this.moved.add(dirname(to));
    this.moved.add(dirname(from));
  }

  async sync(): Promise<void> {
    for (const folder of this.moved) await syncFolder(folder);
    this.moved.clear();
  }

  private async list(): Promise<string[]> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(this.folder, { withFileTypes: true });
    } catch (error) {
      throw new DropFolderError(this.folder, error);
    }
    const names: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isFile()) names.push(entry.name);
      else if (entry.isDirectory() && entry.name !== DONE_FOLDER) {
        let inner: import('node:fs').Dirent[];
        try {
          inner = await readdir(join(this.folder, entry.name), { withFileTypes: true });
        } catch {
          continue; // removed between the two reads
        }
        for (const file of inner)
          if (file.isFile() && !file.name.startsWith('.')) names.push(`${entry.name}/${file.name}`);
      }
    }
    return names.sort();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
