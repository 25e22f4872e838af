import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { LakeStore } from './store.js';
import { walkFiles } from './walk-files.js';

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const SCRATCH = '_scratch';
/** Folders at the lake root that hold the pipeline's own work files, never data: list() does not show them. */
const WORK_FOLDERS = new Set([SCRATCH, '_journal', '_catalogs']);

/** A lake on the local file system: files become visible only by rename, after their bytes and folder are fsynced. */
export class LocalLakeStore implements LakeStore {
  constructor(readonly root: string) {}

  async scratchDir(id: string): Promise<string> {
    const path = join(this.root, SCRATCH, id);
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    return path;
  }

  async clearScratch(): Promise<void> {
    await rm(join(this.root, SCRATCH), { recursive: true, force: true });
  }

  async stagingPath(relPath: string): Promise<string> {
    const path = join(this.root, `${relPath}.tmp`);
    await mkdir(dirname(path), { recursive: true });
    return path;
  }

  async commit(relPaths: string[]): Promise<void> {
    const folders = new Set<string>();
    await Promise.all(
      relPaths.map(async (relPath) => {
        const final = join(this.root, relPath);
        await fsyncPath(`${final}.tmp`);
        await rename(`${final}.tmp`, final);
        folders.add(dirname(final));
      }),
    );
    // A rename is durable only once its folder is: fsync each folder that gained a file.
    await Promise.all([...folders].map(fsyncPath));
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const enter = (parent: string, name: string) => parent !== this.root || !WORK_FOLDERS.has(name);
    for await (const path of walkFiles(this.root, enter)) out.push(relative(this.root, path));
    return out;
  }

  async remove(relPath: string): Promise<void> {
    await rm(join(this.root, relPath), { force: true });
  }

  async recentFiles(folder: string, limit: number): Promise<string[]> {
    const paths = (await this.list()).filter((p) => p.startsWith(`${folder}/`) && p.endsWith('.parquet'));
    const dated = await Promise.all(
      paths.map(async (p) => ({ path: join(this.root, p), mtime: (await stat(join(this.root, p))).mtimeMs })),
    );
    return dated
      .sort((a, b) => b.mtime - a.mtime)
      .slice(0, limit)
      .map((f) => f.path);
  }

  async writeSmall(relPath: string, text: string): Promise<void> {
    const final = join(this.root, relPath);
    await mkdir(dirname(final), { recursive: true });
    const handle = await open(`${final}.tmp`, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${final}.tmp`, final);
    await fsyncPath(dirname(final));
  }

  async listWork(folder: string): Promise<string[]> {
    const out: string[] = [];
    for await (const path of walkFiles(join(this.root, folder))) {
      if (!path.endsWith('.tmp')) out.push(relative(this.root, path));
    }
    return out.sort();
  }

  async readSmall(relPath: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.root, relPath), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
