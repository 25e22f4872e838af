/**
 * The DuckDB-native reference, in a process of its own: DuckDB (its defaults, every core) reads the producer's NDJSON
 * file — the same payload bytes the pipeline consumed — and writes it to zstd Parquet in one statement. Timed: that
 * statement.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { type BenchFeed, feedBenches } from './feeds.js';
import { ndjsonPath } from './produce.js';

export async function referenceRun(feed: BenchFeed, dir: string, run: number): Promise<{ seconds: number }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const out = join(dir, `reference-${run}.parquet`);
    const t0 = performance.now();
    await connection.run(
      `copy (${feedBenches[feed].referenceSelect(ndjsonPath(dir))}) to '${out}' (format parquet, compression zstd)`,
    );
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
