/**
 * The bytes of a delivery file (dept-files.ts) as a bureau's export tool writes them: CSV in GBK with CRLF line ends
 * (and a title row above the header where the plan says so), an XLSX workbook (one sheet, header in row 1, blank
 * cells for missing values), NDJSON in UTF-8. Broken files are broken here: an empty file, NDJSON encoded in GBK, an
 * XLSX cut at 60 % of its bytes.
 */
import { encodeGbk } from '../gb18030.js';
import { dateOfDay, dayOf } from './time.js';
import type { DeptFile } from './types.js';
import { xlsxWorkbook } from './xlsx-write.js';

const csvCell = (value: string | number | undefined): string => {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** The CSV text (before encoding): optional title row, header, rows, CRLF. */
export function csvText(file: DeptFile): string {
  const lines: string[] = [];
  if (file.titleRow) lines.push(csvCell(`${file.title}（${dateOfDay(dayOf(file.deliveredMs))}交付）`));
  lines.push(file.columns.map(csvCell).join(','));
  for (const row of file.rows) lines.push(file.columns.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function ndjsonText(file: DeptFile): string {
  return file.rows.map((row) => `${JSON.stringify(row)}\n`).join('');
}

function workbook(file: DeptFile): Buffer {
  const rows = file.rows.map((row) => file.columns.map((c) => row[c] ?? null));
  return xlsxWorkbook('数据', [file.columns, ...rows]);
}

/** The file's bytes, flaws included. */
export function renderDeptFile(file: DeptFile): Buffer {
  switch (file.flaw) {
    case 'empty':
      return Buffer.alloc(0);
    case 'encoding_mismatch':
      return encodeGbk(ndjsonText(file));
    case 'truncated': {
      const whole = workbook(file);
      return whole.subarray(0, Math.floor(whole.length * 0.6));
    }
    default:
      break;
  }
  switch (file.format) {
    case 'csv':
      return encodeGbk(csvText(file));
    case 'xlsx':
      return workbook(file);
    case 'ndjson':
      return Buffer.from(ndjsonText(file), 'utf8');
  }
}
