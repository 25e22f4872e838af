import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../errors.js';
import { loadConfig } from './load.js';
import { preflight } from './preflight.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-preflight-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const demoConnector = { id: 'demo', kind: 'demo', live: false };
const rawFiles = { id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor' };

async function configFile(overrides: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'cityhub.yaml');
  await writeFile(
    file,
    stringify({
      region_code: '330000',
      privacy: { salt: 'preflight-test-salt' },
      connectors: [demoConnector],
      ...overrides,
    }),
  );
  return file;
}

async function issuesOf(overrides: Record<string, unknown>): Promise<Map<string, string>> {
  const loaded = loadConfig(await configFile(overrides));
  try {
    preflight(loaded);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return new Map((error as ConfigError).issues.map((i) => [i.path, i.expected]));
  }
  throw new Error('expected preflight to reject the config');
}

describe('preflight rejects what `run` would reject, naming the key', () => {
  it('a cron schedule node-cron does not accept', async () => {
    const issues = await issuesOf({ models: { schedule: '61 * * * *' } });
    expect(issues.get('models.schedule')).toMatch(/cron expression.*61 is a invalid expression for minute/);
  });

  it('a data_dir that is a file', async () => {
    await writeFile(join(dir, 'data'), 'not a folder');
    expect((await issuesOf({ data_dir: 'data' })).get('data_dir')).toMatch(/data is a file/);
  });

  it('a data_dir below a file', async () => {
    await writeFile(join(dir, 'data'), 'not a folder');
    expect((await issuesOf({ data_dir: 'data/hub' })).get('data_dir')).toMatch(/data is a file, not a folder/);
  });

  it('a region_code absent from the region catalog', async () => {
    expect((await issuesOf({ region_code: '110000' })).get('region_code')).toMatch(/in the region catalog/);
  });

  it('duplicate connector ids, naming the second one', async () => {
    const issues = await issuesOf({ connectors: [demoConnector, { ...rawFiles, id: 'demo' }] });
    expect(issues.get('connectors[1].id')).toMatch(/connectors\[0\] is also "demo"/);
  });

  it('bus.type kafka with lake.type s3 passes (brokers as one comma-separated string too); a bus.tls file it cannot read is named', async () => {
    const kafka = { type: 'kafka', brokers: 'kafka-1:9092, kafka-2:9092' };
    const loaded = loadConfig(await configFile({ bus: kafka, lake: { type: 's3', bucket: 'city-lake' } }));
    expect(() => preflight(loaded)).not.toThrow();
    expect(loaded.config.bus).toMatchObject({ brokers: ['kafka-1:9092', 'kafka-2:9092'] });
    const issues = await issuesOf({ bus: { ...kafka, tls: { ca_file: 'missing-ca.pem' } } });
    expect(issues.get('bus.tls.ca_file')).toMatch(/missing-ca\.pem cannot be read \(ENOENT\)/);
  });

  it('a broker that is not host:port is refused at its key', async () => {
    const file = await configFile({ bus: { type: 'kafka', brokers: ['kafka://kafka:9092'] } });
    expect(() => loadConfig(file)).toThrow(/bus\.brokers.*host:port/s);
  });

  it('a catalog file that does not load, with its file, line and field', async () => {
    const regions = join(dir, 'regions.csv');
    await writeFile(regions, 'code,name,level,parent_code\n330000,浙江省,province,\n330106,西湖区,county,330000\n');
    const issues = await issuesOf({ catalogs: { regions } });
    expect(issues.get('catalogs.regions')).toContain(`${regions}:3 field level`);
  });

  it('lists every problem at once and writes nothing', async () => {
    const issues = await issuesOf({ region_code: '110000', models: { schedule: 'hourly' }, data_dir: 'data' });
    expect([...issues.keys()].sort()).toEqual(['models.schedule', 'region_code']);
    expect(await readdir(dir)).toEqual(['cityhub.yaml']);
  });
});

