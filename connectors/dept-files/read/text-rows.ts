import type { FileRow } from './problems.js';

export type EmitRow = (row: FileRow) => void;

/** A parser of a text format: decoded text in, rows out; file-level problems are thrown as FileProblemError. */
export interface TextRowParser {
  push(text: string, emit: EmitRow): void;
  end(emit: EmitRow): void;
  /** Data rows seen so far (with or without a problem). */
  readonly rows: number;
  /** Column names, for tabular formats once the header is known. */
  readonly columns: readonly string[] | undefined;
}

/** UTF-8 size of `text` against `limit`, computing the exact size only when the length alone cannot tell. */
export function overLimit(length: number, limit: number, exactBytes: () => number): number | undefined {
  if (length > limit) return length;
  if (length * 3 <= limit) return undefined;
  const bytes = exactBytes();
  return bytes > limit ? bytes : undefined;
}
