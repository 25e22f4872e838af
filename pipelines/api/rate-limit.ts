/**
 * A token bucket per API token: `perMinute` requests a minute on average, bursts up to `perMinute`. In memory, per
 * process: a hub behind a load balancer with N API processes allows N times the rate (documented).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one request from the key's bucket: 0 when allowed, else the seconds until one is available. */
  take(key: string, perMinute: number): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: perMinute, at: now };
    const refilled = Math.min(perMinute, bucket.tokens + ((now - bucket.at) * perMinute) / 60_000);
    if (refilled >= 1) {
      this.buckets.set(key, { tokens: refilled - 1, at: now });
      return 0;
    }
    this.buckets.set(key, { tokens: refilled, at: now });
    return Math.ceil(((1 - refilled) * 60_000) / perMinute / 1000);
  }
}
