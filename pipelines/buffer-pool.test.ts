import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.js';

describe('BufferPool', () => {
  it('hands back the smallest idle buffer large enough, whole even when a view of it was given back', () => {
    const pool = new BufferPool(3);
    const big = pool.take(1000);
    const small = pool.take(100);
    expect(big.length).toBeGreaterThanOrEqual(1000);
    pool.give(big.subarray(0, 10));
    pool.give(small);
    expect(pool.take(50).buffer).toBe(small.buffer);
    const again = pool.take(900);
    expect(again.buffer).toBe(big.buffer);
    expect(again.length).toBe(big.length);
  });

  it('never hands out a buffer twice before it is given back', () => {
    const pool = new BufferPool(2);
    const a = pool.take(64);
    pool.give(a);
    const b = pool.take(64);
    const c = pool.take(64);
    expect(b.buffer).toBe(a.buffer);
    expect(c.buffer).not.toBe(b.buffer);
  });

  it('keeps at most its limit of idle buffers, preferring the largest', () => {
    const pool = new BufferPool(1);
    const small = pool.take(10);
    const large = pool.take(10_000);
    pool.give(small);
    pool.give(large);
    expect(pool.take(5).buffer).toBe(large.buffer);
    expect(pool.take(5).buffer).not.toBe(small.buffer);
  });
});
