import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { S3LakeStore } from '../land/s3-store.js';
import { packageRoot } from '../package-root.js';
import { describeConfig } from './explain.js';
import { loadConfig } from './load.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(text: string, name = 'cityhub.yaml'): Promise<string> {
  const path = join(dir, name);
  await mkdir(resolve(path, '..'), { recursive: true });
  await writeFile(path, text);
  return path;
}

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** A minimal valid city config (杭州市); tests append or replace keys. */
const minimal = `# 杭州市城市运行管理中心
region_code: "330100"
privacy:
  salt: \${CITYHUB_SALT}
connectors:
  - id: demo
    kind: demo
`;
const env = { CITYHUB_SALT: 'hz-prod-salt-2026' };

describe('the built-in demo config', () => {
  it('loads without any file or environment', () => {
    const loaded = loadConfig(undefined, {});
    expect(loaded.file).toBeUndefined();
    expect(loaded.config).toMatchObject({
      region_code: '330000',
      tier: 'province',
      bus: { type: 'embedded', fsync: 'always' },
      lake: { type: 'local' },
      landing: { max_rows: 100_000, max_payload_bytes: 1024 * 1024, min_event_time: '2000-01-01' },
      privacy: { hmac_key: 'cityhub-demo-key-not-for-production', key_id: 'demo' },
      connectors: [
        {
          id: 'demo',
          kind: 'demo',
          inbox: 'data/demo-inbox',
          wire: {
            mqtt: { host: '127.0.0.1', port: 18830, topic_prefix: 'city/sensors' },
            video_webhook: { url: 'http://127.0.0.1:18080/push/video', secret: 'cityhub-demo-webhook-secret' },
            event_push: { url: 'http://127.0.0.1:18080/push/events' },
            hotline_api: { host: '127.0.0.1', port: 18345 },
          },
        },
        { id: 'sensors', kind: 'sensor-mqtt', url: 'mqtt://127.0.0.1:18830', topics: ['city/sensors/+'], qos: 1 },
        {
          id: 'push',
          kind: 'http-ingest',
          listen: { host: '127.0.0.1', port: 18080 },
          sources: [
            { id: 'video', kind: 'video-webhook', signature: { keys: { demo: 'cityhub-demo-webhook-secret' } } },
            { id: 'events', kind: 'sensor-bulk', feed: 'event' },
          ],
        },
        { id: 'hotline', kind: 'hotline-rest', base_url: 'http://127.0.0.1:18345', path: '/api/orders' },
        { id: 'demo-csv', kind: 'dept-files', source: { path: 'data/demo-inbox/csv' } },
        { id: 'demo-xlsx', kind: 'dept-files', source: { path: 'data/demo-inbox/xlsx' } },
        { id: 'demo-ndjson', kind: 'dept-files', source: { path: 'data/demo-inbox/ndjson' } },
      ],
    });
    expect(loaded.paths).toEqual({
      baseDir: process.cwd(),
      busDir: resolve('data', 'bus'),
      lakeDir: resolve('data', 'lake'),
      lakeCacheDir: resolve('data', 'lake-cache'),
      martsPath: resolve('data', 'marts.duckdb'),
      sqlDir: join(packageRoot(), 'sql'),
      federationDir: resolve('data', 'federation'),
    });
  });

  it('takes the webhook secret shared by the demo and its listener from CITYHUB_DEMO_WEBHOOK_SECRET', () => {
    const { connectors } = loadConfig(undefined, { CITYHUB_DEMO_WEBHOOK_SECRET: 'another-secret-for-the-demo' }).config;
    const demo = connectors.find((c) => c.kind === 'demo');
    const push = connectors.find((c) => c.kind === 'http-ingest');
    expect(demo?.kind === 'demo' && demo.wire?.video_webhook?.secret).toBe('another-secret-for-the-demo');
    expect(push?.kind === 'http-ingest' && push.sources[0]?.signature?.keys).toEqual({
      demo: 'another-secret-for-the-demo',
    });
  });

  it('takes the HMAC key from CITYHUB_HMAC_KEY when it is set', () => {
    expect(loadConfig(undefined, { CITYHUB_HMAC_KEY: 'hz-prod-hmac-key-2026' }).config.privacy.hmac_key).toBe(
      'hz-prod-hmac-key-2026',
    );
  });
});

