/**
 * The ingest bench stays runnable and honest: a small run of every feed accounts for every record (the bench exits
 * non-zero otherwise) and ends with one JSON line of figures per feed. Drives dist/, as `npm test` builds it first.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const entry = join(import.meta.dirname, '..', 'dist', 'bench', 'pipeline.bench.js');

it('measures every feed, each run accounted for, and ends with a JSON line per feed', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [entry, '--records', '3000', '--runs', '1', '--json'],
    {
      timeout: 170_000,
    },
  );
  const lines = stdout.trim().split('\n');
  const figures = lines.slice(-4).map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(figures.map((f) => f.feed)).toEqual(['sensor', 'video', 'hotline', 'dept']);
  for (const f of figures) {
    for (const key of ['records_per_s', 'reference_records_per_s', 'ratio', 'cpu_us_per_record', 'peak_rss_mib'])
      expect(f[key], `${f.feed} ${key}`).toBeGreaterThan(0);
  }
  expect(lines.filter((line) => line.includes(' ✓')).length).toBe(4);
});

it("with --floor, times the run's DuckDB statements alone: every landed row written again, faster than the pipeline", async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [entry, '--feed', 'sensor', '--records', '3000', '--runs', '1', '--floor', '--json'],
    { timeout: 170_000 },
  );
  const lines = stdout.trim().split('\n');
  const figures = JSON.parse(lines.at(-1)!) as Record<string, number>;
  for (const key of ['duckdb_floor_records_per_s', 'duckdb_floor_ratio', 'duckdb_floor_cpu_us_per_record'])
    expect(figures[key], key).toBeGreaterThan(0);
  // DuckDB's share of a run cannot take longer than the whole run it is part of.
  expect(figures.duckdb_floor_records_per_s).toBeGreaterThan(figures.records_per_s!);
  expect(figures.duckdb_floor_cpu_us_per_record).toBeLessThan(figures.cpu_us_per_record!);
  // ✓: the run accounted for every record and the replay wrote every landed row again.
  expect(lines.find((line) => line.startsWith('  run 1:'))).toMatch(/DuckDB alone .* ✓$/);
});
