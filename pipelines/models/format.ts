import type { JsValue, QueryResult } from './query.js';

export type RowFormat = 'table' | 'csv' | 'json';

function cellText(v: JsValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Terminal columns a string takes: East Asian wide and fullwidth characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function pad(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
}

/** Rows a table buffers before it stops keeping them (it still counts them): a terminal table needs every width. */
export const defaultTableRowLimit = 10_000;

function formatTable(columns: string[], rows: JsValue[][], total: number): string {
  const cells = rows.map((row) => row.map((v) => (v === null ? 'NULL' : cellText(v).replace(/\r?\n/g, '↵'))));
  // Loops rather than Math.max(...all rows): a spread over many rows overflows the argument limit (RangeError).
  const widths = columns.map((name) => displayWidth(name));
  const numeric = columns.map(() => rows.length > 0);
  for (let r = 0; r < cells.length; r++) {
    for (let i = 0; i < columns.length; i++) {
      widths[i] = Math.max(widths[i]!, displayWidth(cells[r]![i]!));
      const v = rows[r]![i];
      if (v !== null && typeof v !== 'number') numeric[i] = false;
    }
  }
  const line = (values: string[], align: boolean[]) =>
    values
      .map((v, i) => pad(v, widths[i]!, align[i]!))
      .join(' | ')
      .trimEnd();
  const out = [
    line(
      columns,
      columns.map(() => false),
    ),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
  ];
  for (const row of cells) out.push(line(row, numeric));
  const counted = `${total} ${total === 1 ? 'row' : 'rows'}`;
  out.push(
    total > rows.length
      ? `(${counted}; the first ${rows.length} shown, ${total - rows.length} more: use --format csv or json for all)`
      : `(${counted})`,
  );
  return `${out.join('\n')}\n`;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvLine(values: string[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : ',') + csvField(values[i]!);
  return `${line}\r\n`;
}

/**
 * Renders a streamed result piece by piece: `begin` with the column names, `rows` per chunk, `end` once; each
 * returns the text to write next. csv and json keep nothing between chunks; table keeps up to `tableRowLimit` rows
 * (widths need them all) and counts the rest.
 */
export interface RowWriter {
  begin(columns: string[]): string;
  rows(rows: JsValue[][]): string;
  end(): string;
}

function csvWriter(): RowWriter {
  return {
    begin: (columns) => csvLine(columns),
    rows: (rows) => {
      let text = '';
      for (const row of rows) text += csvLine(row.map(cellText));
      return text;
    },
    end: () => '',
  };
}

/** The same text as JSON.stringify(allRowObjects, null, 2), written one row object at a time. */
function jsonWriter(): RowWriter {
  let columns: string[] = [];
  let first = true;
  return {
    begin: (names) => {
      columns = names;
      return '';
    },
    rows: (rows) => {
      let text = '';
      for (const row of rows) {
        const object: Record<string, JsValue> = {};
        for (let i = 0; i < columns.length; i++) object[columns[i]!] = row[i] ?? null;
        // Nested lines indented one level more, as inside the array (JSON strings hold no raw newlines).
        text += `${first ? '[\n  ' : ',\n  '}${JSON.stringify(object, null, 2).replaceAll('\n', '\n  ')}`;
        first = false;
      }
      return text;
    },
    end: () => (first ? '[]\n' : '\n]\n'),
  };
}

function tableWriter(limit: number): RowWriter {
  let columns: string[] = [];
  const kept: JsValue[][] = [];
  let total = 0;
  return {
    begin: (names) => {
      columns = names;
      return '';
    },
    rows: (rows) => {
      for (const row of rows) if (kept.length < limit) kept.push(row);
      total += rows.length;
      return '';
    },
    end: () => formatTable(columns, kept, total),
  };
}

export function createRowWriter(format: RowFormat, options: { tableRowLimit?: number } = {}): RowWriter {
  switch (format) {
    case 'table':
      return tableWriter(options.tableRowLimit ?? defaultTableRowLimit);
    case 'csv':
      return csvWriter();
    case 'json':
      return jsonWriter();
  }
}

/**
 * Renders a whole query result: `table` (aligned for a terminal, NULL spelled out, row count below), `csv` (RFC 4180,
 * header row, CRLF, NULL as an empty field, lists as JSON) or `json` (an array of row objects).
 */
export function formatRows(result: QueryResult, format: RowFormat): string {
  const writer = createRowWriter(format, { tableRowLimit: Number.POSITIVE_INFINITY });
  return writer.begin(result.columns) + writer.rows(result.rows) + writer.end();
}
