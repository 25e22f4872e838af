/** `cityhub api token`: a new bearer token for an upper tier, and the config entry that grants it (its hash only). */
import { parseArgs } from 'node:util';
import { newToken } from '../api/tokens.js';
import { UsageError } from '../errors.js';

export async function commandApi(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { id: { type: 'string' }, regions: { type: 'string' }, indicators: { type: 'string', default: '*' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1 || positionals[0] !== 'token') throw new UsageError('expected `cityhub api token`');
  const id = values.id ?? '';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
    throw new UsageError('--id names the token holder: letters, digits, . _ - (up to 64)');
  }
  const regions = (values.regions ?? '').split(',').filter((r) => r !== '');
  if (regions.length === 0 || regions.some((r) => !/^\d{2,6}$/.test(r))) {
    throw new UsageError('--regions lists region-code prefixes of 2 to 6 digits, e.g. 33 or 3301,3302');
  }
  const indicators = values.indicators!.split(',').filter((c) => c !== '');
  if (indicators.length === 0 || indicators.some((c) => !/^(\*|[A-Za-z0-9_.-]{1,64})$/.test(c))) {
    throw new UsageError('--indicators lists indicator codes, or * for all');
  }
  const { token, sha256 } = newToken();
  out(`token (shown once, stored nowhere): ${token}`);
  out('config entry (api.tokens):');
  out(`  - id: ${id}`);
  out(`    sha256: ${sha256}`);
  out(`    regions: [${regions.map((r) => `"${r}"`).join(', ')}]`);
  out(`    indicators: [${indicators.map((c) => `"${c}"`).join(', ')}]`);
  return 0;
}
