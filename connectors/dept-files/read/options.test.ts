import { describe, expect, it } from 'vitest';
import { fileReadOptions } from './options.js';

describe('file read options', () => {
  it('default to utf8, header row 1, comma, 1 MiB rows; accept header_row auto; refuse unknown keys and a sheet outside xlsx', () => {
    expect(fileReadOptions.parse({ format: 'csv' })).toEqual({
      format: 'csv',
      encoding: 'utf8',
      header_row: 1,
      delimiter: ',',
      max_row_bytes: 1024 * 1024,
    });
    expect(fileReadOptions.parse({ format: 'xlsx', header_row: 'auto', sheet: '数据' })).toMatchObject({
      header_row: 'auto',
    });
    expect(fileReadOptions.safeParse({ format: 'csv', sheet: '数据' }).error?.issues[0]?.path).toEqual(['sheet']);
    expect(fileReadOptions.safeParse({ format: 'csv', encodng: 'gbk' }).success).toBe(false);
    expect(fileReadOptions.safeParse({ format: 'csv', delimiter: '"' }).success).toBe(false);
  });
});
