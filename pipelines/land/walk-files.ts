import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every file under `dir`, depth first (none when `dir` does not exist). `enter(dir, name)` decides whether a
 * subfolder is walked (default: all).
 */
export async function* walkFiles(
  dir: string,
  enter: (parent: string, name: string) => boolean = () => true,
): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (!entry.isDirectory()) yield path;
    else if (enter(dir, entry.name)) yield* walkFiles(path, enter);
  }
}
