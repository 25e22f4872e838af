import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CityhubError } from '../errors.js';
import { utc } from '../normalize/mappings/fields.js';
import { parseSourceTime } from '../normalize/time.js';
import { sqlString } from './sql-literal.js';
import { autoLocalToSql, compileTimeFormat, TimeFormatError, TimeParseFailure } from './time-format.js';

let instance: DuckDBInstance;
let duck: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  duck = await instance.connect();
  // The compiled SQL must not depend on the session zone: run it under one that is neither UTC nor the source zone.
  await duck.run("set TimeZone = 'America/Sao_Paulo'");
});
afterAll(() => {
  duck?.closeSync();
  instance?.closeSync();
});

/** The canonical UTC text of each value through DuckDB, or null where the SQL yields NULL. */
async function viaDuckDb(format: string, zone: string | undefined, values: string[]): Promise<(string | null)[]> {
  const expr = compileTimeFormat(format, zone).toSql('v');
  const rows = values.map((value, index) => `(${index}, ${sqlString(value)})`).join(', ');
  const reader = await duck.runAndReadAll(
    `select strftime(timezone('UTC', ${expr}), '%Y-%m-%dT%H:%M:%S.%gZ') as t from (values ${rows}) as input(i, v) order by i`,
  );
  return reader.getRowObjects().map((row) => row.t as string | null);
}

function viaJs(format: string, zone: string | undefined, values: string[]): (string | null)[] {
  const compiled = compileTimeFormat(format, zone);
  return values.map((value) => {
    const result = compiled.parse(value);
    return typeof result === 'string' ? result : null;
  });
}

const cases: { format: string; zone?: string; values: string[] }[] = [
  {
    format: 'YYYY-MM-DD HH:mm:ss',
    values: [
      '2026-07-01 08:00:00',
      '2024-02-29 23:59:59',
      '2026-01-01 00:00:00',
      '1000-01-01 00:00:00',
      '9999-12-31 23:59:59',
      '2026-02-29 10:00:00',
      '2026-02-30 10:00:00',
      '2100-02-29 10:00:00',
      '2000-02-29 10:00:00',
      '2026-13-01 00:00:00',
      '2026-00-10 00:00:00',
      '2026-07-00 00:00:00',
      '2026-04-31 00:00:00',
      '2026-07-01 24:00:00',
      '2026-07-01 23:61:00',
      '2026-07-01 23:00:60',
      '2026-7-01 10:00:00',
      '2026-07-01 10:00',
      '2026-07-01T10:00:00',
      ' 2026-07-01 10:00:00',
      '2026-07-01 10:00:00 ',
      '２０２６-07-01 10:00:00',
      '0999-01-01 00:00:00',
      '',
      "2026-07-01 10:00:00'; drop table x; --",
    ],
  },
  {
    format: 'YYYY/MM/DD HH:mm',
    values: ['2026/07/01 08:30', '2026/13/45 10:00', '2026/02/30 10:00', '2026-07-01 08:30'],
  },
  { format: 'YYYYMMDD', values: ['20260701', '20261345', '2026070', '202607011', '20240229', '20250229'] },
  {
    format: 'YYYY年M月D日',
    values: [
      '2026年7月1日',
      '2026年07月01日',
      '2026年12月31日',
      '2026年2月30日',
      '2026年123月1日',
      '2026年7月1',
      '2026年0月1日',
    ],
  },
  { format: 'YYYY年M月D日 HH时mm分ss秒', values: ['2026年7月1日 08时05分09秒', '2026年7月1日 8时05分09秒'] },
  {
    format: 'YYYY-MM-DDTHH:mm:ss.SSS',
    values: ['2026-07-01T08:00:00.123', '2026-07-01T08:00:00.12', '2026-07-01T08:00:00.999'],
  },
  { format: 'D/M/YYYY H:mm', values: ['1/7/2026 8:05', '31/12/2026 23:59', '31/4/2026 10:00', '001/7/2026 8:05'] },
  {
    format: 'YYYY-MM-DD HH:mm',
    zone: 'Europe/Berlin',
    values: [
      '2026-03-29 01:59',
      '2026-03-29 02:00',
      '2026-03-29 02:30',
      '2026-03-29 03:00',
      '2026-10-25 01:59',
      '2026-10-25 02:00',
      '2026-10-25 02:30',
      '2026-10-25 03:00',
      '2026-07-01 12:00',
      '2026-01-01 00:00',
    ],
  },
  {
    format: 'YYYY-MM-DD HH:mm',
    zone: 'America/New_York',
    values: ['2026-03-08 02:30', '2026-11-01 01:30', '2026-11-01 00:59'],
  },
  {
    format: 'YYYY-MM-DD HH:mm',
    zone: 'Australia/Lord_Howe',
    values: ['2026-10-04 02:15', '2026-04-05 01:45', '2026-07-01 00:00'],
  },
  { format: 'YYYY-MM-DD HH:mm', zone: 'Asia/Kolkata', values: ['2026-07-01 00:00', '2026-07-01 05:29'] },
  { format: 'YYYY-MM-DD HH:mm', zone: 'UTC', values: ['2026-07-01 00:00'] },
  {
    format: 'iso8601',
    values: [
      '2026-07-01T08:00:00+08:00',
      '2026-07-01T08:00:00Z',
      '2026-07-01 08:00:00+0800',
      '2026-07-01T08:00+08',
      '2026-07-01T08:00:00.1239999-05:30',
      '2026-07-01T08:00:00.5Z',
      '2026-12-31T23:59:59-14:00',
      '2026-07-01T08:00:00',
      '2026-02-30T08:00:00Z',
      '2026-07-01T24:00:00Z',
      '2026-07-01T08:00:00+24:00',
      '2026-07-01T08:00:00+08:60',
      '2026-07-01T08:00:00.Z',
      '2026-07-01T08:00:00z',
      '2026-07-01',
    ],
  },
  {
    format: 'epoch_ms',
    values: [
      '1754006400123',
      '1754006400',
      '1.7540064e12',
      '-1754006400000',
      '1754006400123.5',
      '1754006400123.4999',
      'abc',
      '',
      ' 1754006400123',
      '0x10',
      '+1754006400123',
      '99999999999999',
      '100000000000000',
    ],
  },
  {
    format: 'epoch_s',
    values: ['1754006400', '1754006400.1235', '1754006400.0005', '1754006400123', '1e9', '99999999'],
  },
];