describe('catalog sources: configured, explicitly empty, or provided by a configured connector — never a fallback', () => {
  it('a config whose connectors provide no device registry must configure one', async () => {
    const issues = await issuesOf({
      connectors: [rawFiles],
      catalogs: { data_resources: 'none', scenarios: 'none' },
    });
    expect(issues.get('catalogs.devices')).toMatch(/"none" for an explicitly empty catalog/);
    expect([...issues.keys()]).toEqual(['catalogs.devices']);
  });

  it('`catalogs.devices: none` is an explicitly empty registry', async () => {
    const loaded = loadConfig(
      await configFile({
        connectors: [rawFiles],
        catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
      }),
    );
    expect(preflight(loaded).catalogSources).toEqual({
      regions: { kind: 'bundled', path: expect.stringMatching(/regions\.csv$/) },
      data_resources: { kind: 'empty' },
      scenarios: { kind: 'empty' },
      devices: { kind: 'empty' },
    });
  });

  it('the demo connector is the source of the catalogs it generates; a configured file wins over it', async () => {
    const devices = join(dir, 'devices.csv');
    await writeFile(devices, 'device_id,device_type,region_code,reporting_interval_s\nGAS-1,gas_methane,330106,300\n');
    const checked = preflight(loadConfig(await configFile({ catalogs: { devices } })));
    expect(checked.catalogSources.scenarios).toEqual({ kind: 'connector', connectorId: 'demo' });
    expect(checked.catalogSources.devices).toEqual({ kind: 'file', path: devices });
    expect(checked.catalogs.devices).toHaveLength(1);
  });

  it('two connectors providing the same catalog must be disambiguated', async () => {
    const issues = await issuesOf({ connectors: [demoConnector, { ...demoConnector, id: 'demo2' }] });
    expect(issues.get('catalogs.devices')).toMatch(/demo, demo2 all provide devices/);
  });

  it('the region catalog cannot be empty', async () => {
    expect((await issuesOf({ catalogs: { regions: 'none' } })).get('catalogs.regions')).toMatch(/cannot be empty/);
  });
});

describe('preflight warns about what weakens a guarantee (issue 6 item 8)', () => {
  it('names the data resources that declare no fields, and none when every resource declares them', async () => {
    const resource = (code: string, fields?: unknown) => ({
      resource_code: code,
      name: `资源${code}`,
      department_code: '330106-SJ',
      region_code: '330106',
      share_type: 'unconditional',
      update_frequency: 'daily',
      ...(fields ? { fields } : {}),
    });
    await writeFile(
      join(dir, 'resources.json'),
      JSON.stringify([resource('R1', [{ name: '日期', type: 'date', required: true }]), resource('R2')]),
    );
    const loaded = loadConfig(await configFile({ catalogs: { data_resources: 'resources.json' } }));
    expect(preflight(loaded).warnings).toEqual([expect.stringMatching(/1 resource\(s\) declare no fields \(R2\)/)]);

    await writeFile(join(dir, 'resources.json'), JSON.stringify([resource('R1', [{ name: '日期', type: 'date' }])]));
    expect(preflight(loadConfig(join(dir, 'cityhub.yaml'))).warnings).toEqual([]);
  });

  it('reads declared fields from a CSV catalog cell holding JSON, and refuses a code field without a pattern', async () => {
    const header = 'resource_code,name,department_code,region_code,share_type,update_frequency,fields';
    const fields = JSON.stringify([{ name: '代码', type: 'code', pattern: '[A-Z]{2}\\d{4}' }]).replaceAll('"', '""');
    await writeFile(
      join(dir, 'resources.csv'),
      `${header}\nR1,资源,330106-SJ,330106,unconditional,daily,"${fields}"\n`,
    );
    const loaded = loadConfig(await configFile({ catalogs: { data_resources: 'resources.csv' } }));
    expect(preflight(loaded).warnings).toEqual([]);

    const bad = JSON.stringify([{ name: '代码', type: 'code' }]).replaceAll('"', '""');
    await writeFile(join(dir, 'resources.csv'), `${header}\nR1,资源,330106-SJ,330106,unconditional,daily,"${bad}"\n`);
    expect((await issuesOf({ catalogs: { data_resources: 'resources.csv' } })).get('catalogs.data_resources')).toMatch(
      /pattern/,
    );
  });
});

