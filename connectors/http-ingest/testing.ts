import { sign } from './signature.js';

/** A secret long enough for the config (tests and the measurement only). */
export const TEST_SECRET = 'webhook-secret-0123456789abcdef';

/** Headers of a request signed the way the default config expects. */
export function signedHeaders(
  body: string | Buffer,
  options: { secret?: string; timestampS?: number; keyId?: string } = {},
): Record<string, string> {
  const timestamp = String(options.timestampS ?? Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'x-timestamp': timestamp,
    'x-signature': sign(options.secret ?? TEST_SECRET, timestamp, body),
    ...(options.keyId ? { 'x-key-id': options.keyId } : {}),
  };
}
