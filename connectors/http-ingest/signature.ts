import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureConfig } from './config.js';

/** Why a request's signature was refused: the status it gets and the reason sent back (never the secret). */
export interface SignatureRefusal {
  status: 401 | 403;
  reason: string;
}

/** A verified request: its replay-cache entry, remembered once the request's records are durable. */
export interface SignatureAccepted {
  replayKey: string;
  expiresAtMs: number;
}

/** Header values as Node gives them (a repeated header is an array). */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * Checks a signed request: HMAC-SHA256 over `<timestamp>.<body>` with the key its key id names, compared in constant
 * time, the timestamp within the window, and the timestamp+signature not already used (ReplayCache). Secrets stay in
 * this object; nothing here logs.
 */
export class SignatureVerifier {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly onlyKey: Buffer | undefined;
  private readonly replays: ReplayCache;
  private readonly header: string;
  private readonly timestampHeader: string;
  private readonly keyIdHeader: string;

  constructor(
    private readonly config: SignatureConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new Map(Object.entries(config.keys).map(([id, secret]) => [id, Buffer.from(secret, 'utf8')]));
    this.onlyKey = this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
    this.replays = new ReplayCache(config.replay_cache_entries);
    // Node lower-cases incoming header names.
    this.header = config.header.toLowerCase();
    this.timestampHeader = config.timestamp_header.toLowerCase();
    this.keyIdHeader = config.key_id_header.toLowerCase();
  }

  verify(headers: RequestHeaders, body: Buffer): SignatureRefusal | SignatureAccepted {
    const signature = single(headers[this.header]);
    const timestamp = single(headers[this.timestampHeader]);
    if (signature === undefined) return { status: 401, reason: `missing ${this.config.header} header` };
    if (timestamp === undefined) return { status: 401, reason: `missing ${this.config.timestamp_header} header` };
    const keyId = single(headers[this.keyIdHeader]);
    const key = keyId === undefined ? this.onlyKey : this.keys.get(keyId);
    if (key === undefined)
      return keyId === undefined
        ? { status: 401, reason: `missing ${this.config.key_id_header} header (several keys are configured)` }
        : { status: 403, reason: `unknown key id` };
    if (!/^\d{1,12}$/.test(timestamp))
      return { status: 401, reason: `${this.config.timestamp_header} is not epoch seconds` };
    const signedAtMs = Number(timestamp) * 1000;
    const windowMs = this.config.window_s * 1000;
    const nowMs = this.now();
    if (Math.abs(nowMs - signedAtMs) > windowMs)
      return { status: 401, reason: `timestamp outside the ${this.config.window_s} s replay window` };
    if (!signature.startsWith(this.config.prefix))
      return { status: 401, reason: `signature does not start with "${this.config.prefix}"` };
    const hex = signature.slice(this.config.prefix.length);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) return { status: 401, reason: 'signature is not 64 hex digits' };
    const expected = createHmac('sha256', key).update(timestamp).update('.').update(body).digest();
    if (!timingSafeEqual(expected, Buffer.from(hex, 'hex'))) return { status: 401, reason: 'signature mismatch' };
    const replayKey = `${timestamp}.${hex.toLowerCase()}`;
    if (!this.replays.claim(replayKey, nowMs)) return { status: 401, reason: 'replayed request' };
    return { replayKey, expiresAtMs: signedAtMs + windowMs };
  }

  /** The request's records are durable: its signature may not be used again within the window. */
  remember(accepted: SignatureAccepted): void {
    this.replays.confirm(accepted.replayKey, accepted.expiresAtMs);
  }

  /** The request failed before anything was durable: the sender may retry it with the same signature. */
  forget(accepted: SignatureAccepted): void {
    this.replays.release(accepted.replayKey);
  }

  get replayCacheSize(): number {
    return this.replays.size;
  }

  get replayCacheEvictions(): number {
    return this.replays.evictions;
  }
}

/** The signature of a request, as a sender computes it: for senders, tests and the measurement. */
export function sign(secret: string, timestamp: string, body: Buffer | string, prefix = 'sha256='): string {
  return prefix + createHmac('sha256', secret).update(timestamp).update('.').update(body).digest('hex');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Marks a claimed signature whose request is still being appended: a concurrent copy of it is refused too. */
const IN_FLIGHT = Number.POSITIVE_INFINITY;

/**
 * The signatures used within the replay window, bounded: entries in insertion order (about the order of their
 * timestamps), expired ones swept from the front on each claim, the oldest forgotten first when full.
 */
export class ReplayCache {
  private readonly expiries = new Map<string, number>();
  evictions = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.expiries.size;
  }

  /** Takes the key for a request in flight; false when it is taken (in flight, or used and not yet expired). */
  claim(key: string, nowMs: number): boolean {
    this.sweep(nowMs);
    const expiry = this.expiries.get(key);
    if (expiry !== undefined && expiry >= nowMs) return false;
    if (expiry !== undefined) this.expiries.delete(key);
    if (this.expiries.size >= this.capacity) {
      // Full of live entries: forgetting the oldest weakens replay protection for that one only, memory stays bounded.
      const oldest = this.expiries.keys().next().value as string;
      this.expiries.delete(oldest);
      this.evictions++;
    }
    this.expiries.set(key, IN_FLIGHT);
    return true;
  }

  confirm(key: string, expiresAtMs: number): void {
    if (this.expiries.has(key)) this.expiries.set(key, expiresAtMs);
  }

  release(key: string): void {
    if (this.expiries.get(key) === IN_FLIGHT) this.expiries.delete(key);
  }

  private sweep(nowMs: number): void {
    // Bounded work per claim: a few expired entries at the front go each time.
    let budget = 8;
    for (const [key, expiry] of this.expiries) {
      if (expiry >= nowMs || budget-- === 0) return;
      this.expiries.delete(key);
    }
  }
}
