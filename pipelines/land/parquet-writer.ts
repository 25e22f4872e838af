import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Column } from './columns.js';

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Writes rows to Parquet with DuckDB. Rows arrive as NDJSON lines (one JSON object each, keys = column names);
 * DuckDB reads them with explicit column types, so nothing is inferred and a missing key is NULL.
 */
export class ParquetWriter {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly scratchDir: string,
  ) {}

  static async open(scratchDir: string, threads = 2): Promise<ParquetWriter> {
    // Bounded so a large flush spills to the scratch folder instead of growing the hub's memory without limit.
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(threads),
      memory_limit: '512MB',
      temp_directory: join(scratchDir, 'duckdb-spill'),
    });
    const connection = await instance.connect();
    return new ParquetWriter(instance, connection, scratchDir);
  }

  private sequence = 0;

  /** Writes `lines` (NDJSON without trailing newline) to `path` as a zstd Parquet file. */
  async write(path: string, columns: Column[], lines: string[]): Promise<void> {
    await this.copy(columns, lines, `${literal(path)} (format parquet, compression zstd)`);
  }

  /**
   * Writes NDJSON `pieces` (lines, or groups of lines joined by newlines; each row with a "dt" key) as one Parquet
   * file per dt: `<dir>/dt=<dt>/part0.parquet`, dt kept out of the file (it is the folder). One DuckDB statement for
   * a whole flush instead of one per day.
   */
  async writePartitioned(dir: string, columns: Column[], pieces: string[]): Promise<{ dt: string; path: string }[]> {
    await this.copy(
      [...columns, { name: 'dt', type: 'VARCHAR' }],
      pieces,
      `${literal(dir)} (format parquet, compression zstd, partition_by (dt), filename_pattern 'part{i}', overwrite_or_ignore true)`,
    );
    const out: { dt: string; path: string }[] = [];
    for (const folder of await readdir(dir)) {
      if (!folder.startsWith('dt=')) continue;
      const files = await readdir(join(dir, folder));
      // The lake names one file per (range, day); DuckDB splits a partition only past a file size we never set.
      if (files.length !== 1)
        throw new Error(`expected one Parquet file in ${join(dir, folder)}, found ${files.length}`);
      out.push({ dt: folder.slice(3), path: join(dir, folder, files[0]!) });
    }
    return out;
  }

  /**
   * Puts the NDJSON into a scratch file and copies it to `target` (a COPY destination with its options), reading
   * `columns` with explicit types, so nothing is inferred and a missing key is NULL.
   */
  private async copy(columns: Column[], pieces: string[], target: string): Promise<void> {
    const scratch = join(this.scratchDir, `batch-${process.pid}-${this.sequence++}.ndjson`);
    await writeFile(scratch, pieces.join('\n'));
    try {
      const spec = columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ');
      const select = columns.map((c) => quote(c.name)).join(', ');
      await this.connection.run(
        `copy (select ${select} from read_json(${literal(scratch)}, format = 'newline_delimited', columns = {${spec}}, maximum_object_size = 16777216))
         to ${target}`,
      );
    } finally {
      await rm(scratch, { force: true });
    }
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
