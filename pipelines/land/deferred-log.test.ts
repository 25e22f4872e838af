import { describe, expect, it } from 'vitest';
import { writeDigits } from './deferred-log.js';

describe('writeDigits (the scratch lines’ numbers)', () => {
  it('writes each number as JSON writes it, and says where it ends', () => {
    const numbers = [
      0,
      7,
      9,
      10,
      99,
      100,
      12_345,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 + 5,
      9_999_999_999,
      10 ** 15 - 1,
      10 ** 15,
      2 ** 51 - 1,
      Number.MAX_SAFE_INTEGER,
    ];
    const out = Buffer.alloc(400, 0x20);
    let at = 3;
    for (const n of numbers) {
      at = writeDigits(out, at, n);
      out[at++] = 0x2c;
    }
    expect(out.subarray(3, at - 1).toString('latin1')).toBe(numbers.map(String).join(','));
    expect(out.subarray(0, 3).toString('latin1')).toBe('   ');
    expect(out[at]).toBe(0x20);
  });
});