describe('environment interpolation', () => {
  it('replaces ${VAR} and falls back to ${VAR:-default} when the variable is unset or empty', async () => {
    const path = await configFile(`${minimal}data_dir: \${CITYHUB_DATA_DIR:-/var/lib/cityhub}
lake:
  type: s3
  endpoint: \${MINIO_ENDPOINT:-http://minio:9000}
  bucket: hz-lake
  prefix: hangzhou/\${LAKE_ENV:-prod}/
  access_key_id: \${MINIO_USER}
  secret_access_key: \${MINIO_PASSWORD}
`);
    const loaded = loadConfig(path, {
      ...env,
      MINIO_USER: 'cityhub',
      MINIO_PASSWORD: 'minio-Secret-7q',
      MINIO_ENDPOINT: '',
    });
    expect(loaded.file).toBe(path);
    expect(loaded.config.privacy.salt).toBe('hz-prod-salt-2026');
    expect(loaded.config.data_dir).toBe('/var/lib/cityhub');
    expect(loaded.config.lake).toEqual({
      type: 's3',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      bucket: 'hz-lake',
      prefix: 'hangzhou/prod/',
      access_key_id: 'cityhub',
      secret_access_key: 'minio-Secret-7q',
      force_path_style: true,
      multipart_threshold_bytes: 64 * 1024 * 1024,
      retention: {},
      compaction: { min_files: 8 },
    });
  });

  it('prefers the variable over the default when it is set', async () => {
    const path = await configFile(`${minimal}data_dir: \${CITYHUB_DATA_DIR:-/var/lib/cityhub}\n`);
    expect(loadConfig(path, { ...env, CITYHUB_DATA_DIR: '/srv/城市大脑' }).config.data_dir).toBe('/srv/城市大脑');
  });

  it('a variable named like an Object property (constructor, toString) is a variable like any other', async () => {
    const path = await configFile(`${minimal}data_dir: \${constructor:-/srv/data}\n`);
    expect(loadConfig(path, { ...env }).config.data_dir).toBe('/srv/data');
    expect(loadConfig(path, { ...env, constructor: '/srv/set' } as NodeJS.ProcessEnv).config.data_dir).toBe('/srv/set');
  });

  it('names the key path of every variable that is missing', async () => {
    const path = await configFile(`${minimal}api:
  tokens:
    - id: xihu
      sha256: \${API_TOKEN_XIHU_SHA256}
      regions: ["330106"]
`);
    const error = configError(() => loadConfig(path, {}));
    expect(error.file).toBe(path);
    expect(error.issues).toEqual([
      { path: 'privacy.salt', value: '${CITYHUB_SALT}', expected: 'environment variable CITYHUB_SALT to be set' },
      {
        path: 'api.tokens[0].sha256',
        value: '${API_TOKEN_XIHU_SHA256}',
        expected: 'environment variable API_TOKEN_XIHU_SHA256 to be set',
      },
    ]);
    expect(error.message).toContain(path);
    expect(error.message).toContain('privacy.salt');
    expect(error.message).toContain('api.tokens[0].sha256');
  });
});

