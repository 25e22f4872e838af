import { resolve } from 'node:path';
import type { CatalogName, DataResource, Device, Region, Scenario } from '../../schemas/index.js';
import { CityhubError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { type CatalogProblem, describeProblem, type ImportContext, importCatalogFile } from './import.js';

export interface Catalogs {
  regions: Region[];
  data_resources: DataResource[];
  scenarios: Scenario[];
  devices: Device[];
}

/** A catalog file that cannot be used; `problems` lists every problem found, the first one's place is on the error. */
export class CatalogError extends CityhubError {
  readonly problems: CatalogProblem[];
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string | undefined,
    message: string,
    problems?: CatalogProblem[],
  ) {
    super(
      problems
        ? problems.map(describeProblem).join('\n')
        : `${file}${line ? `:${line}` : ''}${field ? ` field ${field}` : ''}: ${message}`,
    );
    this.problems = problems ?? [{ file, line, field, message }];
  }

  static of(problems: CatalogProblem[]): CatalogError {
    const first = problems[0]!;
    return new CatalogError(first.file, first.line, first.field, first.message, problems);
  }
}

/**
 * Loads and validates one catalog file (CSV, XLSX or a JSON array; docs/catalogs.md). Given the region catalog, also
 * checks the regions entries name. Throws one CatalogError listing every problem, each with file, line and field.
 */
export function loadCatalogFile<N extends CatalogName>(
  name: N,
  file: string,
  context: ImportContext = {},
): Catalogs[N] {
  const imported = importCatalogFile(name, file, context);
  if (imported.problems.length > 0) throw CatalogError.of(imported.problems);
  return imported.entries;
}

export function bundledRegionsPath(): string {
  return resolve(packageRoot(), 'sql/seeds/regions.csv');
}
