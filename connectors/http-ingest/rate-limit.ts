import type { RateLimitConfig } from './config.js';

/**
 * A token bucket: `burst` tokens, refilled at `requests_per_s`. take() spends one or says how long until one is
 * there (the Retry-After of a 429).
 */
export class TokenBucket {
  private tokens: number;
  private refilledAtMs: number;
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = config.burst ?? Math.max(1, Math.ceil(config.requests_per_s));
    this.perMs = config.requests_per_s / 1000;
    this.tokens = this.capacity;
    this.refilledAtMs = now();
  }

  /** 0 when a token was taken; otherwise the whole seconds to wait before one is there (at least 1). */
  take(): number {
    const nowMs = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (nowMs - this.refilledAtMs) * this.perMs);
    this.refilledAtMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs / 1000));
  }
}
