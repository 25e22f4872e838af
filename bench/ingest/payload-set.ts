/**
 * What every feed's payload generator builds: the messages of one bench run written straight into one buffer (NDJSON,
 * so the DuckDB reference reads the same bytes as they are), their keys into another, and what the pipeline must make
 * of them (records sent, landed, dead-lettered per reason), tallied as they are written, so no per-message object is
 * ever held. Generation is deterministic for a seed and a run time.
 */

/** The messages, their keys and the outcome the counting rules (docs/feeds.md "Counting") promise for them. */
export interface PayloadSet {
  /** Message i: bytes [offsets[4i], offsets[4i+1]) of `ndjson`; its key: [offsets[4i+2], offsets[4i+3]) of `keys`. */
  ndjson: Buffer;
  keys: Buffer;
  offsets: Uint32Array;
  messages: number;
  expected: Expected;
}

/** Records as the pipeline counts them: sent = landed + dead-lettered, the dead letters per reason_code. */
export interface Expected {
  sent: number;
  landed: number;
  deadLettered: number;
  reasons: Record<string, number>;
}

/** What the run's time and the seed fix: the same pair gives the same bytes. */
export interface GenerateOptions {
  seed: number;
  /** The run's time (epoch ms): event times lie before it, within the last 30 days. */
  now: number;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Event times are drawn in [now − 30 days, now − 1 hour]: never in the future, never before min_event_time. */
export const WINDOW_MS = 30 * DAY_MS;
export const WINDOW_END_MS = HOUR_MS;

/** The share of messages (record feeds) or records (dept) generated invalid, and sent again. */
export const INVALID_RATE = 0.01;
export const DUPLICATE_RATE = 0.01;

/** The kinds of invalid record every feed generates, with the reason_code the pipeline must give each. */
export const invalidReasons = {
  /** Fails the canonical schema, e.g. a number sent as text. */
  schema: 'invalid',
  /** A region code that is not in the region catalog. */
  region: 'unknown_region',
  /** A line cut short: not JSON. */
  json: 'malformed_json',
  /** An event time outside the plausible range (before 2000, or days ahead). */
  time: 'implausible_time',
} as const;
export type InvalidKind = keyof typeof invalidReasons;
export const invalidKinds = Object.keys(invalidReasons) as InvalidKind[];

/** mulberry32: a small seeded PRNG, so every run of a seed sends the same payloads. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Event times of `count` messages sent at `perHour` messages an hour of event time, message order = time order, the
 * last an hour before the run: each message its own time, all within the last 30 days (squeezed to fit when the rate
 * would reach further back).
 */
export function timeline(count: number, perHour: number, now: number): (i: number) => number {
  const step = Math.min(HOUR_MS / perHour, (WINDOW_MS - WINDOW_END_MS) / Math.max(1, count));
  const last = now - WINDOW_END_MS;
  return (i) => Math.round(last - (count - 1 - i) * step);
}

/** An implausible event time: before 2000 or three days ahead of the run (min_event_time, max_future_skew_ms). */
export function implausibleTime(random: () => number, now: number): number {
  return random() < 0.5 ? Date.UTC(1999, 11, 31) - Math.floor(random() * 365 * DAY_MS) : now + 3 * DAY_MS;
}

/** Asia/Shanghai local time `YYYY-MM-DD HH:mm:ss`, as the demo vendors send it. */
export function shanghaiLocal(ms: number): string {
  return new Date(ms + 8 * HOUR_MS).toISOString().replace('T', ' ').slice(0, 19);
}

/** JSON text cut short: the malformed line of a feed (never a newline in it, never valid JSON). */
export function truncated(json: string): string {
  return json.slice(0, Math.max(1, json.length - 7));
}

/** Appends messages and tallies what they must come to. */
export class PayloadBuilder {
  private body: Buffer;
  private at = 0;
  private keyBytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private keyAt = 0;
  private offsets = new Uint32Array(4 * 1024);
  private count = 0;
  readonly expected: Expected = { sent: 0, landed: 0, deadLettered: 0, reasons: {} };

  constructor(bytesHint: number) {
    this.body = Buffer.allocUnsafe(Math.max(1 << 16, bytesHint));
  }

  /** Appends a message (one NDJSON line); returns its index. */
  add(value: string, key: string): number {
    this.reserve(value.length * 3 + 1);
    const start = this.at;
    this.at += this.body.write(value, start);
    return this.close(start, key);
  }

  /** Appends the exact bytes and key of message `index` again; returns the new message's index. */
  repeat(index: number): number {
    const o = this.offsets;
    const start = o[4 * index]!;
    const end = o[4 * index + 1]!;
    this.reserve(end - start + 1);
    const at = this.at;
    this.at += this.body.copy(this.body, at, start, end);
    return this.close(at, this.keyBytes.toString('utf8', o[4 * index + 2]!, o[4 * index + 3]!));
  }

  /** `records` records that must land. */
  land(records: number): void {
    this.expected.sent += records;
    this.expected.landed += records;
  }

  /** `records` records that must be dead-lettered with `reason`. */
  deadLetter(reason: string, records: number): void {
    if (records === 0) return;
    this.expected.sent += records;
    this.expected.deadLettered += records;
    this.expected.reasons[reason] = (this.expected.reasons[reason] ?? 0) + records;
  }

  finish(): PayloadSet {
    return {
      ndjson: this.body.subarray(0, this.at),
      keys: this.keyBytes.subarray(0, this.keyAt),
      offsets: this.offsets.subarray(0, 4 * this.count),
      messages: this.count,
      expected: this.expected,
    };
  }

  private close(start: number, key: string): number {
    const end = this.at;
    this.body[this.at++] = 0x0a;
    if (this.keyBytes.length - this.keyAt < key.length * 3)
      this.keyBytes = grown(this.keyBytes, this.keyAt, key.length * 3);
    const keyStart = this.keyAt;
    this.keyAt += this.keyBytes.write(key, keyStart);
    if (this.offsets.length < 4 * (this.count + 1)) {
      const more = new Uint32Array(this.offsets.length * 2);
      more.set(this.offsets);
      this.offsets = more;
    }
    const o = this.offsets;
    const i = 4 * this.count;
    o[i] = start;
    o[i + 1] = end;
    o[i + 2] = keyStart;
    o[i + 3] = this.keyAt;
    return this.count++;
  }

  private reserve(bytes: number): void {
    if (this.body.length - this.at < bytes) this.body = grown(this.body, this.at, bytes);
  }
}

function grown(buffer: Buffer, used: number, needed: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(buffer.length * 2, used + needed));
  buffer.copy(next, 0, 0, used);
  return next;
}
