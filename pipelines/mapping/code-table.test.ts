import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hotlineChannel, hotlineRequestType, hotlineSatisfaction, hotlineStatus } from '../../schemas/hotline-case.js';
import { CityhubError } from '../errors.js';
import {
  builtinCodeTable,
  type CodeTable,
  CodeTableError,
  codeTableFile,
  inlineCodeTable,
  loadCodeTable,
  UNMAPPED,
} from './code-table.js';
import { sqlString } from './sql-literal.js';

let instance: DuckDBInstance;
let duck: DuckDBConnection;
let dir: string;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await instance.connect();
  dir = await mkdtemp(join(tmpdir(), 'cityhub-code-table-'));
});
afterAll(async () => {
  duck?.closeSync();
  instance?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The table's SQL over the inputs (NULL for null), read back as JS values; in input order. */
async function viaDuckDb(table: CodeTable, inputs: (string | null)[]): Promise<unknown[]> {
  const rows = inputs.map((input, index) => `(${index}, ${input === null ? 'NULL' : sqlString(input)})`).join(', ');
  const reader = await duck.runAndReadAll(
    `select ${table.toSql('v')} as mapped from (values ${rows}) as input(i, v) order by i`,
  );
  return reader.getRowObjects().map((row) => row.mapped);
}

/** JS lookups in the SQL path's terms: an unmapped or absent code is NULL. */
function viaJs(table: CodeTable, inputs: (string | null)[]): unknown[] {
  return inputs.map((input) => {
    const mapped = table.lookup(input);
    return mapped === UNMAPPED || mapped === undefined ? null : mapped;
  });
}

const hostile = [
  "it's",
  'back\\slash',
  'nul\0byte',
  'line\nbreak',
  "'); drop table x; --",
  '"quoted"',
  '中文代码',
  '😀',
];
const prototypeKeys = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('CodeTable: the JS record path and the DuckDB bulk path agree', () => {
  const inputs = [
    ...hostile,
    ...prototypeKeys,
    '是',
    '否',
    'Y',
    ' Y ',
    'y',
    '1',
    '0',
    'true',
    '已办结',
    'closed',
    'maybe',
    '',
    null,
  ];

  const tables: [string, () => CodeTable][] = [
    ['builtin yes_no (booleans)', () => builtinCodeTable('yes_no')],
    ['builtin hotline_status', () => builtinCodeTable('hotline_status')],
    [
      'hostile codes, trimmed and case-insensitive',
      () =>
        inlineCodeTable(Object.fromEntries(hostile.map((code, i) => [code, `value '${i}' \\ ${code}`])), {
          trim: true,
          case_insensitive: true,
        }),
    ],
    ['pass_through keeps the source text', () => inlineCodeTable({ Y: 'yes' }, { on_missing: 'pass_through' })],
    ['default for missing codes', () => inlineCodeTable({ Y: 1, N: 0 }, { default: -1 })],
    ['trim strips the ideographic space and NBSP', () => inlineCodeTable({ 是: 'y' }, { trim: true })],
  ];
  for (const [name, build] of tables) {
    it(name, async () => {
      const table = build();
      const expected = viaJs(table, [...inputs, '\u3000是\u00a0', ' is ']);
      expect(expected.some((value) => value !== null)).toBe(true);
      expect(await viaDuckDb(table, [...inputs, '\u3000是\u00a0', ' is '])).toEqual(expected);
    });
  }

  it('10,000 hostile codes (a VALUES join): quotes, backslashes, NUL, newlines', async () => {
    const entries: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) entries[`${hostile[i % hostile.length]}#${i}`] = `v'${i}\\`;
    const table = inlineCodeTable(entries);
    expect(table.size).toBe(10_000);
    const inputs = [...Object.keys(entries).filter((_, i) => i % 97 === 0), 'missing#1', "it's#10000", null];
    const expected = viaJs(table, inputs);
    expect(expected.at(0)).toBe("v'0\\");
    expect(await viaDuckDb(table, inputs)).toEqual(expected);
    // The same through a table created once, as a bulk path running many statements would.
    await duck.run(table.createTableSql('codes "events"'));
    const rows = inputs.map((input, index) => `(${index}, ${input === null ? 'NULL' : sqlString(input)})`).join(', ');
    const reader = await duck.runAndReadAll(
      `select ${table.toSql('v', { table: 'codes "events"' })} as mapped from (values ${rows}) as input(i, v) order by i`,
    );
    expect(reader.getRowObjects().map((row) => row.mapped)).toEqual(expected);
  });
});

describe('CodeTable lookup', () => {
  it('never resolves through Object.prototype', () => {
    const table = inlineCodeTable({ a: 'x' });
    for (const key of prototypeKeys) expect(table.lookup(key)).toBe(UNMAPPED);
    const withProto = inlineCodeTable(JSON.parse('{"__proto__": "p", "constructor": "c"}'));
    expect(withProto.lookup('__proto__')).toBe('p');
    expect(withProto.lookup('constructor')).toBe('c');
    expect(withProto.lookup('toString')).toBe(UNMAPPED);
  });

  it('rejects, passes through or defaults a missing code as configured', () => {
    expect(inlineCodeTable({ a: 'x' }).lookup('b')).toBe(UNMAPPED);
    expect(inlineCodeTable({ a: 'x' }).unmappedReason('b')).toBe('code "b" is not in code table inline');
    expect(inlineCodeTable({ a: 'x' }, { on_missing: 'pass_through' }).lookup('b')).toBe('b');
    expect(inlineCodeTable({ a: 'x' }, { default: 'other' }).lookup('b')).toBe('other');
    expect(inlineCodeTable({ a: 'x' }).lookup(undefined)).toBeUndefined();
    expect(inlineCodeTable({ a: 'x' }).lookup(null)).toBeUndefined();
    expect(inlineCodeTable({ a: 'x' }).lookup({ a: 1 })).toBe(UNMAPPED);
  });

  it('names every value a lookup can give, unless it passes source values through', () => {
    expect(inlineCodeTable({ a: 'x', b: 'y', c: 'x' }).outcomes()).toEqual(new Set(['x', 'y']));
    expect(inlineCodeTable({ a: 'x' }, { default: 'other' }).outcomes()).toEqual(new Set(['x', 'other']));
    expect(inlineCodeTable({ a: 'x' }, { on_missing: 'pass_through' }).outcomes()).toBeUndefined();
    // A default answers every code the table misses: pass_through never comes into play.
    expect(inlineCodeTable({ a: 'x' }, { on_missing: 'pass_through', default: 'd' }).outcomes()).toEqual(
      new Set(['x', 'd']),
    );
    for (const code of ['a', 'b', 'zz']) {
      const table = inlineCodeTable({ a: 'x' }, { default: 'other' });
      expect(table.outcomes()!.has(table.lookup(code) as string)).toBe(true);
    }
  });

  it('looks numbers and booleans up by their text, as SQL sees them', () => {
    const yesNo = builtinCodeTable('yes_no');
    expect(yesNo.lookup(1)).toBe(true);
    expect(yesNo.lookup(0)).toBe(false);
    expect(yesNo.lookup(true)).toBe(true);
    expect(yesNo.lookup('是')).toBe(true);
    expect(yesNo.lookup('否')).toBe(false);
    expect(inlineCodeTable({ '890': '0101' }).lookup(890)).toBe('0101');
  });

  it('trims and folds ASCII case only when asked', () => {
    expect(inlineCodeTable({ Hik: 'x' }).lookup(' hik ')).toBe(UNMAPPED);
    expect(inlineCodeTable({ Hik: 'x' }, { trim: true, case_insensitive: true }).lookup(' hIK\t')).toBe('x');
  });

  it('ships built-in hotline tables that map only onto the hotline schema values', () => {
    const enums = {
      hotline_status: hotlineStatus,
      satisfaction: hotlineSatisfaction,
      hotline_channel: hotlineChannel,
      hotline_request_type: hotlineRequestType,
    };
    for (const [name, schema] of Object.entries(enums)) {
      const table = builtinCodeTable(name);
      for (const value of schema.options) expect(table.lookup(value)).toBe(value);
    }
    expect(builtinCodeTable('hotline_status').lookup('已办结')).toBe('closed');
    expect(builtinCodeTable('hotline_status').lookup('处理中')).toBe('handling');
    expect(builtinCodeTable('satisfaction').lookup('基本满意')).toBe('basically_satisfied');
    expect(builtinCodeTable('hotline_channel').lookup('微信公众号')).toBe('wechat');
    expect(() => builtinCodeTable('toString')).toThrow(CodeTableError);
  });

  it('refuses values of mixed types: one SQL column holds them', () => {
    expect(() => inlineCodeTable({ a: 'x', b: true })).toThrow(/mix types/);
    expect(() => inlineCodeTable({ a: 'x' }, { default: 0 })).toThrow(/mix types/);
  });
});

describe('CodeTable files', () => {
  const write = async (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };
  const gb18030 = {
    已办结: Buffer.from([0xd2, 0xd1, 0xb0, 0xec, 0xbd, 0xe1]),
    受理: Buffer.from([0xca, 0xdc, 0xc0, 0xed]),
  };
  const gbFile = Buffer.concat([
    Buffer.from('code,value\r\n'),
    gb18030.已办结,
    Buffer.from(',closed\r\n'),
    gb18030.受理,
    Buffer.from(',received\r\n'),
  ]);

  it('reads a GB18030 CSV when declared, and a UTF-8 CSV with BOM and quoted fields', async () => {
    const gb = await codeTableFile(await write('status-gb.csv', gbFile), 'gb18030', {});
    expect(gb.lookup('已办结')).toBe('closed');
    expect(gb.lookup('受理')).toBe('received');
    const utf8 = await codeTableFile(
      await write('events.csv', '\ufeffcode,value,说明\n"8,90",0101,"垃圾, 暴露"\n891,0102,\n'),
      'utf-8',
      {},
    );
    expect(utf8.lookup('8,90')).toBe('0101');
    expect(utf8.lookup(891)).toBe('0102');
  });

  it('reports an encoding that does not match the file instead of reading mojibake', async () => {
    const gbPath = await write('declared-utf8.csv', gbFile);
    await expect(codeTableFile(gbPath, 'utf-8', {})).rejects.toThrow(/declared-utf8\.csv: not valid UTF-8/);
    const utf8Path = await write('declared-gb.csv', 'code,value\n已办结,closed\n');
    await expect(codeTableFile(utf8Path, 'gb18030', {})).rejects.toThrow(/declared GB18030 but the file is UTF-8/);
  });

  it('names the file and both lines of a duplicate code', async () => {
    const path = await write('dup.csv', 'code,value\nY,yes\nN,no\nY,again\n');
    const error = await codeTableFile(path, 'utf-8', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodeTableError);
    expect(error).toBeInstanceOf(CityhubError);
    expect(error).toMatchObject({ origin: path, line: 4, retriable: false });
    expect((error as Error).message).toContain('already defined at line 2');
    // Codes that differ only by case collide when the table ignores case.
    const folded = await write('fold.csv', 'code,value\nY,yes\ny,yes\n');
    await expect(codeTableFile(folded, 'utf-8', { case_insensitive: true })).rejects.toMatchObject({ line: 3 });
  });

  it('names the line of a duplicate key in JSON and YAML, which JSON.parse would drop silently', async () => {
    const json = await write('dup.json', '{\n  "a": "x",\n  "b": "y",\n  "a": "z"\n}\n');
    await expect(codeTableFile(json, 'utf-8', {})).rejects.toMatchObject({ origin: json, line: 4 });
    const yaml = await write('dup.yaml', 'a: x\nb: y\na: z\n');
    await expect(codeTableFile(yaml, 'utf-8', {})).rejects.toMatchObject({ origin: yaml, line: 3 });
  });

  it('keeps YAML codes as written: 0101 stays "0101", not the number 101', async () => {
    const table = await codeTableFile(await write('events.yaml', '0101: 暴露垃圾\n"0102": 乱堆物料\n'), 'utf-8', {});
    expect(table.lookup('0101')).toBe('暴露垃圾');
    expect(table.lookup('101')).toBe(UNMAPPED);
    expect(table.lookup('0102')).toBe('乱堆物料');
  });

  it('reports unreadable, malformed and wrongly shaped files as CodeTableError with the file', async () => {
    const missing = join(dir, 'missing.csv');
    await expect(codeTableFile(missing, 'utf-8', {})).rejects.toThrow(/missing\.csv: cannot read the file \(ENOENT\)/);
    const unclosed = await write('unclosed.csv', 'code,value\n"a,x\n');
    await expect(codeTableFile(unclosed, 'utf-8', {})).rejects.toMatchObject({ origin: unclosed, line: 2 });
    const header = await write('header.csv', '代码,名称\na,x\n');
    await expect(codeTableFile(header, 'utf-8', {})).rejects.toThrow(/header\.csv:1: expected a header/);
    const notJson = await write('bad.json', '{"a": ');
    await expect(codeTableFile(notJson, 'utf-8', {})).rejects.toThrow(/bad\.json: not valid JSON/);
    const nested = await write('nested.yaml', 'a:\n  b: c\n');
    await expect(codeTableFile(nested, 'utf-8', {})).rejects.toMatchObject({ origin: nested, line: 1 });
    const txt = await write('codes.txt', 'a=b');
    await expect(codeTableFile(txt, 'utf-8', {})).rejects.toThrow(/unknown file type/);
  });

  it('resolves a spec: builtin name, file relative to the mapping folder, inline entries with options', async () => {
    await write('status-spec.csv', gbFile);
    expect((await loadCodeTable('builtin:yes_no', dir)).lookup('是')).toBe(true);
    const file = await loadCodeTable({ file: 'status-spec.csv', encoding: 'gb18030', default: 'handling' }, dir);
    expect(file.lookup('已办结')).toBe('closed');
    expect(file.lookup('未知')).toBe('handling');
    const inline = await loadCodeTable({ entries: { a: 'x' }, on_missing: 'pass_through' }, dir);
    expect(inline.lookup('b')).toBe('b');
    await expect(loadCodeTable({ entries: { a: 'x' }, file: 'x.csv' }, dir)).rejects.toThrow(/exactly one/);
    await expect(loadCodeTable('builtin:nope', dir)).rejects.toThrow(/builtin:nope: no such built-in table/);
  });
});
