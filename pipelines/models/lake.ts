import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type DatasetName, datasets } from '../../schemas/index.js';
import { columnSpecs, ident, landingColumnSpecs, literal } from './columns.js';

/** Landed Parquet files of a dataset: <lake>/<dataset>/dt=YYYY-MM-DD/*.parquet (in-flight `.tmp` files excluded). */
export async function lakeFiles(lakeDir: string, dataset: DatasetName): Promise<string[]> {
  const root = join(lakeDir, dataset);
  let days: string[];
  try {
    days = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory() && d.name.startsWith('dt='))
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: string[] = [];
  for (const day of days.sort()) {
    for (const entry of await readdir(join(root, day), { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.parquet')) files.push(join(root, day, entry.name));
    }
  }
  return files;
}

/**
 * The relation `{{ source('lake', dataset) }}` stands for: a typed row source with no rows (so an empty lake still
 * gives correctly typed staging), unioned by name with the landed Parquet files when there are any.
 */
export async function lakeSourceSql(lakeDir: string, dataset: DatasetName): Promise<string> {
  const columns = [...columnSpecs(datasets[dataset]), ...landingColumnSpecs];
  const typedEmpty = `select ${columns.map((c) => `cast(null as ${c.type}) as ${ident(c.name)}`).join(', ')} where false`;
  const files = await lakeFiles(lakeDir, dataset);
  if (files.length === 0) return `(${typedEmpty})`;
  // A glob keeps the SQL short; fall back to the explicit list when the path itself has glob characters.
  const root = join(lakeDir, dataset);
  const target = /[*?[\]{}]/.test(root) ? `[${files.map(literal).join(', ')}]` : literal(join(root, '*', '*.parquet'));
  return `(${typedEmpty} union all by name select * from read_parquet(${target}, hive_partitioning = true, union_by_name = true))`;
}
