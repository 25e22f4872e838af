import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { FileFixtures, gb18030, readOptions } from './fixtures.js';
import { inspectFile } from './inspect.js';
import { FileProblemError, type FileRow } from './problems.js';
import { readRows } from './read.js';

let fixtures: FileFixtures;
afterEach(() => fixtures?.cleanup());

const csv = readOptions({ format: 'csv' });
const gbkCsv = readOptions({ format: 'csv', encoding: 'gbk' });
const CHINESE_CSV = '资源代码,部门,数量\nR001,城管局,3\nR002,水务局,4\n';

describe('inspectFile on csv', () => {
  it('gives size and sha256 of the bytes, and the row count, for a sound file', async () => {
    fixtures = new FileFixtures();
    const bytes = gb18030(CHINESE_CSV);
    const path = await fixtures.write('ok.csv', bytes);
    expect(await inspectFile(path, gbkCsv, 'drop/ok.csv')).toEqual({
      file: 'drop/ok.csv',
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      rows: 2,
      columns: ['资源代码', '部门', '数量'],
    });
  });

  it('a GBK file declared utf8 is an encoding_mismatch naming the line and byte and saying it reads as GB18030', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('gbk.csv', Buffer.concat([Buffer.from('code,n\nA,1\n'), gb18030('B,城管局\n')]));
    const { problem, sha256 } = await inspectFile(path, csv);
    expect(problem).toMatchObject({ kind: 'encoding_mismatch', file: path, line: 3, byte: 13 });
    expect(problem?.message).toContain('GB18030');
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a UTF-8 file declared gbk is an encoding_mismatch (it would decode into mojibake), even past the first chunks', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('utf8.csv', `a,b\n${'x,1\n'.repeat(40_000)}城管,2\n`);
    const { problem } = await inspectFile(path, gbkCsv);
    expect(problem).toMatchObject({ kind: 'encoding_mismatch' });
    expect(problem?.message).toContain('valid UTF-8');
  });

  it('a pure-ASCII file is fine under any declared encoding', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('ascii.csv', 'a,b\n1,2\n');
    expect((await inspectFile(path, gbkCsv)).problem).toBeUndefined();
  });

  it('a UTF-8 BOM is accepted and stripped for utf8 (the first header has no BOM) and is a mismatch for gbk', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write(
      'bom.csv',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(CHINESE_CSV)]),
    );
    expect(await inspectFile(path, csv)).toMatchObject({ rows: 2, columns: ['资源代码', '部门', '数量'] });
    const rows: FileRow[] = [];
    for await (const row of readRows(path, csv)) rows.push(row);
    expect(Object.keys(rows[0]!.values!)).toEqual(['资源代码', '部门', '数量']);
    expect((await inspectFile(path, gbkCsv)).problem).toMatchObject({ kind: 'encoding_mismatch', byte: 0 });
  });

  it('an unclosed quote is a file problem naming the line the quote opened on', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('quote.csv', 'a,b\n1,ok\n2,"never closed\n3,x\n4,y\n');
    expect((await inspectFile(path, csv)).problem).toMatchObject({ kind: 'unclosed_quote', line: 3 });
  });

  it('binary garbage named .csv is binary, not rows or an encoding problem', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('garbage.csv', randomBytes(100_000));
    expect((await inspectFile(path, csv)).problem).toMatchObject({ kind: 'binary' });
    expect((await inspectFile(path, gbkCsv)).problem).toMatchObject({ kind: 'binary' });
  });

  it('an empty file and a whitespace-only file are empty; a header-only file is header_only', async () => {
    fixtures = new FileFixtures();
    const empty = await fixtures.write('empty.csv', '');
    expect(await inspectFile(empty, csv)).toMatchObject({ bytes: 0, problem: { kind: 'empty' } });
    const blank = await fixtures.write('blank.csv', '\n \r\n');
    expect((await inspectFile(blank, csv)).problem).toMatchObject({ kind: 'empty' });
    const headerOnly = await fixtures.write('header.csv', gb18030('资源代码,部门\r\n\r\n'));
    expect((await inspectFile(headerOnly, gbkCsv)).problem).toMatchObject({ kind: 'header_only' });
  });

  it('a duplicate or empty header name is bad_header naming the column; too few rows for header_row is no_header', async () => {
    fixtures = new FileFixtures();
    const dup = await fixtures.write('dup.csv', '编号,名称,编号\n1,2,3\n');
    expect((await inspectFile(dup, csv)).problem).toMatchObject({ kind: 'bad_header', column: '编号', line: 1 });
    const unnamed = await fixtures.write('unnamed.csv', '编号,,名称\n1,2,3\n');
    expect((await inspectFile(unnamed, csv)).problem).toMatchObject({ kind: 'bad_header', column: 'B' });
    const short = await fixtures.write('short.csv', '标题\n');
    expect((await inspectFile(short, readOptions({ format: 'csv', header_row: 3 }))).problem).toMatchObject({
      kind: 'no_header',
    });
  });

  it('readRows of a file with a file-level problem throws FileProblemError (it should have been inspected)', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('gbk.csv', gb18030(CHINESE_CSV));
    await expect(async () => {
      for await (const _ of readRows(path, csv));
    }).rejects.toThrow(FileProblemError);
  });
});
