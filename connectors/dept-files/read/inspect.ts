/**
 * The first pass over a delivered file: checksum, size, and every file-level problem, before any row is used (the
 * connector records a file with a problem as a delivery with that problem and dead-letters it whole). It parses the
 * whole file the way `readRows` will, keeping nothing but counts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { binaryReason, EncodingCheck, TextDecoding } from './bytes.js';
import type { FileReadOptions } from './options.js';
import { READ_CHUNK_BYTES, textParser } from './parsers.js';
import { type FileProblem, FileProblemError } from './problems.js';
import type { EmitRow } from './text-rows.js';
import { type SheetShape, xlsxRows } from './xlsx.js';
import { ZipCheck } from './zip-check.js';

export interface FileInspection {
  /** The file as the caller named it (problems name it too). */
  file: string;
  bytes: number;
  /** Hex SHA-256 of the file's bytes: the delivery's checksum. */
  sha256: string;
  /** The file-level problem, if any: then the file is dead-lettered whole and `rows` means nothing. */
  problem?: FileProblem;
  /** Data rows: each becomes a record or a row dead letter. */
  rows: number;
  /** Header names (csv, xlsx). */
  columns?: readonly string[];
}

const ignoreRow: EmitRow = () => {};

function asProblem(error: unknown): FileProblem {
  if (error instanceof FileProblemError) return error.problem;
  throw error;
}

/** @param file how problems name the file (a path relative to the drop folder, an S3 key); default `path`. */
export async function inspectFile(path: string, options: FileReadOptions, file = path): Promise<FileInspection> {
  return options.format === 'xlsx' ? inspectWorkbook(path, options, file) : inspectText(path, options, file);
}

async function inspectText(path: string, options: FileReadOptions, file: string): Promise<FileInspection> {
  const hash = createHash('sha256');
  const decoding = new TextDecoding(options.encoding, file);
  const encodingCheck = new EncodingCheck(options.encoding, file);
  const parser = textParser(file, options);
  let bytes = 0;
  let binary: FileProblem | undefined;
  let decodeProblem: FileProblem | undefined;
  let parseProblem: FileProblem | undefined;
  let content = false;
  const parse = (text: string) => {
    if (parseProblem) return;
    if (!content && /\S/.test(text)) content = true;
    try {
      parser.push(text, ignoreRow);
    } catch (error) {
      parseProblem = asProblem(error);
    }
  };
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    const offset = bytes;
    bytes += chunk.length;
    if (binary) continue;
    const notText = binaryReason(chunk, offset, offset === 0);
    if (notText) {
      binary = { kind: 'binary', file, message: notText.message, byte: notText.byte };
      continue;
    }
    if (decodeProblem) continue;
    // The encoding check keeps going after a parse problem: a mismatch explains the parse problem, not the reverse.
    encodingCheck.push(chunk);
    try {
      parse(decoding.decode(chunk));
    } catch (error) {
      decodeProblem = asProblem(error);
    }
  }
  const sha256 = hash.digest('hex');
  const done = (problem?: FileProblem): FileInspection => ({
    file,
    bytes,
    sha256,
    ...(problem ? { problem } : {}),
    rows: problem ? 0 : parser.rows,
    ...(parser.columns && !problem ? { columns: parser.columns } : {}),
  });
  if (bytes === 0) return done({ kind: 'empty', file, message: 'the file has no bytes' });
  if (binary || decodeProblem) return done(binary ?? decodeProblem);
  try {
    parse(decoding.end());
    encodingCheck.end();
  } catch (error) {
    return done(asProblem(error));
  }
  if (!content) return done({ kind: 'empty', file, message: 'the file holds only whitespace' });
  if (parseProblem) return done(parseProblem);
  try {
    parser.end(ignoreRow);
  } catch (error) {
    return done(asProblem(error));
  }
  return done();
}

async function inspectWorkbook(path: string, options: FileReadOptions, file: string): Promise<FileInspection> {
  const hash = createHash('sha256');
  const zip = new ZipCheck();
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    zip.push(chunk);
    bytes += chunk.length;
  }
  const base = { file, bytes, sha256: hash.digest('hex'), rows: 0 };
  if (bytes === 0) return { ...base, problem: { kind: 'empty', file, message: 'the file has no bytes' } };
  const verdict = zip.verdict();
  if (!verdict.ok) return { ...base, problem: { kind: verdict.kind, file, message: verdict.message } };
  // The zip is whole: now read the sheet (a second read of the file: the zip reader needs the archive to be whole
  // before it can be trusted, and workbooks are small next to the csv deliveries).
  const shape: SheetShape = {};
  const rows = xlsxRows(file, path, options, shape);
  let count = 0;
  try {
    for await (const batch of rows) count += batch.length;
  } catch (error) {
    return { ...base, problem: asProblem(error) };
  }
  return { ...base, rows: count, ...(shape.columns ? { columns: shape.columns } : {}) };
}
