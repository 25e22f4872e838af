import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { StringClass, ValueKind } from '../mapping/bulk-sql.js';
import { AUTO_LOCAL_FAST_REGEX } from '../mapping/time-format.js';
import { bulkEligible, bulkKinds, lastStringClasses } from './bulk-eligible.js';

const limits = { maxPayloadBytes: 4096, maxDepth: 8, maxStringBytes: 4096 };
const eligible = (text: string | Buffer) => bulkEligible(typeof text === 'string' ? Buffer.from(text) : text, limits);

describe('bulkEligible: payloads DuckDB and JSON.parse read alike', () => {
  it('takes plain objects, with non-ASCII text and escapes of non-ASCII characters', () => {
    for (const text of [
      '{"a":"x","b":1.5,"c":-2,"d":true,"e":null,"f":[1,{"g":"h"}]}',
      '  {"街道":"徐家汇街道","n":1e3}  ',
      '{"a":"\\u4e2d\\n\\"q\\""}',
      '{"a":"-0.5","b":-10.25,"c":-10}',
      '{"a":{"a":1}}',
    ])
      expect(eligible(text), text).toBe(true);
  });

  it('leaves to the record path what the two could read differently, or what would break a scratch line', () => {
    for (const text of [
      '{"a":1,"a":2}',
      '{"a":1,}',
      '{"a":[1,]}',
      '{"a":-0}',
      '{"a":-0.0}',
      '{"a":NaN}',
      '{"a":Infinity}',
      '{"a":"x\ny"}',
      '{"a":"x\ty"}',
      // A raw line break or control byte after a backslash: invalid JSON, and it would split the scratch line.
      '{"a":"x\\\ny"}',
      '{"a":"x\\\u0000y"}',
      '{"a":"\\u0041"}',
      '{"a":"\\ud800"}',
      '{"\\u0061":1}',
      '{"__proto__":{}}',
      '{"a":"prototype"}',
      '{"a":1} {"b":2}',
      '{"a":1}x',
      '[1,2]',
      '"text"',
      '{"a":"unterminated}',
      '{"a":tru}',
      '{"a":1',
      '{"a":[[[[[[[[1]]]]]]]]}',
      '',
    ])
      expect(eligible(text), JSON.stringify(text)).toBe(false);
  });

  it("leaves a payload with the record path's own top-level key to the record path, and only that key", () => {
    const withKey = { ...limits, recordPathKey: Buffer.from('_mark') };
    expect(bulkEligible(Buffer.from('{"a":1,"_mark":{"x":1}}'), withKey)).toBe(false);
    expect(bulkEligible(Buffer.from('{"_mark":null}'), withKey)).toBe(false);
    // Elsewhere, or a key of the same length, is an ordinary payload (the record path looks at the top level only).
    expect(bulkEligible(Buffer.from('{"a":{"_mark":1},"b":"_mark"}'), withKey)).toBe(true);
    expect(bulkEligible(Buffer.from('{"_marc":1}'), withKey)).toBe(true);
    expect(eligible('{"_mark":1}')).toBe(true);
  });

  it('refuses invalid UTF-8 inside a string, wherever it is', () => {
    const good = Buffer.from('{"a":"中文","b":"x"}');
    expect(eligible(good)).toBe(true);
    for (let at = 6; at < good.length - 2; at++) {
      const bad = Buffer.from(good);
      bad[at] = 0xff;
      expect(eligible(bad), `0xff at ${at}`).toBe(false);
    }
    // A lone byte escaped by a backslash, the payload's only non-ASCII byte.
    expect(eligible(Buffer.concat([Buffer.from('{"a":"x\\'), Buffer.from([0xff]), Buffer.from('"}')]))).toBe(false);
    // A lone continuation byte as the string's last byte.
    expect(eligible(Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0x80]), Buffer.from('"}')]))).toBe(false);
  });

  it('takes nested objects only with distinct keys in each (json_extract takes the first of two, JSON.parse the last)', () => {
    for (const text of [
      '{"a":{"x":1,"y":2},"b":{"x":1,"y":2}}',
      '{"x":{"x":{"x":1}},"y":[{"x":1},{"x":2,"y":3}]}',
      '{"a":[{"k":1,"j":2},{"k":3,"j":4}],"b":{"c":[{"k":1}],"k":2}}',
      '{"a":{"x":[1,2],"y":{"x":"x"},"z":"x"}}',
    ])
      expect(eligible(text), text).toBe(true);
    for (const text of [
      '{"a":{"x":1,"x":2}}',
      '{"a":{"x":{"y":1},"x":2}}',
      '{"a":[{"k":1},{"k":2,"j":3,"k":4}]}',
      '{"a":{"b":{"c":1},"d":[1,{"e":2,"e":3}]}}',
      '{"a":{"x":1,"y":{"z":1},"x":2}}',
      // Escaped keys could spell a repeat another way.
      '{"a":{"\\u00e9":1,"é":2}}',
      '{"a":{"x\\n":1}}',
    ])
      expect(eligible(text), text).toBe(false);
    // As many nested keys open at once as the scan keeps, and one more.
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',');
    expect(eligible(`{"a":{${keys(256)}}}`)).toBe(true);
    expect(eligible(`{"a":{${keys(257)}}}`)).toBe(false);
    expect(eligible(`{"a":[${Array.from({ length: 20 }, () => `{${keys(10)}}`).join(',')}]}`)).toBe(true);
  });

  it('takes, of random mutations, only one object on one line in valid UTF-8, when JSON.parse reads it at all', () => {
    // Text neither reads (a misplaced colon) may be taken: DuckDB gives it no row and the record path dead-letters it.
    const seed = '{"dev":"GAS-310101-0001","val":12.5,"ts":"2026-11-01 08:00:00","tags":["a","中"],"o":{"k":null}}';
    let state = 7;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const alphabet = Buffer.from('{}[]",:\\-0123456789.eE+tfnul \n\t\u0000ax');
    let parsed = 0;
    for (let n = 0; n < 20_000; n++) {
      const buf = Buffer.from(seed);
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) {
        const at = Math.floor(random() * buf.length);
        buf[at] =
          random() < 0.1 ? 0x80 + Math.floor(random() * 0x80) : alphabet[Math.floor(random() * alphabet.length)]!;
      }
      if (!eligible(buf)) continue;
      expect(buf.some((b) => b < 0x20)).toBe(false);
      expect(isUtf8(buf)).toBe(true);
      let value: unknown;
      try {
        value = JSON.parse(buf.toString('utf8'));
      } catch {
        continue;
      }
      parsed++;
      expect(typeof value === 'object' && value !== null && !Array.isArray(value), buf.toString()).toBe(true);
    }
    expect(parsed).toBeGreaterThan(1000);
  });
});

