import { type CsvRecord, CsvTokenizer } from './csv-tokenizer.js';
import type { FileReadOptions } from './options.js';
import { fileProblem } from './problems.js';
import { TableRows } from './table.js';
import { type EmitRow, overLimit, type TextRowParser } from './text-rows.js';

function fieldsBytes(fields: readonly string[]): number {
  let bytes = fields.length - 1;
  for (const f of fields) bytes += Buffer.byteLength(f);
  return bytes;
}

export class CsvRows implements TextRowParser {
  private readonly tokenizer: CsvTokenizer;
  private readonly table: TableRows;
  private readonly maxRowBytes: number;
  private rowNumber = 0;
  private emit: EmitRow = () => {};

  constructor(
    private readonly file: string,
    options: FileReadOptions,
  ) {
    this.maxRowBytes = options.max_row_bytes;
    this.tokenizer = new CsvTokenizer(options.delimiter.charCodeAt(0), options.max_row_bytes);
    this.table = new TableRows(file, options.header_row, false);
  }

  get rows(): number {
    return this.table.rows;
  }

  get columns(): readonly string[] | undefined {
    return this.table.columns;
  }

  push(text: string, emit: EmitRow): void {
    this.emit = emit;
    this.tokenizer.push(text, this.onRecord);
  }

  end(emit: EmitRow): void {
    this.emit = emit;
    const { unclosedQuoteLine } = this.tokenizer.end(this.onRecord);
    if (unclosedQuoteLine !== undefined)
      throw fileProblem(
        'unclosed_quote',
        this.file,
        `the file ends inside the quoted field opened on line ${unclosedQuoteLine}`,
        {
          line: unclosedQuoteLine,
        },
      );
    this.table.end(emit);
  }

  private readonly onRecord = (record: CsvRecord): void => {
    this.rowNumber++;
    const oversize = record.oversize
      ? record.length
      : overLimit(record.length, this.maxRowBytes, () => fieldsBytes(record.fields));
    this.table.add(
      oversize === undefined
        ? { rowNumber: this.rowNumber, line: record.line, cells: record.fields }
        : { rowNumber: this.rowNumber, line: record.line, cells: [], oversizeBytes: oversize },
      this.emit,
    );
  };
}
