/** Readers of departmental file deliveries (csv, xlsx, json, ndjson): inspect a file, then read its rows. */
export { type FileInspection, inspectFile } from './inspect.js';
export { type FileFormat, type FileReadOptions, fileReadOptions, type TextEncoding } from './options.js';
export {
  type FileProblem,
  FileProblemError,
  type FileProblemKind,
  type FileRow,
  type FileValue,
  fileProblemKinds,
  type RowProblem,
  type RowProblemKind,
  rowProblemKinds,
} from './problems.js';
export { readRows } from './read.js';