describe('compileTimeFormat: the JS record path and the DuckDB bulk path agree', () => {
  for (const { format, zone, values } of cases) {
    it(`${format} in ${zone ?? 'Asia/Shanghai'}`, async () => {
      const expected = viaJs(format, zone, values);
      expect(expected.some((instant) => instant !== null)).toBe(true);
      expect(await viaDuckDb(format, zone, values)).toEqual(expected);
    });
  }

  it('agrees on 2,000 random wall times around DST changes in Europe/Berlin and America/New_York', async () => {
    let seed = 12_345;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const pad = (n: number) => String(n).padStart(2, '0');
    const values = Array.from({ length: 1000 }, () => {
      // Months 3, 10, 11 hold the transitions; days 1–31 include impossible ones on purpose.
      const month = [3, 10, 11, 7][random(4)]!;
      return `${1990 + random(60)}-${pad(month)}-${pad(1 + random(31))} ${pad(random(24))}:${pad(random(60))}`;
    });
    for (const zone of ['Europe/Berlin', 'America/New_York']) {
      expect(await viaDuckDb('YYYY-MM-DD HH:mm', zone, values)).toEqual(viaJs('YYYY-MM-DD HH:mm', zone, values));
    }
  });
});

describe("autoLocalToSql: the bulk path reads auto's local form as parseSourceTime does", () => {
  /** The instant of each text through the SQL, as epoch ms, or null where it yields NULL. */
  async function viaSql(values: string[], offsetMinutes: number): Promise<(number | null)[]> {
    const rows = values.map((value, index) => `(${index}, ${sqlString(value)})`).join(', ');
    const reader = await duck.runAndReadAll(
      `select epoch_ms(${autoLocalToSql('v', offsetMinutes)}) as t from (values ${rows}) as input(i, v) order by i`,
    );
    return reader.getRowObjects().map((row) => (row.t === null ? null : Number(row.t)));
  }
  /**
   * parseSourceTime's instant, where the SQL reads the value at all: zoned forms and years before 1000 are left to
   * the record path (NULL is "not sure", never a different instant).
   */
  function viaJs(values: string[], offsetMinutes: number): (number | null)[] {
    return values.map((value) => {
      if (/[zZ+]|[0-9]-[0-9]{2}:?[0-9]{2}$/.test(value.slice(10)) || /^0[0-9]{3}-/.test(value)) return null;
      const ms = parseSourceTime(value, offsetMinutes * 60_000);
      return Number.isNaN(ms) ? null : ms;
    });
  }

  it('agrees on the edges of both of its readings (the cast of the common forms and the general one)', async () => {
    const values = [
      '2026-07-01 08:00:00',
      '2026-07-01T08:00:00',
      '2026-07-01 08:00',
      '2026-07-01T08:00',
      '2026-07-01 08:00:00.5',
      '2026-07-01 08:00:00.05',
      '2026-07-01 08:00:00.123',
      '2026-07-01 08:00:00.1235',
      '2026-07-01 08:00:00.9999',
      '2026-07-01 08:00:00.999999',
      '2026-07-01 23:59:59.9995',
      '2024-02-29 23:59:59',
      '2026-02-29 10:00:00',
      '2100-02-29 10:00:00',
      '2000-02-29 10:00:00',
      '2026-04-31 00:00:00',
      '2026-13-01 00:00:00',
      '2026-00-10 00:00:00',
      '2026-07-00 00:00:00',
      '2026-07-01 24:00:00',
      '2026-07-01 24:00',
      '2026-07-01 23:60:00',
      '2026-07-01 23:00:60',
      '1000-01-01 00:00:00',
      '0999-12-31 23:59:59',
      '9999-12-31 23:59:59',
      '2026-7-01 10:00:00',
      '2026-07-01 8:00:00',
      ' 2026-07-01 08:00:00',
      '2026-07-01 08:00:00 ',
      '2026-07-01  08:00:00',
      '2026-07-01 08:00:00.',
      '2026-07-01 08:00:00,5',
      '2026-07-01',
      '2026-07-01 08',
      '2026-07-01 08:00:00+08',
      '2026-07-01T08:00:00Z',
      '２０２６-07-01 08:00:00',
      '',
    ];
    for (const offset of [480, 0, -300]) expect(await viaSql(values, offset)).toEqual(viaJs(values, offset));
  });

  it('agrees on 2,000 random local times, some impossible, in every form it reads', async () => {
    let seed = 4_242;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const values = Array.from({ length: 2000 }, () => {
      const date = `${pad(990 + random(9020), 4)}-${pad(random(14))}-${pad(random(33))}`;
      const time = `${pad(random(26))}:${pad(random(62))}`;
      const seconds = [
        ``,
        `:${pad(random(62))}`,
        `:${pad(random(60))}.${String(random(10_000_000)).slice(0, 1 + random(7))}`,
      ][random(3)];
      return `${date}${random(2) === 0 ? ' ' : 'T'}${time}${seconds}`;
    });
    expect((await viaSql(values, 480)).filter((t) => t !== null).length).toBeGreaterThan(500);
    expect(await viaSql(values, 480)).toEqual(viaJs(values, 480));
  });
});

