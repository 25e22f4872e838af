import { keyedHash } from '../privacy/keyed-hash.js';

export { scrubAll as scrubText } from '../privacy/masker.js';
export { scrubPersonalText } from '../privacy/personal-text.js';

/** Keyed hash (HMAC-SHA256) of a personal identifier with the hub's key: see pipelines/privacy/keyed-hash.ts. */
export function hashPersonal(key: string, value: string): string {
  return keyedHash({ id: '', key }, value);
}
