/**
 * From rows of cells to named records, for csv and xlsx alike: finds the header (a fixed row or `auto`), checks
 * its names, skips blank rows, and turns each data row into values or a row problem.
 */
import { columnLetters, looksLikeFormula } from './cells.js';
import { AUTO_HEADER_SCAN_ROWS } from './options.js';
import { type FileValue, fileProblem } from './problems.js';
import type { EmitRow } from './text-rows.js';

/** A formula cell of a workbook: never trusted, whatever its cached result. */
export interface FormulaCell {
  formula: string;
}
export type Cell = string | number | boolean | null | FormulaCell;

export interface TableRecord {
  /** Row number as a spreadsheet shows it (what header_row counts). */
  rowNumber: number;
  /** Where the row starts, for problems: the physical line (csv) or the sheet row (xlsx). */
  line: number;
  cells: readonly Cell[];
  /** Set when the row was over max_row_bytes: its size so far (its cells were not kept). */
  oversizeBytes?: number;
}

function isBlankCell(cell: Cell): boolean {
  return cell === null || (typeof cell === 'string' && cell.trim() === '');
}

function isBlankRow(cells: readonly Cell[]): boolean {
  for (const cell of cells) if (!isBlankCell(cell)) return false;
  return true;
}

function nonBlankCount(cells: readonly Cell[]): number {
  let n = 0;
  for (const cell of cells) if (!isBlankCell(cell)) n++;
  return n;
}

function lastNonBlank(cells: readonly Cell[]): number {
  for (let i = cells.length - 1; i >= 0; i--) if (!isBlankCell(cells[i]!)) return i;
  return -1;
}

function column(index: number, name?: string): string {
  return name ? `${columnLetters(index + 1)} (${name})` : columnLetters(index + 1);
}

export class TableRows {
  private header: string[] | undefined;
  /** `auto`: the first non-blank rows, held until the header is chosen. */
  private candidates: TableRecord[] | undefined;
  private dataRows = 0;

  /**
   * @param sparse a row may stop before the header's last column (xlsx stores no empty trailing cell); in csv a
   *   short row is ragged.
   */
  constructor(
    private readonly file: string,
    private readonly headerRow: number | 'auto',
    private readonly sparse: boolean,
  ) {
    if (headerRow === 'auto') this.candidates = [];
  }

  get rows(): number {
    return this.dataRows;
  }

  get columns(): readonly string[] | undefined {
    return this.header;
  }

  add(record: TableRecord, emit: EmitRow): void {
    if (this.header) {
      this.data(record, emit);
      return;
    }
    if (this.candidates) {
      if (record.oversizeBytes === undefined && isBlankRow(record.cells)) return;
      this.candidates.push(record);
      if (this.candidates.length === AUTO_HEADER_SCAN_ROWS) this.chooseHeader(emit);
      return;
    }
    const at = this.headerRow as number;
    if (record.rowNumber < at) return;
    if (record.rowNumber > at || (record.oversizeBytes === undefined && isBlankRow(record.cells)))
      throw fileProblem('no_header', this.file, `header_row ${at} is blank`, { line: record.line });
    this.header = this.headerNames(record);
  }

  /** Throws no_header / header_only when the file never got that far. */
  end(emit: EmitRow): void {
    if (this.candidates && !this.header) this.chooseHeader(emit);
    if (!this.header)
      throw fileProblem(
        'no_header',
        this.file,
        this.headerRow === 'auto' ? 'no non-blank row' : `the file ends before header_row ${this.headerRow}`,
      );
    if (this.dataRows === 0)
      throw fileProblem('header_only', this.file, `a header (${this.header.join(', ')}) and no data row`);
  }

  private chooseHeader(emit: EmitRow): void {
    const rows = this.candidates!;
    this.candidates = undefined;
    if (rows.length === 0) return;
    let widest = 0;
    for (const r of rows) widest = Math.max(widest, nonBlankCount(r.cells));
    const at = rows.findIndex((r) => nonBlankCount(r.cells) === widest);
    this.header = this.headerNames(rows[at]!);
    for (const r of rows.slice(at + 1)) this.data(r, emit);
  }

  private headerNames(record: TableRecord): string[] {
    const line = record.line;
    if (record.oversizeBytes !== undefined)
      throw fileProblem(
        'bad_header',
        this.file,
        `the header row is over max_row_bytes (${record.oversizeBytes} bytes)`,
        { line },
      );
    const names = record.cells.map((cell, i) => {
      if (cell !== null && typeof cell === 'object')
        throw fileProblem('bad_header', this.file, `column ${column(i)} of the header is a formula`, {
          line,
          column: column(i),
        });
      return cell === null ? '' : String(cell).trim();
    });
    while (names.length > 0 && names[names.length - 1] === '') names.pop();
    const seen = new Map<string, number>();
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name === '')
        throw fileProblem('bad_header', this.file, `column ${column(i)} of the header has no name`, {
          line,
          column: column(i),
        });
      if (name === '__proto__' || looksLikeFormula(name))
        throw fileProblem('bad_header', this.file, `column ${column(i, name)}: not a usable column name`, {
          line,
          column: name,
        });
      const before = seen.get(name);
      if (before !== undefined)
        throw fileProblem(
          'bad_header',
          this.file,
          `column ${column(i, name)} repeats the name of column ${column(before)}`,
          {
            line,
            column: name,
          },
        );
      seen.set(name, i);
    }
    return names;
  }

  private data(record: TableRecord, emit: EmitRow): void {
    const { line, cells } = record;
    if (record.oversizeBytes !== undefined) {
      this.dataRows++;
      emit({
        line,
        problem: { kind: 'too_large', message: `row of ${record.oversizeBytes} bytes or more is over max_row_bytes` },
      });
      return;
    }
    if (isBlankRow(cells)) return;
    this.dataRows++;
    const header = this.header!;
    // Empty cells past the header's last column carry nothing (exports often pad rows with delimiters).
    const width = cells.length > header.length ? Math.max(header.length, lastNonBlank(cells) + 1) : cells.length;
    if (width > header.length || (!this.sparse && width < header.length)) {
      emit({
        line,
        problem: {
          kind: 'ragged_row',
          message:
            width > header.length
              ? `${width} cells where the header has ${header.length}: column ${column(width - 1)} has a value and no header`
              : `${width} cells where the header has ${header.length}`,
        },
      });
      return;
    }
    const values: Record<string, FileValue> = {};
    for (let i = 0; i < header.length; i++) {
      const cell = i < cells.length ? cells[i]! : null;
      let value: FileValue;
      if (typeof cell === 'string') {
        const text = cell.trim();
        if (text !== '' && looksLikeFormula(text)) {
          emit({
            line,
            problem: {
              kind: 'formula_cell',
              message: `column ${header[i]} holds formula-like text`,
              column: header[i]!,
            },
          });
          return;
        }
        value = text === '' ? null : text;
      } else if (cell !== null && typeof cell === 'object') {
        emit({
          line,
          problem: {
            kind: 'formula_cell',
            message: `column ${header[i]} is a formula (=${cell.formula})`,
            column: header[i]!,
          },
        });
        return;
      } else value = cell;
      values[header[i]!] = value;
    }
    emit({ line, values });
  }
}
