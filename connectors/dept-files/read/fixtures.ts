/**
 * Test files for the readers, generated in code into a temp dir (no binary fixtures in the repository): GB18030
 * text (Node has a GB18030 decoder but no encoder, so one is built from the decoder), workbooks, and the
 * 1,000,000-row GBK csv of the memory measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDecoder } from 'node:util';
import ExcelJS from 'exceljs';
import { type FileReadOptions, fileReadOptions } from './options.js';
import type { FileRow } from './problems.js';
import { readRows } from './read.js';

export class FileFixtures {
  readonly dir = mkdtempSync(join(tmpdir(), 'cityhub-dept-read-'));

  async write(name: string, content: string | Buffer): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, content);
    return path;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options as the connector config gives them (defaults applied). */
export function readOptions(
  input: Partial<Record<keyof FileReadOptions, unknown>> & { format: string },
): FileReadOptions {
  return fileReadOptions.parse(input);
}

/** Every row `readRows` gives, as an array (small test files only). */
export async function rowsOf(
  path: string,
  options: FileReadOptions | Parameters<typeof readOptions>[0],
): Promise<FileRow[]> {
  const rows: FileRow[] = [];
  for await (const row of readRows(path, fileReadOptions.parse(options))) rows.push(row);
  return rows;
}

let bmpTable: Map<number, Buffer> | undefined;

/** Code point → GB18030 bytes for the BMP: every two-byte and four-byte sequence, decoded once. */
function gbTable(): Map<number, Buffer> {
  if (bmpTable) return bmpTable;
  const table = new Map<number, Buffer>();
  const decoder = new TextDecoder('gb18030', { fatal: true });
  const learn = (bytes: Buffer) => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return;
    }
    const cp = text.codePointAt(0)!;
    if (text.length === 1 && !table.has(cp)) table.set(cp, bytes);
  };
  for (let b1 = 0x81; b1 <= 0xfe; b1++)
    for (let b2 = 0x40; b2 <= 0xfe; b2++) if (b2 !== 0x7f) learn(Buffer.from([b1, b2]));
  for (let b1 = 0x81; b1 <= 0x84; b1++)
    for (let b2 = 0x30; b2 <= 0x39; b2++)
      for (let b3 = 0x81; b3 <= 0xfe; b3++) for (let b4 = 0x30; b4 <= 0x39; b4++) learn(Buffer.from([b1, b2, b3, b4]));
  bmpTable = table;
  return table;
}

/** `text` in GB18030 (GBK for the characters GBK has). */
export function gb18030(text: string): Buffer {
  const table = gbTable();
  const parts: Buffer[] = [];
  let ascii = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      ascii += ch;
      continue;
    }
    if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
    ascii = '';
    if (cp >= 0x10000) {
      // Supplementary planes map linearly from 0x90308130.
      const i = cp - 0x10000;
      parts.push(
        Buffer.from([
          0x90 + Math.floor(i / 12600),
          0x30 + (Math.floor(i / 1260) % 10),
          0x81 + (Math.floor(i / 10) % 126),
          0x30 + (i % 10),
        ]),
      );
    } else {
      const bytes = table.get(cp);
      if (!bytes) throw new RangeError(`U+${cp.toString(16)} has no GB18030 bytes`);
      parts.push(bytes);
    }
  }
  if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
  return Buffer.concat(parts);
}

export type SheetCell = ExcelJS.CellValue | { value: ExcelJS.CellValue; numFmt: string };

export interface SheetSpec {
  name: string;
  rows: SheetCell[][];
  /** Ranges to merge, e.g. `A1:D1` for a title. */
  merges?: string[];
}

/** Writes an .xlsx workbook with exceljs's ordinary (non-streaming) writer, as Excel exports look to a reader. */
export async function writeWorkbook(path: string, sheets: SheetSpec[]): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  for (const spec of sheets) {
    const sheet = workbook.addWorksheet(spec.name);
    spec.rows.forEach((cells, r) => {
      const row = sheet.getRow(r + 1);
      cells.forEach((cell, c) => {
        if (cell === undefined) return;
        const target = row.getCell(c + 1);
        if (cell !== null && typeof cell === 'object' && 'numFmt' in cell) {
          target.value = cell.value;
          target.numFmt = cell.numFmt;
        } else target.value = cell;
      });
      row.commit();
    });
    for (const range of spec.merges ?? []) sheet.mergeCells(range);
  }
  await workbook.xlsx.writeFile(path);
  return path;
}

const BIG_CSV_HEADER = '序号,监测点,所属区县,数值,单位,采集时间,设备编号,备注\n';
const DISTRICTS = ['上城区', '拱墅区', '西湖区', '滨江区', '萧山区', '余杭区', '临平区', '钱塘区'];

/**
 * A GBK csv of `rows` data rows under a title row and a header (about 100 bytes a row: 1,000,000 rows ≈ 100 MB), written in 1 MiB blocks
 * so that generating it takes no more memory than reading it should.
 */
export async function writeBigGbkCsv(path: string, rows: number): Promise<number> {
  const file = await open(path, 'w');
  const districts = DISTRICTS.map((d) => gb18030(d));
  const fixed = gb18030('"水位,监测站"');
  const unit = gb18030('米');
  const note = gb18030('"正常,设备在线,数据已核验"');
  let bytes = 0;
  try {
    const head = gb18030(`杭州市水务局2026年11月监测数据\n${BIG_CSV_HEADER}`);
    await file.write(head);
    bytes += head.length;
    let block: Buffer[] = [];
    let blockBytes = 0;
    for (let i = 1; i <= rows; i++) {
      const parts = [
        Buffer.from(`${i},`),
        fixed,
        Buffer.from(','),
        districts[i % districts.length]!,
        Buffer.from(`,${(i % 1000) / 100},`),
        unit,
        Buffer.from(
          `,2026-11-${String(1 + (i % 30)).padStart(2, '0')} ${String(i % 24).padStart(2, '0')}:00:00,SW-330106-${String(i % 5000).padStart(6, '0')},`,
        ),
        note,
        Buffer.from(i % 2 === 0 ? '\r\n' : '\n'),
      ];
      for (const p of parts) {
        block.push(p);
        blockBytes += p.length;
      }
      if (blockBytes >= 1 << 20) {
        const buf = Buffer.concat(block);
        await file.write(buf);
        bytes += buf.length;
        block = [];
        blockBytes = 0;
      }
    }
    const rest = Buffer.concat(block);
    await file.write(rest);
    return bytes + rest.length;
  } finally {
    await file.close();
  }
}
