import { createHmac } from 'node:crypto';

/**
 * A keyed hash of a personal identifier (a caller's phone, an ID number): HMAC-SHA256 with a key from the
 * environment. Joinable across records while the key stays the same, and not reversible without the key — a plain
 * salted SHA-256 of an 11-digit phone is brute-forced in minutes by anyone holding the salt. The key id travels with
 * every hash so the key can rotate: hashes made under different keys are told apart, never compared.
 */
export interface HashKey {
  id: string;
  key: string;
}

/**
 * Written into masked payloads in place of the clear value: `hmac-sha256:<key id>:<64 hex>`. Unanchored, as text: the
 * bulk path's SQL (mapping/bulk-sql.ts) matches the same pattern with RE2, whose syntax for it is the same.
 */
export const HASH_TOKEN_PATTERN = 'hmac-sha256:([A-Za-z0-9_.-]{1,32}):([0-9a-f]{64})';
const TOKEN = new RegExp(`^${HASH_TOKEN_PATTERN}$`);

/** Spaces, dashes and a +86 country prefix are presentation, not identity. */
function canonical(value: string): string {
  const compact = value.replace(/[\s()（）-]/g, '');
  return /^\+?86\d{11}$/.test(compact) ? compact.slice(-11) : compact;
}

export function keyedHash(key: HashKey, value: string): string {
  return createHmac('sha256', key.key).update(canonical(value)).digest('hex');
}

export function hashToken(key: HashKey, value: string): string {
  return `hmac-sha256:${key.id}:${keyedHash(key, value)}`;
}

/** The hash and key id of a token, or undefined when `value` is not one. */
export function parseHashToken(value: unknown): { keyId: string; hash: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TOKEN.exec(value);
  return match ? { keyId: match[1]!, hash: match[2]! } : undefined;
}
