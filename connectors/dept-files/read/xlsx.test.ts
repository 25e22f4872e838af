import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { FileFixtures, readOptions, rowsOf, writeWorkbook } from './fixtures.js';
import { inspectFile } from './inspect.js';

let fixtures: FileFixtures;
afterEach(() => fixtures?.cleanup());

const wall = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(Date.UTC(y, mo - 1, d, h, mi, s));

async function deptWorkbook(): Promise<string> {
  return writeWorkbook(fixtures.path('dept.xlsx'), [
    {
      name: '说明',
      rows: [['本表为示例'], ['第二行']],
    },
    {
      name: '数据',
      merges: ['A1:E1'],
      rows: [
        ['某某局2026年11月数据'],
        ['资源代码', '名称', '数量', '上报时间', '是否办结'],
        [
          'R001',
          { richText: [{ text: '城管', font: { bold: true } }, { text: '案件' }] },
          12,
          { value: wall(2026, 11, 3, 8, 5, 9), numFmt: 'yyyy-mm-dd hh:mm:ss' },
          true,
        ],
        [],
        ['R002', ' 水务 ', 3.5, '2026/11/04 09:30', false],
        ['R003', '公式', { formula: 'SUM(1,2)', result: 3 }, null, null],
        ['R004', '序列日期', 7, { value: 46330.75, numFmt: 'yyyy"年"m"月"d"日" hh:mm' }, null],
        ['R005', "=cmd|' /C calc'!A0", 1, null, null],
      ],
    },
  ]);
}

