import { CsvRows } from './csv.js';
import { JsonArrayRows } from './json-array.js';
import { NdjsonRows } from './ndjson.js';
import type { FileReadOptions } from './options.js';
import type { TextRowParser } from './text-rows.js';

/** The parser of a text format (every format but xlsx). */
export function textParser(file: string, options: FileReadOptions): TextRowParser {
  switch (options.format) {
    case 'csv':
      return new CsvRows(file, options);
    case 'json':
      return new JsonArrayRows(file, options.max_row_bytes);
    case 'ndjson':
      return new NdjsonRows(file, options.max_row_bytes);
    case 'xlsx':
      throw new TypeError('xlsx is not a text format');
  }
}

/** Chunk size of both passes: large enough for throughput, small enough that memory stays flat. */
export const READ_CHUNK_BYTES = 64 * 1024;
