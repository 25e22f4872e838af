/** Counts over Parquet files a bench run wrote, in a DuckDB instance of their own (after the timed part). */
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The first value of each query (a count or a sum over read_parquet), as numbers in the queries' order. A glob that
 * matches no file counts 0: nothing landed (or nothing dead-lettered) is no file at all, not an error.
 */
export async function parquetCounts(queries: readonly string[]): Promise<number[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const counts: number[] = [];
    for (const sql of queries) {
      const reader = await connection.runAndReadAll(sql).catch(noFiles);
      counts.push(Number(reader.getRows()[0]?.[0] ?? 0));
    }
    return counts;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function noFiles(error: unknown): { getRows(): unknown[][] } {
  if (error instanceof Error && error.message.includes('No files found')) return { getRows: () => [] };
  throw error;
}
