import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, literal } from './columns.js';
import type { DataTestSeverity, DataTestSpec } from './header.js';
import type { ModelDefinition } from './project.js';

export interface DataTestResult {
  /** The test as written in the header, normalized, e.g. `unique(grain, period, region_code)`. */
  name: string;
  model: string;
  kind: DataTestSpec['kind'];
  /** `error`: a failure keeps the previous marts published; `warn`: a failure is only reported. */
  severity: DataTestSeverity;
  passed: boolean;
  /** Rows that break the test (for unique: key values that occur more than once). */
  failing_rows: number;
  /** The query that counts failing rows. */
  sql: string;
  /** Set when the test could not run: the query failed, or (testModels) the model is not stored in the marts file. */
  error?: string;
  skipped?: boolean;
}

/** A query returning one row, one column: the number of failing rows. */
export function dataTestSql(model: string, test: DataTestSpec, relation = model): string {
  const from = ident(relation);
  const rowCondition = failingRowCondition(test);
  if (rowCondition !== undefined) return `select count(*) from ${from} where ${rowCondition}`;
  switch (test.kind) {
    case 'unique': {
      const cols = test.columns.map(ident).join(', ');
      return `select count(*) from (select ${cols} from ${from} group by ${cols} having count(*) > 1)`;
    }
    case 'relationships':
      return `select count(*) from ${from} as child where child.${ident(test.column)} is not null and not exists (select 1 from ${ident(test.toModel)} as parent where parent.${ident(test.toColumn)} = child.${ident(test.column)})`;
    default:
      throw new Error(`no query for test kind ${test.kind}`);
  }
}

/** For the tests that judge each row on its own: the condition a failing row meets. */
function failingRowCondition(test: DataTestSpec): string | undefined {
  switch (test.kind) {
    case 'not_null':
      return `${ident(test.column)} is null`;
    case 'accepted_values':
      return `${ident(test.column)} is not null and cast(${ident(test.column)} as varchar) not in (${test.values.map(literal).join(', ')})`;
    case 'expression':
      return `not coalesce((${test.expression}), false)`;
    default:
      return undefined;
  }
}

/**
 * A test as one aggregate over its model's relation, so that a model's tests share one pass (a staging view reads the
 * lake: once, not once per test). Row-by-row tests count their failing rows exactly; unique counts the rows beyond
 * the first of each key, 0 exactly when it passes (a failure is counted again by its own query).
 */
function batchAggregate(test: DataTestSpec): { sql: string; exact: boolean } | undefined {
  const condition = failingRowCondition(test);
  if (condition !== undefined) return { sql: `count(*) filter (where ${condition})`, exact: true };
  if (test.kind === 'unique') {
    return { sql: `count(*) - count(distinct row(${test.columns.map(ident).join(', ')}))`, exact: false };
  }
  return undefined;
}

/** The tests' aggregates in one query; undefined when it fails, so each test runs alone and names its own error. */
async function batchedCounts(
  connection: DuckDBConnection,
  aggregates: readonly string[],
  relation: string,
): Promise<number[] | undefined> {
  if (aggregates.length < 2) return undefined;
  try {
    const reader = await connection.runAndReadAll(`select ${aggregates.join(', ')} from ${ident(relation)}`);
    return reader.getRows()[0]!.map((v) => Number(v ?? 0));
  } catch {
    return undefined;
  }
}

/**
 * Runs the header tests of the given models; `present` says which relations exist (others are reported skipped);
 * `relationOf` names the relation a model's tests read (an incremental build tests staging over its changed days).
 */
export async function runDataTests(
  connection: DuckDBConnection,
  models: ModelDefinition[],
  present: (name: string) => boolean,
  relationOf: (model: string) => string = (model) => model,
): Promise<DataTestResult[]> {
  const results: DataTestResult[] = [];
  for (const model of models) {
    const relation = relationOf(model.name);
    const batchable = model.header.tests.flatMap((test) => {
      const aggregate = batchAggregate(test);
      return aggregate === undefined ? [] : [{ test, ...aggregate }];
    });
    const counts = present(model.name)
      ? await batchedCounts(
          connection,
          batchable.map((b) => b.sql),
          relation,
        )
      : undefined;
    for (const test of model.header.tests) {
      const sql = dataTestSql(model.name, test, relation);
      const base = { name: test.name, model: model.name, kind: test.kind, severity: test.severity, sql };
      const missing = [model.name, ...(test.kind === 'relationships' ? [test.toModel] : [])].filter((n) => !present(n));
      if (missing.length > 0) {
        results.push({
          ...base,
          passed: true,
          failing_rows: 0,
          skipped: true,
          error: `not stored in the marts file: ${missing.join(', ')}`,
        });
        continue;
      }
      const index = batchable.findIndex((b) => b.test === test);
      const counted = index < 0 ? undefined : counts?.[index];
      if (counted !== undefined && (counted === 0 || batchable[index]!.exact)) {
        results.push({ ...base, passed: counted === 0, failing_rows: counted });
        continue;
      }
      try {
        const reader = await connection.runAndReadAll(sql);
        const failing = Number(reader.getRows()[0]?.[0] ?? 0);
        results.push({ ...base, passed: failing === 0, failing_rows: failing });
      } catch (err) {
        results.push({
          ...base,
          passed: false,
          failing_rows: 0,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
  return results;
}

/** Failed tests (a test whose query failed counts as failed) of the given severity. */
export function failedTests(results: readonly DataTestResult[], severity: DataTestSeverity): DataTestResult[] {
  return results.filter((t) => !t.passed && t.severity === severity);
}