describe('sensor-mqtt tls files and weak options (issue 8)', () => {
  const mqtt = (extra: Record<string, unknown>) => ({
    catalogs: { data_resources: 'none', scenarios: 'none', devices: 'none' },
    connectors: [
      {
        id: 'sensors',
        kind: 'sensor-mqtt',
        url: 'mqtts://broker.city:8883',
        client_id: 'hub',
        topics: ['city/#'],
        ...extra,
      },
    ],
  });

  it('rejects a tls file that cannot be read or is not PEM, naming the key and the file resolved against the config', async () => {
    await writeFile(join(dir, 'client.pem'), 'not a certificate');
    const issues = await issuesOf(
      mqtt({ tls: { ca_file: 'certs/ca.pem', cert_file: 'client.pem', key_file: 'client.pem' } }),
    );
    expect(issues.get('connectors[0].tls.ca_file')).toBe(
      `a readable PEM file (${join(dir, 'certs/ca.pem')} cannot be read (ENOENT))`,
    );
    // The first unusable file is named; the others are checked once it is fixed.
    await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
    const next = await issuesOf(mqtt({ tls: { ca_file: 'ca.pem', cert_file: 'client.pem', key_file: 'client.pem' } }));
    expect(next.get('connectors[0].tls.cert_file')).toMatch(/client\.pem holds no PEM block/);
  });

  it('warns about qos 0 and tls.reject_unauthorized false', async () => {
    const loaded = loadConfig(await configFile(mqtt({ qos: 0, tls: { reject_unauthorized: false } })));
    expect(preflight(loaded).warnings).toEqual([
      expect.stringMatching(/connectors\[0\]\.qos: 0 .*lost at a crash/),
      expect.stringMatching(/connectors\[0\]\.tls\.reject_unauthorized: false .*not authenticated/),
    ]);
  });
});

describe('lake.type s3', () => {
  const s3 = { type: 's3', bucket: 'city-lake', endpoint: 'http://127.0.0.1:9', prefix: 'hz/lake' };

  it('is accepted with keys from the environment (the endpoint is not contacted), without a warning', async () => {
    await configFile({
      lake: { ...s3, access_key_id: '${CITYHUB_S3_KEY_ID}', secret_access_key: '${CITYHUB_S3_SECRET}' },
    });
    const loaded = loadConfig(join(dir, 'cityhub.yaml'), {
      CITYHUB_S3_KEY_ID: 'AKIAHZ',
      CITYHUB_S3_SECRET: 'hz-secret',
    });
    expect(preflight(loaded).warnings.filter((w) => w.startsWith('lake.'))).toEqual([]);
  });

  it("is accepted without keys (the AWS SDK's default chain)", async () => {
    await configFile({ lake: s3 });
    expect(preflight(loadConfig(join(dir, 'cityhub.yaml'))).warnings).toEqual([]);
  });

  it('refuses a secret without its key id, and a key id without its secret, naming both keys', async () => {
    const noKeyId = await issuesOf({ lake: { ...s3, secret_access_key: '${CITYHUB_S3_SECRET:-x}' } });
    expect(noKeyId.get('lake.access_key_id')).toMatch(/lake\.access_key_id beside lake\.secret_access_key/);
    const noSecret = await issuesOf({ lake: { ...s3, access_key_id: 'AKIAHZ' } });
    expect(noSecret.get('lake.secret_access_key')).toMatch(/lake\.secret_access_key beside lake\.access_key_id/);
  });

  it('warns, without showing them, about keys written into the file instead of ${ENV_VAR} references', async () => {
    await configFile({ lake: { ...s3, access_key_id: 'AKIAHZLITERAL', secret_access_key: 'literal-secret-hz' } });
    const warnings = preflight(loadConfig(join(dir, 'cityhub.yaml'))).warnings;
    expect(warnings).toEqual([
      expect.stringMatching(/^lake\.access_key_id is written in the config file as a literal.*\$\{ENV_VAR\}/),
      expect.stringMatching(/^lake\.secret_access_key is written in the config file as a literal/),
    ]);
    expect(warnings.join('\n')).not.toMatch(/AKIAHZLITERAL|literal-secret-hz/);
  });

  it('a lake.cache_dir that is a file', async () => {
    await writeFile(join(dir, 'cache'), 'not a folder');
    expect((await issuesOf({ lake: { ...s3, cache_dir: 'cache' } })).get('lake.cache_dir')).toMatch(/cache is a file/);
  });
});
