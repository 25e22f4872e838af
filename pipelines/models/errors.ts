import { CityhubError } from '../errors.js';
import type { DataTestResult } from './data-tests.js';

/** First characters of a SQL text, on one line, for error context. */
export function sqlSnippet(sql: string, max = 240): string {
  const oneLine = sql.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/** A model file's header (or its templating) is wrong: fix the file, retrying cannot help. */
export class ModelDefinitionError extends CityhubError {
  /** The model file (absolute path). */
  readonly file: string;
  /** Header field at fault (`name`, `materialization`, `depends_on`, `tests`, …) or `sql` for the body. */
  readonly field: string;
  constructor(file: string, field: string, problem: string, options: { cause?: unknown } = {}) {
    super(`${file}: header field "${field}": ${problem}`, options);
    this.file = file;
    this.field = field;
  }
}

/** depends_on forms a cycle; `cycle` lists the models in order, the first repeated at the end. */
export class ModelCycleError extends CityhubError {
  readonly cycle: string[];
  readonly files: string[];
  constructor(cycle: string[], files: string[]) {
    super(`models depend on each other in a cycle: ${cycle.join(' -> ')} (files: ${files.join(', ')})`);
    this.cycle = cycle;
    this.files = files;
  }
}

/** `--select` names a model the project does not have. */
export class UnknownModelSelectedError extends CityhubError {
  readonly selection: string;
  constructor(selection: string, known: string[]) {
    super(`--select ${selection}: no such model (models: ${[...known].sort().join(', ')})`);
    this.selection = selection;
  }
}

/** DuckDB rejected a model's SQL (or a seed) while building. */
export class ModelBuildError extends CityhubError {
  readonly file: string | undefined;
  readonly model: string;
  readonly sql: string;
  constructor(model: string, file: string | undefined, sql: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`building model ${model}${file ? ` (${file})` : ''} failed: ${reason}\n  sql: ${sqlSnippet(sql)}`, { cause });
    this.model = model;
    this.file = file;
    this.sql = sqlSnippet(sql, 2000);
  }
}

/** Writing, syncing or swapping the marts file failed (disk full, permissions…): may succeed on retry. */
export class MartsFileError extends CityhubError {
  readonly path: string;
  readonly step: 'prepare' | 'checkpoint' | 'fsync' | 'rename' | 'open';
  constructor(path: string, step: MartsFileError['step'], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`marts file ${path}: ${step} failed: ${reason}`, { cause, retriable: step !== 'open' });
    this.path = path;
    this.step = step;
  }
}

/** A query against the marts failed (bad SQL, unknown table…). */
export class MartsQueryError extends CityhubError {
  readonly martsPath: string;
  readonly sql: string;
  constructor(martsPath: string, sql: string, message: string, options: { cause?: unknown } = {}) {
    super(`query on ${martsPath} failed: ${message}\n  sql: ${sqlSnippet(sql)}`, options);
    this.martsPath = martsPath;
    this.sql = sqlSnippet(sql, 2000);
  }
}

/** The query would change something: the marts are served read-only. */
export class ReadOnlyQueryError extends MartsQueryError {
  readonly statementType: string;
  constructor(
    martsPath: string,
    sql: string,
    statementType: string,
    options: { cause?: unknown; message?: string } = {},
  ) {
    super(martsPath, sql, options.message ?? `only read statements are allowed (got ${statementType})`, options);
    this.statementType = statementType;
  }
}

/**
 * The query reaches a file it may not: queries read only the marts and files under the lake folder, and write
 * nothing. DuckDB refuses the path while binding, before the statement's type is known, so a COPY … TO outside the
 * lake lands here too: the message covers both.
 */
export class FileAccessQueryError extends ReadOnlyQueryError {
  /** The file or directory the query tried to reach. */
  readonly path: string;
  readonly lakeDir: string | undefined;
  constructor(
    martsPath: string,
    sql: string,
    path: string,
    lakeDir: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    const allowed = lakeDir === undefined ? 'no files' : `only files under the lake ${lakeDir}, read-only`;
    super(martsPath, sql, 'file access', {
      ...options,
      message: `queries may read the marts and ${allowed}; "${path}" is refused`,
    });
    this.path = path;
    this.lakeDir = lakeDir;
  }
}

/** What a failed data test says about itself in DataTestsFailedError. */
export interface DataTestFailure {
  model: string;
  test: string;
  failing_rows: number;
  /** Set when the test's query itself failed. */
  error?: string;
}

/**
 * Data tests of error severity failed on a new build: the new file was discarded and the previous marts file (if
 * any) stays published untouched. Retrying rebuilds from the same lake and fails the same way until the data or the
 * models are fixed.
 */
export class DataTestsFailedError extends CityhubError {
  readonly martsPath: string;
  readonly failures: DataTestFailure[];
  /** Every test result of the discarded build, warnings included, for reports. */
  readonly tests: DataTestResult[];
  constructor(martsPath: string, failed: readonly DataTestResult[], tests: DataTestResult[]) {
    const failures = failed.map((t) => ({
      model: t.model,
      test: t.name,
      failing_rows: t.failing_rows,
      ...(t.error === undefined ? {} : { error: t.error }),
    }));
    const lines = failures.map(
      (f) => `  - ${f.model}: ${f.test}: ${f.error === undefined ? `${f.failing_rows} failing rows` : f.error}`,
    );
    super(
      `${failures.length} data ${failures.length === 1 ? 'test' : 'tests'} of error severity failed; ` +
        `the new marts were discarded and ${martsPath} was left as it was:\n${lines.join('\n')}`,
    );
    this.martsPath = martsPath;
    this.failures = failures;
    this.tests = tests;
  }
}

/**
 * Reading or writing the models build lock failed (the shared volume is gone, permissions…). Retriable when the
 * underlying failure is one that passes (a stalled volume, a full disk).
 */
export class BuildLockError extends CityhubError {
  /** The lock folder, `<marts file>.build-lock`. */
  readonly lockDir: string;
  readonly step: 'acquire' | 'renew' | 'release';
  constructor(
    lockDir: string,
    step: BuildLockError['step'],
    problem: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(`models build lock ${lockDir}: ${step} failed: ${problem}`, options);
    this.lockDir = lockDir;
    this.step = step;
  }
}

/**
 * This process held the models build lock and lost it while building: its lease ran out before it was renewed (the
 * process was paused, the volume stalled) or another process took it over. Another build may be running: the build
 * should stop before publishing; a later build can retry.
 */
export class BuildLockLostError extends CityhubError {
  readonly lockFile: string;
  readonly reason: string;
  constructor(lockFile: string, reason: string) {
    super(`lost the models build lock ${lockFile}: ${reason}`, { retriable: true });
    this.lockFile = lockFile;
    this.reason = reason;
  }
}
