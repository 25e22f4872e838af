/**
 * The second pass: the rows of a file that `inspectFile` found no file-level problem in. Streams; memory stays
 * bounded by the chunk size and max_row_bytes whatever the file's size.
 */
import { createReadStream } from 'node:fs';
import { TextDecoding } from './bytes.js';
import type { FileReadOptions } from './options.js';
import { READ_CHUNK_BYTES, textParser } from './parsers.js';
import type { FileRow } from './problems.js';
import { xlsxRows } from './xlsx.js';

/**
 * Rows in file order, each a record or a row problem. Throws FileProblemError on a file-level problem, which only
 * happens when the file was not inspected first or changed since.
 */
export async function* readRows(path: string, options: FileReadOptions, file = path): AsyncGenerator<FileRow> {
  if (options.format === 'xlsx') {
    for await (const batch of xlsxRows(file, path, options)) yield* batch;
    return;
  }
  const decoding = new TextDecoding(options.encoding, file);
  const parser = textParser(file, options);
  const pending: FileRow[] = [];
  const emit = (row: FileRow) => {
    pending.push(row);
  };
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    parser.push(decoding.decode(chunk), emit);
    yield* pending;
    pending.length = 0;
  }
  parser.push(decoding.end(), emit);
  parser.end(emit);
  yield* pending;
}
