/**
 * Bearer tokens of the upstream API. Config holds each token's SHA-256, never the token: a token is 32 random bytes
 * (`cityhub api token` makes one), so a plain hash cannot be reversed by guessing, and one hash per request keeps
 * authentication cheap at thousands of requests a second.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface TokenGrant {
  /** Who holds it: named in the audit log and the metrics (the token itself is never logged). */
  id: string;
  /** Region-code prefixes it may read: a row is visible when its region_code starts with one of them. */
  regions: readonly string[];
  /** Indicator codes it may read; `*` for all. */
  indicators: readonly string[];
  /** Its own rate limit, requests per minute. */
  requestsPerMinute: number;
}

export interface TokenConfig {
  id: string;
  sha256: string;
  regions: string[];
  indicators: string[];
  requests_per_minute?: number | undefined;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token (URL-safe base64 of 32 random bytes) and the hash to put in config. */
export function newToken(): { token: string; sha256: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, sha256: tokenHash(token) };
}

export class TokenRegistry {
  private readonly byHash = new Map<string, TokenGrant>();

  constructor(tokens: readonly TokenConfig[], defaultRequestsPerMinute: number) {
    for (const t of tokens) {
      this.byHash.set(t.sha256.toLowerCase(), {
        id: t.id,
        regions: t.regions,
        indicators: t.indicators,
        requestsPerMinute: t.requests_per_minute ?? defaultRequestsPerMinute,
      });
    }
  }

  /** The grant of an `Authorization` header's bearer token; undefined when absent, malformed or unknown. */
  authenticate(authorization: string | undefined): TokenGrant | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (match === null) return undefined;
    return this.byHash.get(tokenHash(match[1]!));
  }
}

/** Whether a grant may read a region: the region is within one of its prefixes. */
export function regionAllowed(grant: TokenGrant, regionCode: string): boolean {
  return grant.regions.some((prefix) => regionCode.startsWith(prefix));
}

export function indicatorAllowed(grant: TokenGrant, code: string): boolean {
  return grant.indicators.includes('*') || grant.indicators.includes(code);
}