describe('validation errors name the key and the value as written', () => {
  it('rejects an unknown key, naming it and where it is', async () => {
    const path = await configFile(`${minimal}landing:\n  max_row: 1000\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.issues).toEqual([{ path: 'landing', expected: expect.stringContaining('max_row') }]);
    expect(error.message).toContain('max_row');
  });

  it('rejects a misspelled top-level section', async () => {
    const path = await configFile(`${minimal}landnig:\n  max_rows: 1000\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.message).toContain('landnig');
  });

  it('rejects a wrong type, naming landing.max_rows and the value given', async () => {
    const path = await configFile(`${minimal}landing:\n  max_rows: many\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.issues).toEqual([{ path: 'landing.max_rows', value: 'many', expected: expect.any(String) }]);
    expect(error.message).toContain('landing.max_rows');
    expect(error.message).toContain('"many"');
  });

  it('rejects a region code that is not six digits, naming region_code', async () => {
    const path = await configFile(minimal.replace('"330100"', '"33"'));
    const error = configError(() => loadConfig(path, env));
    expect(error.issues).toEqual([{ path: 'region_code', value: '33', expected: expect.stringContaining('6-digit') }]);
    expect(error.message).toContain('region_code');
  });

  it('names the connector entry by its index', async () => {
    const path = await configFile(`${minimal}    months: 36\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.issues).toEqual([{ path: 'connectors[0].months', value: 36, expected: expect.any(String) }]);
  });

  it('rejects hotline weights that do not add up to 1 and an alarm threshold without a value, naming both', async () => {
    const path = await configFile(
      `${minimal}models:\n  indicators:\n    hotline_weights: { response: 0.2, resolution: 0.5, satisfaction: 0.4 }\n    sensor_alarms:\n      - { device_type: gas, metric: methane, level: 1 }\n`,
    );
    const error = configError(() => loadConfig(path, env));
    expect(error.issues).toEqual([
      { path: 'models.indicators.hotline_weights', expected: expect.stringContaining('add up to 1') },
      { path: 'models.indicators.sensor_alarms[0]', expected: expect.stringContaining('at_or_above') },
    ]);
  });

  it('reports every bad key at once, before any work starts', async () => {
    const path = await configFile(`${minimal.replace('"330100"', '"33"')}landing:\n  max_rows: many\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['landing.max_rows', 'region_code']);
  });

  it('never echoes an interpolated secret, whether another key or the secret key itself is invalid', async () => {
    const secrets = {
      CITYHUB_SALT: 'abc12',
      MINIO_PASSWORD: '湖仓-Secret-Zx9!q',
      API_TOKEN_SHA256: 'tok-西湖-0123456789abcdef',
    };
    const path = await configFile(`${minimal}lake:
  type: s3
  bucket: hz
  secret_access_key: \${MINIO_PASSWORD}
landing:
  max_rows: many
api:
  tokens:
    - id: zhejiang
      sha256: \${API_TOKEN_SHA256}
      regions: ["33x"]
`);
    const error = configError(() => loadConfig(path, secrets));
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'api.tokens[0].regions[0]',
      'api.tokens[0].sha256',
      'lake.bucket',
      'landing.max_rows',
      'privacy.salt',
    ]);
    expect(error.issues).toContainEqual({
      path: 'privacy.salt',
      value: '${CITYHUB_SALT}',
      expected: expect.any(String),
    });
    const everything = `${error.message}\n${JSON.stringify(error.issues)}\n${error.stack}`;
    for (const secret of Object.values(secrets)) expect(everything).not.toContain(secret);
  });
});

describe('secrets written in clear', () => {
  it('are refused for API tokens and never echoed, nor is a clear salt that is invalid', async () => {
    const path = await configFile(`region_code: "330100"
connectors:
  - id: demo
    kind: demo
privacy:
  salt: short-sa1t
api:
  tokens:
    - id: xihu
      token: clear-西湖-token-0123456789abcdef
      sha256: not-a-hash-but-a-secret-guess
      regions: ["330106"]
`);
    const error = configError(() => loadConfig(path, env));
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'api.tokens[0].sha256',
      'api.tokens[0].token',
      'privacy.salt',
    ]);
    expect(error.issues.find((i) => i.path === 'api.tokens[0].token')?.expected).toContain('cityhub api token');
    const everything = `${error.message}\n${JSON.stringify(error.issues)}\n${error.stack}`;
    for (const secret of ['short-sa1t', 'clear-西湖-token-0123456789abcdef', 'not-a-hash-but-a-secret-guess'])
      expect(everything).not.toContain(secret);
  });
});

describe('federation members', () => {
  const province = (members: string, extra = '') =>
    configFile(`region_code: "330000"
tier: province
privacy:
  salt: \${CITYHUB_SALT}
${extra}federation:
  members:
${members}`);
  const member = (id: string, region: string) =>
    `    - { id: ${id}, url: "http://${id}.example/", token: "${id}-token-0123456789", region_code: "${region}" }\n`;

  it('accept a province of cities without connectors of its own', async () => {
    const path = await province(member('hz', '330100') + member('nb', '330200'));
    expect(loadConfig(path, env).config.federation.members.map((m) => m.id)).toEqual(['hz', 'nb']);
  });

  it('refuse a member outside the hub, the hub itself, one within another, and members of a city hub', async () => {
    const path = await province(member('js', '320100') + member('hz', '330100') + member('xh', '330106'));
    expect(configError(() => loadConfig(path, env)).issues.map((i) => `${i.path}: ${i.expected}`)).toEqual([
      "federation.members[0].region_code: a region within 330000 and not it (the roll-up's)",
      'federation.members[2].region_code: a region member hz (330100) does not cover',
    ]);
    const self = await province(member('self', '330000'));
    expect(configError(() => loadConfig(self, env)).issues.map((i) => i.path)).toEqual([
      'federation.members[0].region_code',
    ]);
    const city = await configFile(`${minimal}federation:\n  members:\n${member('xh', '330106')}`);
    expect(configError(() => loadConfig(city, env)).issues.map((i) => i.path)).toEqual(['federation.members']);
  });

  it('refuse a member id that is not a plain folder name (.., .hidden)', async () => {
    const path = await province(member('..', '330100') + member('.x', '330200'));
    expect(configError(() => loadConfig(path, env)).issues.map((i) => i.path)).toEqual([
      'federation.members[0].id',
      'federation.members[1].id',
    ]);
  });

  it('refuse a hub with neither connectors nor members', async () => {
    const path = await configFile(`region_code: "330100"\nprivacy:\n  salt: \${CITYHUB_SALT}\n`);
    expect(configError(() => loadConfig(path, env)).issues).toEqual([
      expect.objectContaining({ path: 'connectors', expected: expect.stringContaining('at least one connector') }),
    ]);
  });
});

describe('unreadable config files', () => {
  it('names a file that does not exist', () => {
    const path = join(dir, '不存在.yaml');
    const error = configError(() => loadConfig(path, env));
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
    expect(error.issues[0]?.expected).toContain('readable config file');
  });

  it('names a file that is not valid YAML', async () => {
    const path = await configFile(`region_code: "330100"\nprivacy:\n  salt: [unclosed\nconnectors:\n\t- id: demo\n`);
    const error = configError(() => loadConfig(path, env));
    expect(error.file).toBe(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('valid YAML');
  });

  it('reads a .json config as JSON and names it when broken', async () => {
    const good = await configFile(
      JSON.stringify({
        region_code: '330100',
        privacy: { salt: '${CITYHUB_SALT}' },
        connectors: [{ id: 'demo', kind: 'demo' }],
      }),
      'cityhub.json',
    );
    expect(loadConfig(good, env).config.region_code).toBe('330100');
    const broken = await configFile('{"region_code": "330100",', 'broken.json');
    const error = configError(() => loadConfig(broken, env));
    expect(error.message).toContain(broken);
    expect(error.message).toContain('valid JSON');
  });
});

describe('paths', () => {
  it('resolves relative paths against the config file’s folder, not the working directory', async () => {
    const path = await configFile(
      `${minimal}data_dir: ./数据
lake:
  type: local
  path: ../湖
models:
  marts_path: marts/城市.duckdb
  sql_dir: ./sql
`,
      join('etc', 'cityhub', 'cityhub.yaml'),
    );
    const base = join(dir, 'etc', 'cityhub');
    expect(loadConfig(path, env).paths).toEqual({
      baseDir: base,
      busDir: join(base, '数据', 'bus'),
      lakeDir: join(dir, 'etc', '湖'),
      lakeCacheDir: join(base, '数据', 'lake-cache'),
      martsPath: join(base, 'marts', '城市.duckdb'),
      sqlDir: join(base, 'sql'),
      federationDir: join(base, '数据', 'federation'),
    });
  });

  it('for an S3 lake, DuckDB reads the mirror in lake.cache_dir (relative to the config), where S3LakeStore syncs it', async () => {
    const path = await configFile(
      `${minimal}lake:\n  type: s3\n  bucket: city-lake\n  cache_dir: ../缓存\n`,
      join('etc', 'cityhub', 'cityhub.yaml'),
    );
    const { config, paths } = loadConfig(path, env);
    expect(paths.lakeCacheDir).toBe(join(dir, 'etc', '缓存'));
    expect(paths.lakeDir).toBe(join(dir, 'etc', '缓存', 'mirror'));
    if (config.lake.type !== 's3') throw new Error('expected an S3 lake');
    const store = new S3LakeStore({ config: config.lake, cacheDir: paths.lakeCacheDir });
    store.client.destroy();
    expect(store.mirrorDir).toBe(paths.lakeDir);
    const byDefault = await configFile(`${minimal}data_dir: ./数据\nlake:\n  type: s3\n  bucket: city-lake\n`);
    expect(loadConfig(byDefault, env).paths.lakeDir).toBe(join(dir, '数据', 'lake-cache', 'mirror'));
  });

  it('keeps absolute paths as written', async () => {
    const path = await configFile(`${minimal}bus:\n  type: embedded\n  dir: /var/lib/cityhub/bus\n`);
    expect(loadConfig(path, env).paths.busDir).toBe('/var/lib/cityhub/bus');
  });
});

describe('describeConfig', () => {
  it('shows the effective config with meanings but masks the salt, keys and tokens', async () => {
    const path = await configFile(`${minimal}lake:
  type: s3
  bucket: hz-lake
  secret_access_key: \${MINIO_PASSWORD}
api:
  tokens:
    - id: xihu
      sha256: \${API_TOKEN_SHA256}
      regions: ["330106"]
`);
    const secrets = { ...env, MINIO_PASSWORD: 'minio-Secret-7q', API_TOKEN_SHA256: 'ab'.repeat(32) };
    const text = describeConfig(loadConfig(path, secrets));
    expect(text).toContain('privacy.salt = ••••••');
    expect(text).toContain('lake.secret_access_key = ••••••');
    expect(text).toContain('api.tokens[0].sha256 = ••••••');
    expect(text).toMatch(/region_code = "330100"\s+# the hub’s own region/);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
  });

  it('masks the demo HMAC key too', () => {
    const text = describeConfig(loadConfig(undefined, {}));
    expect(text).toContain('privacy.hmac_key = ••••••');
    expect(text).not.toContain('cityhub-demo-key-not-for-production');
  });
});
