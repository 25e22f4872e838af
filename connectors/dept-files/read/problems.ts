/**
 * What can be wrong with a departmental file, as data: the connector records a file-level problem on the delivery
 * and dead-letters the file whole; it dead-letters a row with a row-level problem and lets the rest flow on.
 */
import { CityhubError } from '../../../pipelines/errors.js';

export const fileProblemKinds = [
  'empty', // no bytes, or only whitespace / a byte-order mark
  'binary', // NUL bytes or mostly control bytes in a text format; not a zip archive for xlsx
  'encoding_mismatch', // the bytes are not in the declared encoding
  'truncated', // xlsx zip cut short; json array never closed
  'corrupt', // xlsx whose zip or XML cannot be read
  'unclosed_quote', // csv ends inside a quoted field
  'malformed_json', // json array whose structure is broken between elements, or text after it
  'not_an_array', // json file whose top level is not an array
  'missing_sheet', // xlsx without the configured sheet
  'no_header', // csv/xlsx without a row at the header position
  'bad_header', // csv/xlsx header with an empty, repeated or unsafe column name
  'header_only', // csv/xlsx with a header and no data row
  'no_rows', // json/ndjson without a single element
] as const;
export type FileProblemKind = (typeof fileProblemKinds)[number];

export interface FileProblem {
  kind: FileProblemKind;
  /** The file as the caller named it. */
  file: string;
  message: string;
  /** 1-based physical line (csv/json/ndjson) or sheet row (xlsx) where the problem is, when there is one. */
  line?: number;
  /** 0-based byte offset in the file, when the problem is at a byte. */
  byte?: number;
  /** The column a header problem is about. */
  column?: string;
}

export const rowProblemKinds = [
  'ragged_row', // more or fewer cells than the header
  'formula_cell', // a formula, or text a spreadsheet would run as one (=…, @SUM(…), +cmd|…)
  'invalid_json', // an ndjson line or json element that does not parse
  'not_an_object', // a json/ndjson element that is not an object
  'too_large', // over max_row_bytes
  'invalid_unicode', // a string with a lone UTF-16 surrogate (DuckDB and Parquet refuse it)
  'unsafe_key', // a __proto__ / constructor.prototype key
] as const;
export type RowProblemKind = (typeof rowProblemKinds)[number];

export interface RowProblem {
  kind: RowProblemKind;
  message: string;
  /** The column (header name) or key path the problem is about. */
  column?: string;
  /** The row's own text when it is cheap and safe to keep (a json element, an ndjson line); never for too_large. */
  raw?: string;
}

/** A value of a row: cells are scalars; json elements keep their nested structure. */
export type FileValue = string | number | boolean | null | FileValue[] | { [key: string]: FileValue };

export type FileRow =
  | { line: number; values: Record<string, FileValue>; problem?: undefined }
  | { line: number; problem: RowProblem; values?: undefined };

/**
 * Thrown by readers when they meet a file-level problem. `inspectFile` turns it into its result; from `readRows`
 * it means the file was not inspected first, or changed since.
 */
export class FileProblemError extends CityhubError {
  readonly problem: FileProblem;
  constructor(problem: FileProblem) {
    const where =
      problem.line !== undefined ? `:${problem.line}` : problem.byte !== undefined ? ` @${problem.byte}` : '';
    super(`${problem.file}${where}: ${problem.kind}: ${problem.message}`, { retriable: false });
    this.problem = problem;
  }
}

export function fileProblem(
  kind: FileProblemKind,
  file: string,
  message: string,
  at: { line?: number; byte?: number; column?: string } = {},
): FileProblemError {
  return new FileProblemError({ kind, file, message, ...at });
}
