import { afterEach, describe, expect, it } from 'vitest';
import { type CsvRecord, CsvTokenizer } from './csv-tokenizer.js';
import { FileFixtures, gb18030, readOptions, rowsOf } from './fixtures.js';
import { inspectFile } from './inspect.js';

let fixtures: FileFixtures;
afterEach(() => fixtures?.cleanup());

describe('csv files', () => {
  it('reads a GBK export with a title row, Chinese headers, CRLF, quoted commas/quotes/newlines, trimmed cells and empty cells as null', async () => {
    fixtures = new FileFixtures();
    const text =
      '某某局2026年11月数据\r\n' +
      ' 资源代码 ,名称,数量,备注\r\n' +
      'R001, 城管案件 ,12,"含逗号,和""引号"""\r\n' +
      'R002,"跨行\r\n的名称",,\r\n' +
      '\r\n' +
      'R003,末行,-5,+8613800000000';
    const path = await fixtures.write('dept.csv', gb18030(text));
    const options = { format: 'csv', encoding: 'gbk', header_row: 2 };
    const inspection = await inspectFile(path, readOptions(options));
    expect(inspection).toMatchObject({ rows: 3, columns: ['资源代码', '名称', '数量', '备注'] });
    expect(inspection.problem).toBeUndefined();
    expect(await rowsOf(path, options)).toEqual([
      { line: 3, values: { 资源代码: 'R001', 名称: '城管案件', 数量: '12', 备注: '含逗号,和"引号"' } },
      { line: 4, values: { 资源代码: 'R002', 名称: '跨行\r\n的名称', 数量: null, 备注: null } },
      { line: 7, values: { 资源代码: 'R003', 名称: '末行', 数量: '-5', 备注: '+8613800000000' } },
    ]);
  });

  it('keeps GB18030-only characters (four-byte sequences: 𠀀 U+20000, 㐀 U+3400) intact', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('gb.csv', gb18030('姓名,地址\n𠀀㐀,䶵路1号\n'));
    const rows = await rowsOf(path, { format: 'csv', encoding: 'gb18030' });
    expect(rows).toEqual([{ line: 2, values: { 姓名: '𠀀㐀', 地址: '䶵路1号' } }]);
  });

  it('header_row auto skips a title row and a blank line: the first of the widest rows is the header', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('auto.csv', '杭州市城管局 2026年11月,,\n\n编号,类型,区县\n1,占道,西湖区\n');
    const rows = await rowsOf(path, { format: 'csv', header_row: 'auto' });
    expect(rows).toEqual([{ line: 4, values: { 编号: '1', 类型: '占道', 区县: '西湖区' } }]);
  });

  it('a ragged row (more or fewer cells) is a row problem naming the counts; padding delimiters are not; the rest flows on', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('ragged.csv', 'a,b,c\n1,2\n1,2,3,4\n1,2,3,,\n5,6,7\n');
    const rows = await rowsOf(path, { format: 'csv' });
    expect(rows).toEqual([
      { line: 2, problem: { kind: 'ragged_row', message: '2 cells where the header has 3' } },
      { line: 3, problem: { kind: 'ragged_row', message: expect.stringContaining('4 cells where the header has 3') } },
      { line: 4, values: { a: '1', b: '2', c: '3' } },
      { line: 5, values: { a: '5', b: '6', c: '7' } },
    ]);
  });

  it('a formula-like cell (=cmd|…, @SUM(…), +cmd|…) is a row problem naming its column; signed numbers and "-" are data', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write(
      'formula.csv',
      [
        '编号,值',
        `1,"=cmd|' /C calc'!A0"`,
        '2,@SUM(1+1)*cmd|x',
        `3,"+cmd|' /C calc'!A0"`,
        '4,"  =HYPERLINK(""http://x"")"',
        '5,-5',
        '6,+8613800000000',
        '7,-',
        '8,@张三',
      ].join('\n'),
    );
    const rows = await rowsOf(path, { format: 'csv' });
    expect(
      rows.map((r) => (r.problem ? `${r.line} ${r.problem.kind} ${r.problem.column}` : `${r.line} ${r.values.值}`)),
    ).toEqual([
      '2 formula_cell 值',
      '3 formula_cell 值',
      '4 formula_cell 值',
      '5 formula_cell 值',
      '6 -5',
      '7 +8613800000000',
      '8 -',
      '9 @张三',
    ]);
  });

  it('a row over max_row_bytes is a too_large row problem, not held, and the next row is read', async () => {
    fixtures = new FileFixtures();
    const huge = `"${'长'.repeat(2000)}\n${'x'.repeat(2000)}"`; // 6,000 UTF-8 bytes in 2,000 characters
    const path = await fixtures.write('big.csv', `a,b\n1,${huge}\n2,ok\n`);
    const rows = await rowsOf(path, { format: 'csv', max_row_bytes: 4096 });
    expect(rows).toEqual([
      { line: 2, problem: { kind: 'too_large', message: expect.stringContaining('over max_row_bytes') } },
      { line: 4, values: { a: '2', b: 'ok' } },
    ]);
  });

  it('a tab delimiter', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('tab.tsv', '名称\t数量\n甲\t1\n');
    expect(await rowsOf(path, { format: 'csv', delimiter: '\t' })).toEqual([
      { line: 2, values: { 名称: '甲', 数量: '1' } },
    ]);
  });
});

describe('the csv tokenizer', () => {
  it('gives the same records and start lines whatever the chunking (CR/LF and quotes split across chunks)', () => {
    const text = 'a,"b\r\nc",d\r\n"e""f",g\rh,"i\n\nj"\r\n,\n"k"l,m';
    const tokenize = (chunks: string[]) => {
      const out: CsvRecord[] = [];
      const t = new CsvTokenizer(0x2c, 1 << 20);
      for (const c of chunks) t.push(c, (r) => out.push({ ...r, fields: [...r.fields] }));
      t.end((r) => out.push(r));
      return out.map((r) => [r.line, ...r.fields]);
    };
    const whole = tokenize([text]);
    expect(whole).toEqual([
      [1, 'a', 'b\r\nc', 'd'],
      [3, 'e"f', 'g'],
      [4, 'h', 'i\n\nj'],
      [7, '', ''],
      [8, 'kl', 'm'],
    ]);
    for (let cut = 1; cut < text.length; cut++) expect(tokenize([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(tokenize([...text])).toEqual(whole);
  });
});
