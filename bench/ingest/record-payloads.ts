/**
 * The payloads of a feed that sends one record per message (sensor, video, hotline): each slot a valid record, an
 * invalid one of a kind, or an exact re-send of a recent valid message.
 */
import {
  DUPLICATE_RATE,
  INVALID_RATE,
  type InvalidKind,
  invalidKinds,
  invalidReasons,
  PayloadBuilder,
  type PayloadSet,
  seededRandom,
  truncated,
} from './payload-set.js';

/** A record feed's slot: a valid record, an invalid one of a kind, or an exact re-send of a recent valid one. */
type Slot = 'valid' | 'duplicate' | InvalidKind;

function slotOf(random: () => number): Slot {
  const r = random();
  if (r < INVALID_RATE) return invalidKinds[Math.floor((r / INVALID_RATE) * invalidKinds.length)]!;
  if (r < INVALID_RATE + DUPLICATE_RATE) return 'duplicate';
  return 'valid';
}

/** The last few valid messages, to re-send one as an exact duplicate (well inside the dedupe window). */
class RecentMessages {
  private readonly ring = new Uint32Array(1024);
  private size = 0;
  private next = 0;

  remember(index: number): void {
    this.ring[this.next] = index;
    this.next = (this.next + 1) % this.ring.length;
    this.size = Math.min(this.size + 1, this.ring.length);
  }

  /** One of them at random, or undefined before the first. */
  pick(random: () => number): number | undefined {
    return this.size === 0 ? undefined : this.ring[Math.floor(random() * this.size)];
  }
}

/** How a feed writes record `i`: valid, or invalid of a kind (a malformed line is cut from a valid one). */
export type RecordMaker = (
  i: number,
  kind: 'valid' | Exclude<InvalidKind, 'json'>,
  random: () => number,
) => { value: string; key: string };

/**
 * `count` messages of a feed that sends one record per message (sensor, video, hotline): ~1% invalid (of a kind drawn
 * at random), ~1% exact re-sends of a recent valid message, the rest valid; each counted as docs/feeds.md says.
 */
export function recordPayloads(count: number, seed: number, bytesHint: number, make: RecordMaker): PayloadSet {
  const random = seededRandom(seed);
  const builder = new PayloadBuilder(count * bytesHint);
  const recent = new RecentMessages();
  for (let i = 0; i < count; i++) {
    const slot = slotOf(random);
    const original = slot === 'duplicate' ? recent.pick(random) : undefined;
    if (original !== undefined) {
      builder.repeat(original);
      builder.deadLetter('duplicate', 1);
    } else if (slot === 'valid' || slot === 'duplicate') {
      const { value, key } = make(i, 'valid', random);
      recent.remember(builder.add(value, key));
      builder.land(1);
    } else {
      const { value, key } = make(i, slot === 'json' ? 'valid' : slot, random);
      builder.add(slot === 'json' ? truncated(value) : value, key);
      builder.deadLetter(invalidReasons[slot], 1);
    }
  }
  return builder.finish();
}
