import { describe, expect, it } from 'vitest';
import { Rng } from '../../connectors/demo/rng.js';
import { KeyWindow, keyHash } from './key-window.js';

/** What the window promises, written the plain way: the newest `limit` distinct keys, in a Set with an eviction queue. */
class PlainWindow {
  private readonly keys = new Set<string>();
  private readonly order: string[] = [];
  constructor(private readonly limit: number) {}
  seen(key: string): boolean {
    if (this.keys.has(key)) return true;
    if (this.limit === 0) return false;
    this.keys.add(key);
    this.order.push(key);
    if (this.order.length > this.limit) this.keys.delete(this.order.shift()!);
    return false;
  }
}

function compare(limit: number, keys: number, steps: number, seed: number, hash?: (key: string) => number): number {
  const rng = new Rng(seed);
  const window = new KeyWindow(limit, hash);
  const plain = new PlainWindow(limit);
  let repeats = 0;
  for (let step = 0; step < steps; step++) {
    const key = `device-${rng.int(0, keys - 1)}\u0001level`;
    const expected = plain.seen(key);
    if (window.seen(key) !== expected) throw new Error(`step ${step}: ${key} seen=${!expected}, expected ${expected}`);
    if (expected) repeats++;
  }
  expect(window.size).toBe(Math.min(limit, steps - repeats));
  return repeats;
}

describe('KeyWindow', () => {
  it('remembers the newest keys and forgets the oldest first, as a Set with an eviction queue does', () => {
    // Windows smaller and larger than the keys in play, across the table's growth (1,024 slots, doubling).
    for (const [limit, keys] of [
      [1, 3],
      [7, 20],
      [100, 150],
      [600, 2_000],
      [3_000, 2_500],
      [5_000, 40_000],
    ] as const) {
      const repeats = compare(limit, keys, 60_000, limit);
      // The stream must hold both repeats within the window and keys forgotten and seen again.
      expect(repeats).toBeGreaterThan(0);
    }
  });

  it('tells colliding keys apart by their text, and keeps probe runs whole when a key in one is forgotten', () => {
    // Every key in one of four buckets: long probe runs that wrap around the table, and evictions from their middle.
    const fewBuckets = (key: string) => keyHash(key) & 3;
    expect(compare(50, 120, 20_000, 1, fewBuckets)).toBeGreaterThan(0);
    // Homes spread over the whole table, with keys that share the full 32-bit hash.
    const halfCollide = (key: string) => keyHash(key.slice(0, -7));
    expect(compare(300, 900, 20_000, 2, halfCollide)).toBeGreaterThan(0);
    expect(compare(700, 2_000, 20_000, 3, (key) => keyHash(key) & 0x7ff)).toBeGreaterThan(0);
  });

  it('remembers nothing with a window of 0', () => {
    const window = new KeyWindow(0);
    expect([window.seen('a'), window.seen('a')]).toEqual([false, false]);
  });

  it('takes keys of any text: empty, surrogate pairs, separators', () => {
    const window = new KeyWindow(10);
    const keys = ['', '\u0001', '𠀀\u0001', 'a\u0001', '\u0001a'];
    expect(keys.map((key) => window.seen(key))).toEqual([false, false, false, false, false]);
    expect(keys.map((key) => window.seen(key))).toEqual([true, true, true, true, true]);
  });
});