describe('bulkKinds: the kinds of the values of the keys a plan reads', () => {
  const tops = ['a', 'b', 'cc', 'd', 'e', 'f', 'g'].map((key) => Buffer.from(key));
  /** The kinds number as slots: kind of a, b, cc, …. */
  const slots = (text: string) => {
    const kinds = bulkKinds(Buffer.from(text), limits, tops);
    if (kinds < 0) return undefined;
    return tops.map((_, slot) => Math.floor(kinds / 8 ** slot) % 8);
  };
  const { absent, string, number, boolean, object, array, emptyString } = ValueKind;

  it('gives each read key its value kind by slot, whatever the key order, spacing or other keys around it', () => {
    expect(slots('{"a":"x","b":-1.5,"cc":true,"d":{"a":1},"e":[1],"f":null,"z":"b"}')).toEqual([
      string,
      number,
      boolean,
      object,
      array,
      absent,
      absent,
    ]);
    expect(slots('{ "g" : false , "cc":"", "c":1, "ccc":[], "a" : 0 }')).toEqual([
      number,
      absent,
      emptyString,
      absent,
      absent,
      absent,
      boolean,
    ]);
  });

  it('reads only top-level keys: the same names inside objects, arrays or strings are not counted', () => {
    expect(slots('{"x":{"a":"s","b":1},"y":[{"cc":true}],"z":"\\"a\\":1"}')).toEqual(tops.map(() => absent));
  });

  it('is -1 where bulkEligible refuses the payload', () => {
    for (const text of ['{"a":1,"a":2}', '{"a":NaN}', '{"a":1,}', '[{"a":1}]', '{"a":"x\n"}'])
      expect(bulkKinds(Buffer.from(text), limits, tops), text).toBe(-1);
  });

  it('reads a payload in place in a larger buffer exactly as on its own, whatever bytes surround it', () => {
    const payloads = [
      '{"a":"x","b":-1.5,"cc":[1,{"d":2}]}',
      '{"a":"街道","b":-0}',
      '{"a":-0.5,"b":1e3}',
      '{"a":"\\u00e9"}',
      '{"a":"\\u00"}',
      '{"a":tru}',
      '{"a":1}x',
      '  {"g":null}  ',
      '{"a":"x\\',
      '{"a":-',
      '{"a":1,"b":fals',
    ];
    const around = [
      ['', ''],
      ['{"z":0}', '\n'],
      ['\u00ff\u00fe', '0e}'],
      ['x', '\xff\xfe'],
    ];
    for (const payload of payloads) {
      const alone = bulkKinds(Buffer.from(payload), limits, tops);
      for (const [before, after] of around) {
        const head = Buffer.from(before!, 'latin1');
        const buf = Buffer.concat([head, Buffer.from(payload), Buffer.from(after!, 'latin1')]);
        const start = head.length;
        const end = start + Buffer.byteLength(payload);
        expect(bulkKinds(buf, limits, tops, start, end), `${before}|${payload}|${after}`).toBe(alone);
      }
    }
  });

  it('judges each payload on its own, whatever the payloads before it (keys repeated, reordered, another limit)', () => {
    expect(slots('{"a":1,"b":2,"cc":3}')).toEqual([number, number, number, absent, absent, absent, absent]);
    // The same keys first, then one repeated: refused, though it starts as the payload before it.
    expect(slots('{"a":1,"b":2,"cc":3,"a":"x"}')).toBeUndefined();
    expect(slots('{"a":1,"b":2,"b":"x"}')).toBeUndefined();
    // Fewer keys, other keys, another order: each key found again.
    expect(slots('{"a":1,"b":2}')).toEqual([number, number, absent, absent, absent, absent, absent]);
    expect(slots('{"a":1,"cc":"x","b":[]}')).toEqual([number, array, string, absent, absent, absent, absent]);
    expect(slots('{"cc":"x","a":{},"b":true}')).toEqual([object, boolean, string, absent, absent, absent, absent]);
    expect(slots('{"cc":"x","a":{},"b":true}')).toEqual([object, boolean, string, absent, absent, absent, absent]);
    // Keys that start as the shape's keys but are longer, shorter, escaped, or the shape's key as a value.
    expect(slots('{"ccc":"x","a":{},"b":true}')).toEqual([object, boolean, absent, absent, absent, absent, absent]);
    expect(slots('{"cc":"x","a":{},"b":true}')).toEqual([object, boolean, string, absent, absent, absent, absent]);
    expect(slots('{"c":"x","a":{},"b":true}')).toEqual([object, boolean, absent, absent, absent, absent, absent]);
    expect(slots('{"cc":"x","a":{},"b":true}')).toEqual([object, boolean, string, absent, absent, absent, absent]);
    expect(slots('{"cc":"x","a":{},"b\\u0062":true}')).toBeUndefined();
    expect(slots('{"cc":"x","a":{},"b')).toBeUndefined();
    expect(slots('{"cc":"a","a":"b","b":"cc"}')).toEqual([string, string, string, absent, absent, absent, absent]);
    // A shape with a multi-byte key, then the same key before invalid UTF-8 in a value: still checked.
    const wide = [Buffer.from('街')];
    expect(bulkKinds(Buffer.from('{"街":"道"}'), limits, wide)).toBe(ValueKind.string);
    expect(
      bulkKinds(Buffer.concat([Buffer.from('{"街":"'), Buffer.from([0xe8, 0xa1]), Buffer.from('"}')]), limits, wide),
    ).toBe(-1);
    expect(bulkKinds(Buffer.from('{"街":1}'), limits, wide)).toBe(ValueKind.number);
    // The same keys under limits that refuse one of them (the masker's mark).
    const marked = { ...limits, recordPathKey: Buffer.from('b') };
    expect(bulkKinds(Buffer.from('{"cc":"x","a":{},"b":true}'), marked, tops)).toBe(-1);
    expect(bulkKinds(Buffer.from('{"cc":"x","a":{},"b":true}'), limits, tops)).toBeGreaterThan(0);
  });

  it('holds 17 slots of the largest kind in one safe integer', () => {
    const many = Array.from({ length: 17 }, (_, i) => Buffer.from(`k${i}`));
    const text = `{${many.map((key) => `"${key.toString()}":[]`).join(',')}}`;
    const kinds = bulkKinds(Buffer.from(text), limits, many);
    expect(Number.isSafeInteger(kinds)).toBe(true);
    expect(kinds).toBe(many.reduce((sum, _, slot) => sum + array * 8 ** slot, 0));
  });
});

