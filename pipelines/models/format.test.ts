import { describe, expect, it } from 'vitest';
import { displayWidth, formatRows } from './format.js';
import type { QueryResult } from './query.js';

const result: QueryResult = {
  columns: ['region_code', 'name', 'rate', 'failed', 'ok'],
  rows: [
    ['330102', '上城区', 0.5, ['no_closed_loop'], true],
    ['330106', 'say "hi", then\nleave', null, [], null],
  ],
};

describe('formatRows', () => {
  it('table: aligns columns by display width (CJK counts double), right-aligns numbers and spells out NULL', () => {
    expect(formatRows(result, 'table')).toBe(
      [
        'region_code | name                 | rate | failed             | ok',
        '------------+----------------------+------+--------------------+-----',
        '330102      | 上城区               |  0.5 | ["no_closed_loop"] | true',
        '330106      | say "hi", then↵leave | NULL | []                 | NULL',
        '(2 rows)',
        '',
      ].join('\n'),
    );
    expect(displayWidth('上城区')).toBe(6);
  });

  it('csv: RFC 4180 with a header, quoting only where needed, NULL as an empty field', () => {
    expect(formatRows(result, 'csv')).toBe(
      [
        'region_code,name,rate,failed,ok',
        '330102,上城区,0.5,"[""no_closed_loop""]",true',
        '330106,"say ""hi"", then\nleave",,[],',
        '',
      ].join('\r\n'),
    );
  });

  it('json: an array of row objects keeping types', () => {
    expect(JSON.parse(formatRows(result, 'json'))).toEqual([
      { region_code: '330102', name: '上城区', rate: 0.5, failed: ['no_closed_loop'], ok: true },
      { region_code: '330106', name: 'say "hi", then\nleave', rate: null, failed: [], ok: null },
    ]);
  });

  it('table: an empty result still shows its header', () => {
    expect(formatRows({ columns: ['a'], rows: [] }, 'table')).toBe('a\n-\n(0 rows)\n');
  });
});
