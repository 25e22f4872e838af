/** `cityhub catalogs check`: what each configured catalog holds, and every problem in it (docs/catalogs.md). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type CatalogName, catalogs, type Region } from '../../schemas/index.js';
import { publishedCatalogPath } from '../catalogs/effective.js';
import { type CatalogImport, describeProblem, importCatalogFile } from '../catalogs/import.js';
import { type CatalogSource, describeCatalogSource, planCatalogSources } from '../catalogs/sources.js';
import { describeCatalogEntries } from '../catalogs/summary.js';
import { loadConfig } from '../config/load.js';
import { ConfigError, UsageError } from '../errors.js';

/** Regions first: the others' region codes are checked against them. */
const catalogNames = Object.keys(catalogs) as CatalogName[];

export async function commandCatalogs(
  args: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1 || positionals[0] !== 'check')
    throw new UsageError('expected `cityhub catalogs check [--config FILE]`');
  const loaded = loadConfig(values.config);
  const planned = planCatalogSources(loaded);
  if (planned.issues.length > 0) throw new ConfigError(loaded.file, planned.issues);
  const dataDir = resolve(loaded.paths.baseDir, loaded.config.data_dir);
  let regions: readonly Region[] | undefined;
  let problems = 0;
  let warnings = 0;
  for (const name of catalogNames) {
    const source = planned.sources[name]!;
    const file = catalogFile(name, source, dataDir);
    if (file === undefined) {
      out(`${name}: ${describeCatalogSource(source)}`);
      continue;
    }
    if (source.kind === 'connector' && !existsSync(file.path)) {
      // Not an error: the connector writes it when the hub runs (`cityhub run`), and publishes it for later checks.
      out(`${name}: ${describeCatalogSource(source)}; not published yet (no ${file.path}): run the hub once to see it`);
      continue;
    }
    const imported = importCatalogFile(name, file.path, { regions });
    if (name === 'regions' && imported.problems.length === 0) regions = imported.entries as Region[];
    out(`${name}: ${describeCatalogSource(source)}${file.note}${format(imported)}`);
    out(`  ${describeCatalogEntries(name, imported.entries)}`);
    for (const warning of imported.warnings) err(`warning: ${warning}`);
    for (const problem of imported.problems) err(`error: ${describeProblem(problem)}`);
    problems += imported.problems.length;
    warnings += imported.warnings.length;
  }
  out(`catalogs: ${problems} error(s), ${warnings} warning(s)`);
  return problems > 0 ? 1 : 0;
}

/** The file to read for a catalog; a connector's catalog is read as a hub run published it, if one did. */
function catalogFile(
  name: CatalogName,
  source: CatalogSource,
  dataDir: string,
): { path: string; note: string } | undefined {
  if (source.kind === 'file' || source.kind === 'bundled') return { path: source.path, note: '' };
  if (source.kind !== 'connector') return undefined;
  const published = publishedCatalogPath(dataDir, name);
  return { path: published, note: `, as published at ${published}` };
}

function format(imported: CatalogImport<CatalogName>): string {
  if (!imported.format) return '';
  return ` (${imported.format.toUpperCase()}${imported.encoding ? `, ${imported.encoding === 'utf8' ? 'UTF-8' : 'GB18030'}` : ''})`;
}
