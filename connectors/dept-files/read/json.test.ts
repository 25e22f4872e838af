import { afterEach, describe, expect, it } from 'vitest';
import { FileFixtures, readOptions, rowsOf } from './fixtures.js';
import { inspectFile } from './inspect.js';

let fixtures: FileFixtures;
afterEach(() => fixtures?.cleanup());

const json = readOptions({ format: 'json' });
const ndjson = readOptions({ format: 'ndjson' });

describe('json array files', () => {
  it('streams elements with nested objects and strings holding ] } and escaped quotes, each with its start line', async () => {
    fixtures = new FileFixtures();
    const text = `[
  {"id": 1, "name": "a]b}c", "nested": {"list": [1, {"deep": "\\"}]"}], "x": null}},
  {"id": 2,
   "note": "line\\nbreak \\\\"},
  {"id": 3, "中文": "城管"}
]
`;
    const path = await fixtures.write('a.json', text);
    expect(await inspectFile(path, json)).toMatchObject({ rows: 3 });
    expect(await rowsOf(path, json)).toEqual([
      { line: 2, values: { id: 1, name: 'a]b}c', nested: { list: [1, { deep: '"}]' }], x: null } } },
      { line: 3, values: { id: 2, note: 'line\nbreak \\' } },
      { line: 5, values: { id: 3, 中文: '城管' } },
    ]);
  });

  it('gives the same rows when an element spans many read chunks', async () => {
    fixtures = new FileFixtures();
    const big = 'x'.repeat(200_000);
    const path = await fixtures.write('big.json', `[{"a":"${big}"},{"b":"]"}]`);
    const rows = await rowsOf(path, readOptions({ format: 'json', max_row_bytes: 1 << 20 }));
    expect(rows).toEqual([
      { line: 1, values: { a: big } },
      { line: 1, values: { b: ']' } },
    ]);
  });

  it('an element that is not an object, or does not parse, or holds a lone surrogate or __proto__, is a row problem; the rest flows on', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write(
      'mixed.json',
      '[\n1,\n"text",\n[1,2],\n{"a": tru},\n{"a": "\\ud800"},\n{"__proto__": {"x": 1}},\n{"ok": true}\n]',
    );
    const rows = await rowsOf(path, json);
    expect(rows.map((r) => [r.line, r.problem?.kind ?? r.values])).toEqual([
      [2, 'not_an_object'],
      [3, 'not_an_object'],
      [4, 'not_an_object'],
      [5, 'invalid_json'],
      [6, 'invalid_unicode'],
      [7, 'unsafe_key'],
      [8, { ok: true }],
    ]);
    expect(rows[3]!.problem?.raw).toBe('{"a": tru}');
  });

  it('an element over max_row_bytes is too_large and the next one is read', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('large.json', `[{"a":"${'城'.repeat(1000)}"},{"b":2}]`);
    const rows = await rowsOf(path, readOptions({ format: 'json', max_row_bytes: 2048 }));
    expect(rows).toEqual([
      { line: 1, problem: { kind: 'too_large', message: expect.stringContaining('3008 bytes') } },
      { line: 1, values: { b: 2 } },
    ]);
  });

  it('file problems: an array never closed is truncated (with the open element line); not an array; text after ]; missing comma; []', async () => {
    fixtures = new FileFixtures();
    const cases: [string, string, Record<string, unknown>][] = [
      ['cut.json', '[{"a":1},\n{"a":2},\n{"a":"cut he', { kind: 'truncated', line: 3 }],
      ['unclosed.json', '[{"a":1}\n', { kind: 'truncated' }],
      ['object.json', '{"a":1}', { kind: 'not_an_array', line: 1 }],
      ['after.json', '[{"a":1}]\n{"b":2}', { kind: 'malformed_json', line: 2 }],
      ['comma.json', '[{"a":1}\n{"a":2}]', { kind: 'malformed_json', line: 2 }],
      ['none.json', ' [ ] ', { kind: 'no_rows' }],
    ];
    for (const [name, text, problem] of cases) {
      const path = await fixtures.write(name, text);
      expect((await inspectFile(path, json)).problem, name).toMatchObject(problem);
    }
  });

  it('invalid UTF-8 inside a json string is an encoding_mismatch of the file, never a replacement character', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write(
      'bad.json',
      Buffer.concat([Buffer.from('[{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]')]),
    );
    expect((await inspectFile(path, json)).problem).toMatchObject({ kind: 'encoding_mismatch', byte: 7 });
  });
});

describe('ndjson files', () => {
  it('one object per line, blank lines skipped, CRLF accepted, a bad line a row problem with its line', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('a.ndjson', '{"a":1}\r\n\r\n{"a":\n[1]\n{"b":"城"}');
    expect(await inspectFile(path, ndjson)).toMatchObject({ rows: 4 });
    expect(await rowsOf(path, ndjson)).toEqual([
      { line: 1, values: { a: 1 } },
      { line: 3, problem: { kind: 'invalid_json', message: expect.any(String), raw: '{"a":' } },
      { line: 4, problem: { kind: 'not_an_object', message: 'expected an object, got an array', raw: '[1]' } },
      { line: 5, values: { b: '城' } },
    ]);
  });

  it('a line over max_row_bytes is too_large without being held; only blank lines is no_rows', async () => {
    fixtures = new FileFixtures();
    const path = await fixtures.write('big.ndjson', `{"a":"${'x'.repeat(5000)}"}\n{"a":2}\n`);
    expect(await rowsOf(path, readOptions({ format: 'ndjson', max_row_bytes: 1024 }))).toEqual([
      { line: 1, problem: { kind: 'too_large', message: expect.any(String) } },
      { line: 2, values: { a: 2 } },
    ]);
    const blank = await fixtures.write('blank.ndjson', '{}\n');
    expect((await inspectFile(blank, ndjson)).problem).toBeUndefined();
    const none = await fixtures.write('none.ndjson', '\n\n  \n');
    expect((await inspectFile(none, ndjson)).problem).toMatchObject({ kind: 'empty' });
  });
});