describe('xlsx files', () => {
  it('reads the first sheet by default', async () => {
    fixtures = new FileFixtures();
    const path = await deptWorkbook();
    expect(await rowsOf(path, { format: 'xlsx' })).toEqual([{ line: 2, values: { 本表为示例: '第二行' } }]);
  });

  it('a named sheet under a merged title row: dates both ways as wall time, numbers as numbers, rich text flat, empty rows skipped, formulas refused', async () => {
    fixtures = new FileFixtures();
    const path = await deptWorkbook();
    const options = { format: 'xlsx', sheet: '数据', header_row: 2 };
    expect(await inspectFile(path, readOptions(options))).toMatchObject({
      rows: 5,
      columns: ['资源代码', '名称', '数量', '上报时间', '是否办结'],
    });
    expect(await rowsOf(path, options)).toEqual([
      {
        line: 3,
        values: { 资源代码: 'R001', 名称: '城管案件', 数量: 12, 上报时间: '2026-11-03 08:05:09', 是否办结: true },
      },
      { line: 5, values: { 资源代码: 'R002', 名称: '水务', 数量: 3.5, 上报时间: '2026/11/04 09:30', 是否办结: false } },
      { line: 6, problem: { kind: 'formula_cell', message: 'column 数量 is a formula (=SUM(1,2))', column: '数量' } },
      {
        line: 7,
        values: { 资源代码: 'R004', 名称: '序列日期', 数量: 7, 上报时间: '2026-11-04 18:00:00', 是否办结: null },
      },
      { line: 8, problem: { kind: 'formula_cell', message: expect.any(String), column: '名称' } },
    ]);
    expect(await rowsOf(path, { format: 'xlsx', sheet: '数据', header_row: 'auto' })).toHaveLength(5);
  });

  it('a missing sheet is a file problem naming the sheets there are', async () => {
    fixtures = new FileFixtures();
    const path = await deptWorkbook();
    expect((await inspectFile(path, readOptions({ format: 'xlsx', sheet: 'Sheet1' }))).problem).toMatchObject({
      kind: 'missing_sheet',
      message: 'no sheet named "Sheet1"; the sheets are "说明", "数据"',
    });
  });

  it('a truncated workbook, a renamed non-zip, an empty file and a header-only sheet are file problems', async () => {
    fixtures = new FileFixtures();
    const whole = await readFile(await deptWorkbook());
    const cut = await fixtures.write('cut.xlsx', whole.subarray(0, Math.floor(whole.length * 0.7)));
    expect((await inspectFile(cut, readOptions({ format: 'xlsx' }))).problem).toMatchObject({ kind: 'truncated' });
    const fake = await fixtures.write('fake.xlsx', 'a,b\n1,2\n');
    expect((await inspectFile(fake, readOptions({ format: 'xlsx' }))).problem).toMatchObject({ kind: 'binary' });
    const empty = await fixtures.write('empty.xlsx', '');
    expect((await inspectFile(empty, readOptions({ format: 'xlsx' }))).problem).toMatchObject({ kind: 'empty' });
    const headerOnly = await writeWorkbook(fixtures.path('header.xlsx'), [
      { name: 'S', rows: [['资源代码', '数量'], [], [null, '']] },
    ]);
    expect((await inspectFile(headerOnly, readOptions({ format: 'xlsx' }))).problem).toMatchObject({
      kind: 'header_only',
    });
  });

  it('a whole zip whose compressed data is damaged is corrupt, not a half-read sheet', async () => {
    fixtures = new FileFixtures();
    const rows = Array.from({ length: 2000 }, (_, i) => [`R${i}`, `第${i}行的说明文字`, i]);
    const whole = await readFile(
      await writeWorkbook(fixtures.path('big.xlsx'), [{ name: 'S', rows: [['a', 'b', 'c'], ...rows] }]),
    );
    const damaged = Buffer.from(whole);
    for (let i = Math.floor(whole.length * 0.3); i < whole.length * 0.3 + 64; i++) damaged[i] = damaged[i]! ^ 0x5a;
    const path = await fixtures.write('damaged.xlsx', damaged);
    expect((await inspectFile(path, readOptions({ format: 'xlsx' }))).problem).toMatchObject({ kind: 'corrupt' });
  });

  it('a value in a column without a header is a ragged row; a short row is not (xlsx stores no empty trailing cell)', async () => {
    fixtures = new FileFixtures();
    const path = await writeWorkbook(fixtures.path('r.xlsx'), [
      { name: 'S', rows: [['a', 'b', 'c'], [1], [1, 2, 3, 4]] },
    ]);
    expect(await rowsOf(path, { format: 'xlsx' })).toEqual([
      { line: 2, values: { a: 1, b: null, c: null } },
      { line: 3, problem: { kind: 'ragged_row', message: expect.stringContaining('4 cells where the header has 3') } },
    ]);
  });
  it('reads an ExcelJS-written workbook (workbook.xml last) whole every time, even when the disk is slow', async () => {
    fixtures = new FileFixtures();
    const rows = Array.from({ length: 30 }, (_, i) => [`文三路巡查${i}`, i]);
    const path = await writeWorkbook(fixtures.path('exceljs.xlsx'), [
      { name: '巡查', rows: [['名称', '数量'], ...rows] },
      { name: '附表', rows: [['x']] },
    ]);
    // exceljs's one-pass reader spools each worksheet to a temp file before it knows the workbook part; a loaded disk
    // (here: that temp file handed over a few hundred event-loop turns late) let it drop workbook.xml, the last
    // entry, and throw "Cannot read properties of undefined (reading 'sheets')" (exceljs #962).
    const tmp = createRequire(createRequire(import.meta.url).resolve('exceljs'))('tmp') as {
      file: (cb: (...args: unknown[]) => void) => void;
    };
    const fileOf = tmp.file;
    tmp.file = (cb) =>
      fileOf((...args) => {
        let turns = 0;
        const later = () => (++turns < 300 ? setImmediate(later) : cb(...args));
        later();
      });
    try {
      for (let i = 0; i < 12; i++) {
        const read = await rowsOf(path, { format: 'xlsx' });
        expect(read, `read ${i}`).toHaveLength(30);
        expect(read[29]).toEqual({ line: 31, values: { 名称: '文三路巡查29', 数量: 29 } });
      }
    } finally {
      tmp.file = fileOf;
    }
  });
});
