import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { findPersonal } from '../../pipelines/privacy/personal-text.js';

/** One clear personal value found, and where. */
export interface Finding {
  value: string;
  where: string;
}

/** The forms a value may be stored in: as given, and with its separators dropped (0571-87654321 → 057187654321). */
function forms(value: string): string[] {
  const compact = value.replace(/[\s()（）-]/g, '');
  return compact === value ? [value] : [value, compact];
}

/**
 * Where personal data would be if it leaked — the hotline feed's bus segments and lake rows, every dead letter, the
 * logs — is also searched by pattern, not only for what the test planted: anything shaped like a mainland mobile, a
 * landline or an ID number. (Elsewhere vendor ids and image URLs hold digit runs shaped like landlines.)
 */
function mayHoldPersonalData(where: string): boolean {
  return /hotline|_dlq|dlq\.|stdout|stderr/.test(where);
}

function search(text: string, values: readonly string[], where: string, findings: Finding[]): void {
  for (const value of values) for (const form of forms(value)) if (text.includes(form)) findings.push({ value, where });
  if (mayHoldPersonalData(where))
    for (const value of findPersonal(text)) findings.push({ value, where: `${where} (pattern)` });
}

/**
 * Looks for each value in every file under `dataDir`: the raw bytes of every file (bus segments, checkpoints,
 * catalogs, Parquet pages that are not compressed), every Parquet file read back through DuckDB (its pages are zstd
 * compressed, so the raw bytes alone prove nothing), and every table of every DuckDB database (the marts).
 */
export async function scanDataDir(dataDir: string, values: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  const files = (await readdir(dataDir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const file of files) {
      const bytes = await readFile(file);
      search(bytes.toString('utf8'), values, file, findings);
      if (file.endsWith('.parquet')) {
        const reader = await connection.runAndReadAll(
          `select to_json(t)::varchar from read_parquet('${file.replaceAll("'", "''")}') t`,
        );
        search(
          reader
            .getRows()
            .map((r) => String(r[0]))
            .join('\n'),
          values,
          `${file} (rows)`,
          findings,
        );
      } else if (file.endsWith('.duckdb')) {
        const db = `db_${findings.length}_${files.indexOf(file)}`;
        await connection.run(`attach '${file.replaceAll("'", "''")}' as ${db} (read_only)`);
        const tables = (
          await connection.runAndReadAll(
            `select schema_name, table_name from duckdb_tables() where database_name = '${db}'`,
          )
        ).getRows();
        for (const [schema, table] of tables) {
          const reader = await connection.runAndReadAll(
            `select to_json(t)::varchar from ${db}."${schema}"."${table}" t`,
          );
          search(
            reader
              .getRows()
              .map((r) => String(r[0]))
              .join('\n'),
            values,
            `${file} ${table}`,
            findings,
          );
        }
        await connection.run(`detach ${db}`);
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return findings;
}

export function scanText(text: string, values: readonly string[], where: string): Finding[] {
  const findings: Finding[] = [];
  search(text, values, where, findings);
  return findings;
}
