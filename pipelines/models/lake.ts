import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DatasetName, datasets } from '../../schemas/index.js';
import { columnSpecs, ident, landingColumnSpecs, literal } from './columns.js';

/** One lake day (dt folder) of a dataset: its landed files and a fingerprint of their names, sizes and times. */
export interface LakeDay {
  files: string[];
  /** Changes whenever a file of the day is added, removed, rewritten or replaced (compaction). */
  fingerprint: string;
}

/**
 * The landed Parquet files of a dataset by lake day: <lake>/<dataset>/dt=YYYY-MM-DD/*.parquet (in-flight `.tmp`
 * files excluded), days in order. A day folder without a Parquet file is no day.
 */
export async function lakeDays(lakeDir: string, dataset: DatasetName): Promise<Map<string, LakeDay>> {
  const root = join(lakeDir, dataset);
  let folders: string[];
  try {
    folders = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && /^dt=\d{4}-\d{2}-\d{2}$/.test(d.name))
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const days = new Map<string, LakeDay>();
  for (const folder of folders.sort()) {
    const hash = createHash('sha256');
    const files: string[] = [];
    const names = (await readdir(join(root, folder), { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
      .map((e) => e.name)
      .sort();
    for (const name of names) {
      const path = join(root, folder, name);
      // A file removed since the listing (a crash recovery, compaction) is simply not part of the day.
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) continue;
      files.push(path);
      hash.update(`${name}\u0000${info.size}\u0000${info.mtimeMs}\n`);
    }
    if (files.length > 0) days.set(folder.slice(3), { files, fingerprint: hash.digest('hex') });
  }
  return days;
}

/**
 * The relation `{{ source('lake', dataset) }}` stands for: a typed row source with no rows (so an empty lake still
 * gives correctly typed staging), unioned by name with the landed Parquet files of `days` (lakeDays) when there are
 * any. With `onlyDays`, only those lake days are read (an incremental build's changed days).
 */
export function lakeSourceSql(
  lakeDir: string,
  dataset: DatasetName,
  days: ReadonlyMap<string, LakeDay>,
  onlyDays?: ReadonlySet<string>,
): string {
  const columns = [...columnSpecs(datasets[dataset]), ...landingColumnSpecs];
  const typedEmpty = `select ${columns.map((c) => `cast(null as ${c.type}) as ${ident(c.name)}`).join(', ')} where false`;
  const read = onlyDays === undefined ? [...days.keys()] : [...days.keys()].filter((d) => onlyDays.has(d));
  if (read.length === 0) return `(${typedEmpty})`;
  // Globs keep the SQL short; fall back to the explicit list when the path itself has glob characters.
  const root = join(lakeDir, dataset);
  const globs = /[*?[\]{}]/.test(root)
    ? read.flatMap((d) => days.get(d)!.files)
    : onlyDays === undefined
      ? [join(root, '*', '*.parquet')]
      : read.map((d) => join(root, `dt=${d}`, '*.parquet'));
  const target = globs.length === 1 ? literal(globs[0]!) : `[${globs.map(literal).join(', ')}]`;
  return `(${typedEmpty} union all by name select * from read_parquet(${target}, hive_partitioning = true, union_by_name = true))`;
}
