/**
 * The bytes of a delivery file (dept-files.ts) as a bureau's export tool writes them: CSV in GBK with CRLF line ends
 * (and a title row above the header where the plan says so), an XLSX workbook (one sheet, header in row 1, blank
 * cells for missing values), NDJSON in UTF-8. Broken files are broken here: an empty file, NDJSON encoded in GBK, an
 * XLSX cut at 60 % of its bytes.
 */
import { TextDecoder } from 'node:util';
import { dateOfDay, dayOf } from './time.js';
import type { DeptFile } from './types.js';
import { xlsxWorkbook } from './xlsx-write.js';

let gbkTable: Map<number, Buffer> | undefined;

/** Character → its two GBK bytes, learnt once from the GB18030 decoder (Node has no GBK encoder). */
function gbkBytes(): Map<number, Buffer> {
  if (gbkTable) return gbkTable;
  const table = new Map<number, Buffer>();
  const decoder = new TextDecoder('gb18030', { fatal: true });
  for (let b1 = 0x81; b1 <= 0xfe; b1++)
    for (let b2 = 0x40; b2 <= 0xfe; b2++) {
      if (b2 === 0x7f) continue;
      const bytes = Buffer.from([b1, b2]);
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        continue;
      }
      if (text.length === 1 && !table.has(text.charCodeAt(0))) table.set(text.charCodeAt(0), bytes);
    }
  gbkTable = table;
  return table;
}

/** `text` in GBK; a character GBK lacks is a bug of the demo's templates, so it throws. */
export function encodeGbk(text: string): Buffer {
  const table = gbkBytes();
  const parts: Buffer[] = [];
  let ascii = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      ascii += ch;
      continue;
    }
    const bytes = table.get(cp);
    if (!bytes) throw new RangeError(`U+${cp.toString(16)} (${ch}) has no GBK bytes`);
    if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
    ascii = '';
    parts.push(bytes);
  }
  if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
  return Buffer.concat(parts);
}

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
