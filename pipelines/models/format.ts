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

function formatTable(result: QueryResult): string {
  const cells = result.rows.map((row) => row.map((v) => (v === null ? 'NULL' : cellText(v).replace(/\r?\n/g, '↵'))));
  const widths = result.columns.map((name, i) =>
    Math.max(displayWidth(name), ...cells.map((row) => displayWidth(row[i]!))),
  );
  const numeric = result.columns.map(
    (_, i) => result.rows.length > 0 && result.rows.every((r) => r[i] === null || typeof r[i] === 'number'),
  );
  const line = (values: string[], align: boolean[]) =>
    values
      .map((v, i) => pad(v, widths[i]!, align[i]!))
      .join(' | ')
      .trimEnd();
  const out = [
    line(
      result.columns,
      result.columns.map(() => false),
    ),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...cells.map((row) => line(row, numeric)),
    `(${result.rows.length} ${result.rows.length === 1 ? 'row' : 'rows'})`,
  ];
  return `${out.join('\n')}\n`;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function formatCsv(result: QueryResult): string {
  const lines = [result.columns, ...result.rows.map((row) => row.map(cellText))].map((row) =>
    row.map(csvField).join(','),
  );
  return `${lines.join('\r\n')}\r\n`;
}

function formatJson(result: QueryResult): string {
  const objects = result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i] ?? null])));
  return `${JSON.stringify(objects, null, 2)}\n`;
}

/**
 * Renders a query result: `table` (aligned for a terminal, NULL spelled out, row count below), `csv` (RFC 4180,
 * header row, CRLF, NULL as an empty field, lists as JSON) or `json` (an array of row objects).
 */
export function formatRows(result: QueryResult, format: RowFormat): string {
  switch (format) {
    case 'table':
      return formatTable(result);
    case 'csv':
      return formatCsv(result);
    case 'json':
      return formatJson(result);
  }
}
