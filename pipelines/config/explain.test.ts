import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mappingReference } from '../mapping/spec.js';
import { packageRoot } from '../package-root.js';
import { configKeys, configReference } from './explain.js';

/**
 * Table cells trimmed and header rules shortened: the file may be aligned by the formatter (biome lines tables up)
 * without tripping the check, while any change of a key, type, default or meaning still does.
 */
function canonical(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) return line.trimEnd();
      return line
        .split(/(?<!\\)\|/)
        .map((cell) => (/^\s*-+\s*$/.test(cell) ? '---' : cell.trim()))
        .join('|');
    })
    .join('\n');
}

describe('config reference docs', () => {
  it('docs/config.md says what the schema generates (after a schema change: write configReference() to it, then biome format)', () => {
    const written = readFileSync(join(packageRoot(), 'docs', 'config.md'), 'utf8');
    expect(canonical(written)).toBe(canonical(configReference()));
  });

  it('docs/mapping-keys.md says what the mapping schema generates (npm run docs:config writes both)', () => {
    const written = readFileSync(join(packageRoot(), 'docs', 'mapping-keys.md'), 'utf8');
    expect(canonical(written)).toBe(canonical(mappingReference()));
  });

  it('compares content, not alignment', () => {
    expect(canonical('| a   | b |\n| --- | - |\n| `x` | y \\| z |\n')).toBe(
      canonical('| a | b |\n|---|---|\n| `x` | y \\| z |\n'),
    );
    expect(canonical('| `landing.max_rows` | integer ≥ 1 |')).not.toBe(
      canonical('| `landing.max_rows` | integer ≥ 2 |'),
    );
  });

  it('documents every key a city sets, with its type and default', () => {
    const keys = new Map(configKeys().map((k) => [k.path, k]));
    expect(keys.get('region_code')).toMatchObject({ required: true, type: 'string' });
    expect(keys.get('privacy.hmac_key')?.description).toContain('CITYHUB_HMAC_KEY');
    expect(keys.get('landing.max_rows')).toMatchObject({ type: 'integer ≥ 1', default: 100_000 });
    expect([...keys.keys()]).toEqual(
      expect.arrayContaining([
        'bus (type: "embedded").fsync',
        'bus (type: "kafka").brokers',
        'lake (type: "s3").bucket',
      ]),
    );
  });
});
