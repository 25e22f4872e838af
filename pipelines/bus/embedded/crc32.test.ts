import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('equals zlib.crc32 over any range, on both sides of the size where it hands over to zlib', () => {
    const data = Buffer.alloc(70_000);
    let seed = 7;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      data[i] = seed >>> 16;
    }
    const sizes = [0, 1, 7, 8, 9, 200, 1023, 1024, 1025, 4096, 65_536, 69_990];
    for (const size of sizes) {
      for (const start of [0, 3, 10]) {
        expect(crc32(data, start, start + size), `${size} bytes from ${start}`).toBe(
          zlib.crc32(data.subarray(start, start + size)),
        );
      }
    }
  });
});
