import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { describeIngestPath, ingestPaths } from './ingest-paths.js';
import { loadConfig } from './load.js';
import { preflight } from './preflight.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-ingest-paths-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A config whose sensor feed has a mapping file, and one connector with its own mapping. */
async function paths(landing: Record<string, unknown> = {}) {
  await writeFile(
    join(dir, 'sensor.yaml'),
    stringify({
      dataset: 'sensor_reading',
      fields: {
        device_id: 'id',
        device_type: { const: 'gas_methane' },
        metric: { const: 'methane' },
        value: { path: 'v', type: 'number' },
        unit: { const: '%LEL' },
        observed_at: { path: 't', time: 'epoch_ms' },
        region_code: 'area',
      },
    }),
  );
  await writeFile(
    join(dir, 'by-device.yaml'),
    stringify({
      dataset: 'sensor_reading',
      fields: {
        device_id: 'id',
        device_type: { const: 'gas_methane' },
        metric: { const: 'methane' },
        value: 'v',
        unit: { const: '%LEL' },
        observed_at: { path: 't', type: 'time' },
        region_code: { path: 'id', lookup: 'device_region' },
      },
    }),
  );
  await writeFile(
    join(dir, 'devices.csv'),
    'device_id,device_type,region_code,reporting_interval_s\nM-1,gas_methane,330106,300\n',
  );
  return pathsOf({
    landing,
    mappings: { sensor: 'sensor.yaml' },
    catalogs: { devices: 'devices.csv', data_resources: 'none', scenarios: 'none' },
    connectors: [{ id: 'old-meters', kind: 'raw-files', path: 'inbox', feed: 'sensor', mapping: 'by-device.yaml' }],
  });
}

/** The ingest paths of a config with these keys (besides region and salt), written to the test folder. */
async function pathsOf(config: Record<string, unknown>) {
  const file = join(dir, 'cityhub.yaml');
  await writeFile(file, stringify({ region_code: '330000', privacy: { salt: 'ingest-paths-test-salt' }, ...config }));
  const loaded = loadConfig(file);
  return ingestPaths(loaded, preflight(loaded));
}

describe('config check says which path each mapping takes', () => {
  it('bulk where the mapping compiles to SQL, the record path with the reason elsewhere', async () => {
    const all = await paths();
    const sensor = all.find((p) => p.feed === 'sensor' && p.source === undefined)!;
    expect(sensor).toMatchObject({ bulk: true, mapping: join(dir, 'sensor.yaml') });
    const byDevice = all.find((p) => p.source === 'old-meters')!;
    expect(byDevice).toMatchObject({ bulk: false, reason: 'field region_code: a catalog lookup' });
    expect(describeIngestPath(byDevice)).toBe(
      `  (ingest) sensor from old-meters = record path: field region_code: a catalog lookup  [mapping ${join(dir, 'by-device.yaml')}]`,
    );
    // The hotline's caller hash is read from the token the masker wrote before the bus; departmental deliveries
    // have a code mapping.
    expect(all.find((p) => p.feed === 'hotline')).toMatchObject({ bulk: true });
    expect(all.find((p) => p.feed === 'dept')).toMatchObject({ bulk: false });
  });

  it('personal fields: a keyed hash alone compiles; redacted text and a hash after other steps do not', async () => {
    const hotline = (category: unknown, caller: Record<string, unknown>) => ({
      dataset: 'hotline_case',
      personal: true,
      fields: {
        case_id: 'no',
        received_at: { path: 'at', type: 'time' },
        region_code: 'street',
        category,
        caller_hash: { path: 'phone', personal: 'hash', ...caller },
      },
    });
    const reasons: (string | undefined)[] = [];
    for (const mapping of [
      hotline({ path: 'text', personal: 'redact' }, {}),
      hotline('text', {}),
      hotline('text', { default: '12345' }),
    ]) {
      await writeFile(join(dir, 'hotline.yaml'), stringify(mapping));
      const all = await pathsOf({
        mappings: { hotline: 'hotline.yaml' },
        catalogs: { devices: 'none', data_resources: 'none', scenarios: 'none' },
        connectors: [{ id: 'orders', kind: 'raw-files', path: 'inbox', feed: 'hotline' }],
      });
      const path = all.find((p) => p.feed === 'hotline')!;
      reasons.push(path.bulk ? undefined : path.reason);
    }
    expect(reasons).toEqual([
      'field category: personal data redacted from free text',
      undefined,
      'field caller_hash: a keyed hash read with other steps (default)',
    ]);
  });

  it('landing.bulk: false puts every mapping on the record path', async () => {
    for (const path of await paths({ bulk: false }))
      expect(path).toMatchObject({ bulk: false, reason: 'landing.bulk is off' });
  });
});
