import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { pathsAsWritten } from './paths.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-paths-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const city = `region_code: "330100"
privacy:
  salt: \${CITYHUB_SALT}
connectors:
  - id: demo
    kind: demo
`;
const env = { CITYHUB_SALT: 'a-salt-of-sixteen-chars', DATA: '/srv/cityhub', MARTS: 'marts/city.duckdb' };

async function file(text: string, name = 'cityhub.yaml'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('pathsAsWritten: the paths cityhub query reads without loading the config schema', () => {
  it('are the paths loadConfig resolves, for the demo and for every key that moves a file', async () => {
    const configs = [
      undefined,
      await file(city),
      await file(`${city}data_dir: ../var/\${DATA:-x}\n`, 'a.yaml'),
      await file(`${city}data_dir: \${DATA}\nmodels: { marts_path: "\${MARTS}", sql_dir: models/sql }\n`, 'b.yaml'),
      await file(
        `${city}bus: { type: embedded, dir: /tmp/bus-elsewhere }\nlake: { type: local, path: lake2 }\n`,
        'c.yaml',
      ),
      await file(
        `${city}bus: { type: kafka, brokers: [ "k1:9092" ] }\nlake: { type: s3, bucket: city-lake, cache_dir: cache }\n`,
        'd.yaml',
      ),
      await file(
        JSON.stringify({
          region_code: '330100',
          privacy: { salt: 'a-salt-of-sixteen-chars' },
          connectors: [{ id: 'demo', kind: 'demo' }],
          data_dir: 'j',
        }),
        'e.json',
      ),
    ];
    for (const config of configs) expect(pathsAsWritten(config, env), config).toEqual(loadConfig(config, env).paths);
  });

  it('leave a config whose path keys are not what the schema takes to loadConfig, which says what is wrong', async () => {
    for (const text of [
      `${city}data_dir: [1]\n`,
      `${city}lake: { type: ftp }\n`,
      `${city}models: { marts_path: 3 }\n`,
      `${city}bus: embedded\n`,
      `${city}data_dir: \${UNSET_VARIABLE}\n`,
    ]) {
      const config = await file(text);
      expect(pathsAsWritten(config, env), text).toBeUndefined();
      expect(() => loadConfig(config, env), text).toThrow(/invalid config/);
    }
  });
});