describe('compileTimeFormat: canonical instants', () => {
  it('gives the same text as the current utc() for local Shanghai times and epoch milliseconds', () => {
    const local = compileTimeFormat('YYYY-MM-DD HH:mm:ss');
    for (const value of ['2026-08-01 08:00:00', '2026-01-01 00:00:00', '2024-02-29 23:59:59']) {
      expect(local.parse(value)).toBe(utc(value, 'ts'));
    }
    expect(compileTimeFormat('epoch_ms').parse(1754006400123)).toBe(utc(1754006400123, 'time'));
    expect(compileTimeFormat('iso8601').parse('2026-08-01T08:00:00+08:00')).toBe(utc('2026-08-01T08:00:00+08:00', 't'));
  });

  it('reads Chinese dates and compact dates as Shanghai midnight', () => {
    expect(compileTimeFormat('YYYY年M月D日').parse('2026年7月1日')).toBe('2026-06-30T16:00:00.000Z');
    expect(compileTimeFormat('YYYYMMDD').parse('20260701')).toBe('2026-06-30T16:00:00.000Z');
  });

  it('reads a wall time in a DST zone with the offset in force then', () => {
    const berlin = compileTimeFormat('YYYY-MM-DD HH:mm', 'Europe/Berlin');
    expect(berlin.parse('2026-07-01 12:00')).toBe('2026-07-01T10:00:00.000Z');
    expect(berlin.parse('2026-01-01 12:00')).toBe('2026-01-01T11:00:00.000Z');
    // Overlap: the later instant; gap: read with the offset before it (ICU's rule, so DuckDB agrees).
    expect(berlin.parse('2026-10-25 02:30')).toBe('2026-10-25T01:30:00.000Z');
    expect(berlin.parse('2026-03-29 02:30')).toBe('2026-03-29T01:30:00.000Z');
  });

  it('takes epoch values as numbers or numeric text', () => {
    expect(compileTimeFormat('epoch_s').parse(1754006400)).toBe('2025-08-01T00:00:00.000Z');
    expect(compileTimeFormat('epoch_s').parse('1754006400.5')).toBe('2025-08-01T00:00:00.500Z');
    expect(compileTimeFormat('epoch_ms').parse('1754006400123')).toBe('2025-08-01T00:00:00.123Z');
  });
});

