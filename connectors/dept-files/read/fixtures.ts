/**
 * Test files for the readers, generated in code into a temp dir (no binary fixtures in the repository): GB18030
 * text (Node has a GB18030 decoder but no encoder, so one is built from the decoder), workbooks, and the
 * 1,000,000-row GBK csv of the memory measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { encodeGb18030 as gb18030 } from '../../gb18030.js';
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

/** `text` in GB18030, as a bureau's export tool writes it. */
export { gb18030 };

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
