/** Where the traced pipeline run (pipeline-run.ts) leaves DuckDB's statements and scratch files for floor-run.ts. */
import { join } from 'node:path';

export const traceDir = (dir: string) => join(dir, 'trace');
/** One JSON line per statement, in the order their connections started them: `{ connection, sql }`. */
export const tracePath = (dir: string) => join(traceDir(dir), 'statements.ndjson');

export interface TracedStatement {
  /** 0: the writer's connection; 1 + lane: a mapping lane's (parquet-writer.ts StatementObserver). */
  connection: number;
  sql: string;
}
