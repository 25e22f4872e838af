/**
 * The worksheets of an .xlsx file, read through the zip's central directory with exceljs's own part parsers.
 *
 * Why not `ExcelJS.stream.xlsx.WorkbookReader` as it is: it reads the archive in one streaming pass with
 * unzipper's `Parse`, which emits `end` as soon as it has parsed the end record (on its writable side's `finish`),
 * while entries it already pushed can still sit unread in its paused readable buffer. exceljs's `iterateStream`
 * trusts that `end` and drops them. ExcelJS (and others) write `xl/workbook.xml` last, so whenever the reader is
 * still busy with an earlier entry (spooling a worksheet to a temp file on a loaded disk) the workbook part is lost
 * and `_parseWorksheet` throws "Cannot read properties of undefined (reading 'sheets')" (exceljs issues #962, #3064).
 * Reading the parts by name from the central directory removes the race and the temp files: the workbook, its
 * relationships, shared strings and styles first, then only the wanted worksheet, each part streamed.
 */
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';

/** exceljs's parse options of its stream reader. */
const READER_OPTIONS = {
  worksheets: 'emit',
  sharedStrings: 'cache',
  styles: 'cache',
  hyperlinks: 'ignore',
  entries: 'ignore',
} as const;

interface ZipEntry {
  path: string;
  type: 'File' | 'Directory';
  stream(): Readable;
}

interface ZipDirectory {
  files: ZipEntry[];
}

/** The parts of exceljs's WorkbookReader this module drives (4.4.0; not in its type declarations). */
interface ReaderParts {
  model?: { sheets?: { name: string; rId: string }[] };
  workbookRels?: { Id: string; Target: string }[];
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(iterator: AsyncIterable<unknown>, sheetNo: string): Generator<{ value: SheetRows }>;
}

export type SheetRows = AsyncIterable<{ number: number; values: ExcelJS.CellValue[] | { [key: string]: unknown } }>;

// exceljs's own unzipper and stream iterator: the versions its parsers are written against (neither is ours to pin).
const excelRequire = createRequire(createRequire(import.meta.url).resolve('exceljs'));
const unzipper = excelRequire('unzipper') as { Open: { file(path: string): Promise<ZipDirectory> } };
const iterateStream = excelRequire('./lib/utils/iterate-stream.js') as (stream: Readable) => AsyncIterable<unknown>;

/** What `openWorkbook` found: the sheet names in workbook order, and a way to read one sheet's rows. */
export interface OpenedWorkbook {
  sheetNames: string[];
  /** The rows of the named sheet (undefined when the workbook has no such sheet, or its part is missing). */
  rows(name: string): SheetRows | undefined;
}

/** Reads the workbook parts; throws (a plain Error) on a zip or XML exceljs cannot read. */
export async function openWorkbook(path: string): Promise<OpenedWorkbook> {
  const directory = await unzipper.Open.file(path);
  const parts = new Map(directory.files.filter((f) => f.type === 'File').map((f) => [f.path, f]));
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(
    path,
    READER_OPTIONS as unknown as Partial<ExcelJS.stream.xlsx.WorkbookStreamReaderOptions>,
  ) as unknown as ReaderParts;
  const part = (name: string) => parts.get(name)?.stream();
  const rels = part('xl/_rels/workbook.xml.rels');
  if (rels) await reader._parseRels(rels);
  const workbook = part('xl/workbook.xml');
  if (!workbook) throw new Error('the archive has no xl/workbook.xml: not a workbook');
  await reader._parseWorkbook(workbook);
  const strings = part('xl/sharedStrings.xml');
  if (strings) for await (const _ of reader._parseSharedStrings(strings));
  const styles = part('xl/styles.xml');
  if (styles) await reader._parseStyles(styles);
  const sheets = reader.model?.sheets ?? [];
  return {
    sheetNames: sheets.map((s) => s.name),
    rows(name) {
      const sheet = sheets.find((s) => s.name === name);
      const target = sheet && reader.workbookRels?.find((r) => r.Id === sheet.rId)?.Target;
      if (!target) return undefined;
      // Targets are relative to xl/ ("worksheets/sheet1.xml") or absolute in the package ("/xl/worksheets/…").
      const entryPath = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
      const entry = part(entryPath);
      const sheetNo = /sheet(\d+)\.xml$/.exec(entryPath)?.[1] ?? '1';
      if (!entry) return undefined;
      for (const { value } of reader._parseWorksheet(iterateStream(entry), sheetNo)) return value;
      return undefined;
    },
  };
}