describe('compileTimeFormat: failures say why', () => {
  const reason = (format: string, value: unknown) => {
    const result = compileTimeFormat(format).parse(value);
    expect(result).toBeInstanceOf(TimeParseFailure);
    return (result as TimeParseFailure).reason;
  };

  it('rejects impossible dates and times with the field at fault', () => {
    expect(reason('YYYY/MM/DD', '2026/13/45')).toContain('month 13 does not exist');
    expect(reason('YYYY-MM-DD', '2026-02-30')).toContain('day 30 does not exist in 2026-02');
    expect(reason('YYYY-MM-DD HH:mm', '2026-07-01 24:61')).toContain('hour 24');
    expect(reason('YYYY-MM-DD HH:mm', '2026-07-01 23:61')).toContain('minute 61');
  });

  it('rejects epoch seconds given as milliseconds and the reverse, saying which they look like', () => {
    expect(reason('epoch_ms', 1754006400)).toContain('looks like epoch seconds');
    expect(reason('epoch_s', '1754006400123')).toContain('looks like epoch milliseconds');
    expect(reason('epoch_s', 0)).toContain('out of range');
    expect(reason('epoch_ms', 1754006400123000)).toContain('out of range');
  });

  it('rejects ISO 8601 without an offset: its zone would be a guess', () => {
    expect(reason('iso8601', '2026-07-01T08:00:00')).toContain('no offset');
  });

  it('rejects values of the wrong shape or type', () => {
    expect(reason('YYYY-MM-DD', '2026-7-1')).toContain('not a time in format "YYYY-MM-DD"');
    expect(reason('YYYY-MM-DD', 20260701)).toContain('not a time');
    expect(reason('epoch_ms', { ms: 1 })).toContain('not a number');
    expect(reason('iso8601', null)).toContain('not an ISO 8601 time');
  });

  it('throws a TimeFormatError naming the format and the unknown token or zone', () => {
    const unknownToken = () => compileTimeFormat('YYYY-MM-DD hh:mm');
    expect(unknownToken).toThrow(TimeFormatError);
    expect(unknownToken).toThrow(/"YYYY-MM-DD hh:mm".*unknown token "hh"/);
    const unknownZone = () => compileTimeFormat('YYYY-MM-DD', 'Mars/Olympus_Mons');
    expect(unknownZone).toThrow(/"YYYY-MM-DD".*Mars\/Olympus_Mons/);
    try {
      unknownZone();
    } catch (error) {
      expect(error).toBeInstanceOf(CityhubError);
      expect(error).toMatchObject({ format: 'YYYY-MM-DD', zone: 'Mars/Olympus_Mons', retriable: false });
    }
    expect(() => compileTimeFormat('epoch_ms', 'Asia/Shangai')).toThrow(/Asia\/Shangai/);
    expect(() => compileTimeFormat('HH:mm')).toThrow(/needs YYYY/);
    expect(() => compileTimeFormat('YYYYMD')).toThrow(/ambiguous/);
    expect(() => compileTimeFormat('YYYY-MM-DD MM')).toThrow(/repeats/);
  });
});
