import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The installed cityhub package folder (holds sql/ and the bundled catalogs), from source or from dist/ alike. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'cityhub') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the cityhub package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * Node options that size libuv's threadpool as bin/cityhub.js does (bin/threadpool.cjs), for a process started on
 * another entry (the benches' children): DuckDB's statements run on that pool.
 */
export function threadpoolPreload(): string[] {
  return ['--require', join(packageRoot(), 'bin', 'threadpool.cjs')];
}
