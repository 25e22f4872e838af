/**
 * Rows of one sheet of an .xlsx workbook, streamed with exceljs's part parsers (workbook-entries.ts; styles cached: a
 * date is a number with a date format, nothing else tells them apart). Call only on a file whose zip passed `ZipCheck`.
 */
import type ExcelJS from 'exceljs';
import { wallTime } from './cells.js';
import type { FileReadOptions } from './options.js';
import { FileProblemError, fileProblem } from './problems.js';
import { type Cell, TableRows } from './table.js';
import type { EmitRow } from './text-rows.js';
import { openWorkbook } from './workbook-entries.js';

/** Cell text of one exceljs cell value (the union of its CellValue shapes). */
function toCell(value: ExcelJS.CellValue): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return wallTime(value);
  if ('formula' in value || 'sharedFormula' in value)
    return { formula: ('formula' in value ? value.formula : value.sharedFormula) ?? '' };
  if ('richText' in value) return value.richText.map((run) => run.text).join('');
  if ('error' in value) return value.error;
  if ('text' in value) return String(value.text);
  return null;
}

function rowSize(cells: readonly Cell[]): number {
  let size = 0;
  for (const cell of cells) size += typeof cell === 'string' ? cell.length : 8;
  return size;
}

/** Filled in by `xlsxRows` once the header is known. */
export interface SheetShape {
  columns?: readonly string[];
}

/**
 * Reads the chosen sheet through the table rules; emits rows as they come. Throws FileProblemError for
 * missing_sheet, header problems and a workbook exceljs cannot read (corrupt).
 */
export async function* xlsxRows(
  file: string,
  path: string,
  options: FileReadOptions,
  shape: SheetShape = {},
): AsyncGenerator<FileRowBatch> {
  const table = new TableRows(file, options.header_row, true);
  const batch: FileRowBatch = [];
  const emit: EmitRow = (row) => batch.push(row);
  try {
    const workbook = await openWorkbook(path);
    const wanted = options.sheet ?? workbook.sheetNames[0];
    const sheet = wanted === undefined ? undefined : workbook.rows(wanted);
    if (!sheet)
      throw fileProblem(
        'missing_sheet',
        file,
        options.sheet === undefined
          ? 'the workbook has no sheet'
          : `no sheet named ${JSON.stringify(options.sheet)}; the sheets are ${workbook.sheetNames.map((n) => JSON.stringify(n)).join(', ')}`,
      );
    for await (const row of sheet) {
      const values = row.values as ExcelJS.CellValue[];
      // row.values is 1-based (index 0 is empty).
      const cells: Cell[] = new Array(Math.max(0, values.length - 1));
      for (let i = 1; i < values.length; i++) cells[i - 1] = toCell(values[i]);
      const size = rowSize(cells);
      table.add(
        size > options.max_row_bytes
          ? { rowNumber: row.number, line: row.number, cells: [], oversizeBytes: size }
          : { rowNumber: row.number, line: row.number, cells },
        emit,
      );
      if (batch.length >= 256) {
        yield batch.splice(0);
      }
    }
    table.end(emit);
    if (table.columns) shape.columns = table.columns;
    yield batch.splice(0);
  } catch (error) {
    if (error instanceof FileProblemError) throw error;
    throw fileProblem('corrupt', file, `the workbook cannot be read: ${(error as Error).message}`);
  }
}

export type FileRowBatch = Parameters<EmitRow>[0][];