describe('lastStringClasses: what the kinded strings are made of', () => {
  const tops = ['a', 'b', 'cc'].map((key) => Buffer.from(key));
  /** The classes of a, b, cc; undefined when the payload is refused. */
  const classes = (text: string, classed = 0b111) => {
    const payload = Buffer.from(text);
    if (bulkKinds(payload, limits, tops, 0, payload.length, classed) < 0) return undefined;
    const all = lastStringClasses();
    return tops.map((_, slot) => Math.floor(all / 4 ** slot) % 4);
  };
  /** The classes by their definition (bulk-sql.ts StringClass), on the string JSON.parse reads. */
  const expected = (value: unknown) => {
    if (typeof value !== 'string') return StringClass.none;
    if (/^[0-9]+$/.test(value)) return StringClass.digits;
    return /^[A-Za-z0-9][A-Za-z0-9_.:#+/-]*$/.test(value) ? StringClass.word : StringClass.none;
  };
  const { none, word, digits } = StringClass;

  it('classes each kinded string: digits, a word, or none; any other value and any other key none', () => {
    expect(classes('{"a":"GAS-330102-0001","b":"330102","cc":"x","z":"123"}')).toEqual([word, digits, word]);
    expect(classes('{"a":"0","b":"A","cc":"id#1+2:3.4_5/6"}')).toEqual([digits, word, word]);
    expect(classes('{"a":"_x","b":"-1","cc":"a b"}')).toEqual([none, none, none]);
    expect(classes('{"a":"燃气-1","b":"x燃","cc":"é"}')).toEqual([none, none, none]);
    // An escape, even of a character of the class, is not read as one: the SQL reads the string DuckDB unescaped.
    expect(classes('{"a":"\\u4e00","b":"a\\/b","cc":"1\\n"}')).toEqual([none, none, none]);
    expect(classes('{"a":"","b":123,"cc":["1"]}')).toEqual([none, none, none]);
    expect(classes('{"z":{"a":"1"},"a":null,"b":true,"cc":{"a":"x"}}')).toEqual([none, none, none]);
  });

  it('agrees with the definitions on random strings, in and out of the key shape the scan follows', () => {
    const alphabet = ['a', 'Z', '0', '9', '_', '.', ':', '#', '+', '/', '-', ' ', '燃', 'é', '\\n', '\\"', '"', '~'];
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) {
      const text = () => {
        let out = '';
        for (let n = random(6); n > 0; n--) out += alphabet[random(alphabet.length)];
        return out.replaceAll(/(?<!\\)"/g, '\\"');
      };
      const values = [text(), text(), text()];
      const order = random(2) === 0 ? [0, 1, 2] : [2, 0, 1];
      const json = `{${order.map((k) => `"${['a', 'b', 'cc'][k]}":"${values[k]}"`).join(',')}}`;
      const parsed = JSON.parse(json) as Record<string, unknown>;
      const got = classes(json);
      expect(got, json).toEqual(['a', 'b', 'cc'].map((key) => expected(parsed[key])));
      for (const c of got!) counts[c]!++;
    }
    // Every class was met many times.
    for (const count of counts) expect(count).toBeGreaterThan(200);
  });

  it('classes only the slots asked for; gives the classes of the last payload taken, none of a refused one', () => {
    expect(classes('{"a":"1","b":"1","cc":"1"}')).toEqual([digits, digits, digits]);
    expect(classes('{"a":"1","b":"1","cc":"1"}', 0b101)).toEqual([digits, none, digits]);
    expect(classes('{"a":"1","b":"1","cc":"1"}', 0)).toEqual([none, none, none]);
    expect(classes('{"a":"1","a":"x"}')).toBeUndefined();
    // Sixteen slots fill 32 bits: the last one's class is not a sign.
    const sixteen = Array.from({ length: 16 }, (_, i) => Buffer.from(`k${i}`));
    const payload = Buffer.from(`{${sixteen.map((key) => `"${key.toString()}":"12"`).join(',')}}`);
    expect(bulkKinds(payload, limits, sixteen, 0, payload.length, 0xffff)).toBeGreaterThan(0);
    expect(lastStringClasses()).toBe(sixteen.reduce((sum, _, slot) => sum + digits * 4 ** slot, 0));
    expect(classes('{"a":"x"}')).toEqual([word, none, none]);
  });
});

describe('lastStringClasses: local times', () => {
  const tops = ['t', 'id'].map((key) => Buffer.from(key));
  const fast = new RegExp(`^(?:${AUTO_LOCAL_FAST_REGEX})$`);
  /** The class of `t` (a timed slot) and of `id` (timed and classed). */
  const classes = (t: string, id = 'x') => {
    const payload = Buffer.from(JSON.stringify({ t, id }));
    if (bulkKinds(payload, limits, tops, 0, payload.length, 0b10, 0b11) < 0) return undefined;
    return [lastStringClasses() & 3, lastStringClasses() >>> 2];
  };
  const { none, word, localTime } = StringClass;

  it('classes the fast local form as localTime, and nothing else', () => {
    for (const t of ['2026-12-05 16:24:57', '2026-12-05T16:24', '1000-01-01 00:00:00.1', '9999-12-31T23:59:59.999'])
      expect(classes(t), t).toEqual([localTime, word]);
    for (const t of [
      '0999-12-05 16:24:57',
      '2026-12-05 24:00:00',
      '2026-12-05 16:60:00',
      '2026-12-05 16:24:60',
      '2026-12-05 16:24:57.1234',
      '2026-12-05 16:24:57.',
      '2026-12-05 16:24:5',
      '2026-12-05  16:24',
      '2026-12-05 16:24Z',
      '2026/12/05 16:24:57',
      '',
      '2026-12-05',
    ])
      expect(classes(t)?.[0], t).toBe(none);
    // A slot both timed and classed: a time is localTime there, anything else its word class.
    expect(classes('x', '2026-12-05T16:24')).toEqual([none, localTime]);
    expect(classes('x', 'GAS-1')).toEqual([none, word]);
  });

  it('agrees with the form on mutations of local times', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const chars = '0123456789-: T.Z+/ab';
    let matched = 0;
    for (let i = 0; i < 30_000; i++) {
      let t = ['2026-12-05 16:24:57', '1999-01-31T09:05', '2000-02-29 23:59:59.12'][random(3)]!;
      for (let edits = random(3); edits > 0; edits--) {
        const at = random(t.length + 1);
        const op = random(3);
        const c = chars[random(chars.length)]!;
        t =
          op === 0
            ? t.slice(0, at) + c + t.slice(at + 1)
            : op === 1
              ? t.slice(0, at) + t.slice(at + 1)
              : t.slice(0, at) + c + t.slice(at);
      }
      const got = classes(t)?.[0];
      expect(got === localTime, JSON.stringify(t)).toBe(fast.test(t));
      if (got === localTime) matched++;
    }
    expect(matched).toBeGreaterThan(3_000);
  });
});
