/**
 * The natural keys a normalizer remembers for dedupe: the newest `limit` distinct keys, the oldest forgotten first.
 *
 * An open-addressing table of 32-bit hashes over a ring of the keys, not a Set<string>: per record, a Set's insert and
 * eviction cost about 0.75 µs on this kind of machine, this table about 0.3 µs (a million 45-character keys, a window
 * of 200,000). A hash only finds candidates: a key is a duplicate when its text equals a remembered key's.
 */

/** 32-bit FNV-1a over UTF-16 code units, then murmur3's finalizer so the low bits (the table index) are well mixed. */
export function keyHash(key: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** Slots the table starts with; it doubles as keys arrive, so a large window costs memory only once it fills. */
const FIRST_SLOTS = 1024;

export class KeyWindow {
  /** Table of ring positions + 1 (0: empty), linear probing; at most half full. */
  private slots = new Int32Array(FIRST_SLOTS);
  private mask = FIRST_SLOTS - 1;
  /** Ring of remembered keys, in insertion order from `head` once full, and each one's hash. */
  private readonly ring: string[] = [];
  private hashes = new Int32Array(16);
  private head = 0;

  /** `hash` is for tests that need colliding keys. */
  constructor(
    private readonly limit: number,
    private readonly hash: (key: string) => number = keyHash,
  ) {}

  get size(): number {
    return this.ring.length;
  }

  /** True when the key was seen before; remembers it otherwise. */
  seen(key: string): boolean {
    if (this.limit === 0) return false;
    const hash = this.hash(key);
    const slots = this.slots;
    const mask = this.mask;
    let i = hash & mask;
    for (let slot = slots[i]!; slot !== 0; slot = slots[i]!) {
      if (this.hashes[slot - 1] === hash && this.ring[slot - 1] === key) return true;
      i = (i + 1) & mask;
    }
    if (this.ring.length === this.limit) {
      this.evict(this.head);
      this.place(this.head, key, hash);
      this.head = this.head + 1 === this.limit ? 0 : this.head + 1;
    } else {
      this.place(this.ring.length, key, hash);
      if (this.ring.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    }
    return false;
  }

  private place(position: number, key: string, hash: number): void {
    if (position === this.hashes.length) {
      const hashes = new Int32Array(Math.min(this.hashes.length * 2, this.limit));
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.ring[position] = key;
    this.hashes[position] = hash;
    let i = hash & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = position + 1;
  }

  /** Empties the slot of the key at a ring position, shifting later keys of its probe run back (no tombstones). */
  private evict(position: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let hole = this.hashes[position]! & mask;
    while (slots[hole] !== position + 1) hole = (hole + 1) & mask;
    for (let i = (hole + 1) & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const home = this.hashes[slots[i]! - 1]! & mask;
      // The key at i may fill the hole unless its home lies cyclically after the hole, up to i.
      const homeAfterHole = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (!homeAfterHole) {
        slots[hole] = slots[i]!;
        hole = i;
      }
    }
    slots[hole] = 0;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let position = 0; position < this.ring.length; position++) {
      let i = this.hashes[position]! & this.mask;
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = position + 1;
    }
  }
}
