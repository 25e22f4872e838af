import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCliInProcess } from '../../test/support/cli-in-process.js';
import { tempDir } from '../../test/support/hub-process.js';
import { encodeGb18030 } from '../catalogs/testing.js';

// Drives the CLI in-process through the `main` bin/cityhub.js calls: nothing here needs a process of its own.
describe('cityhub mappings test', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });

  /** A province's config naming a sensor mapping for a vendor that delivers GB18030 CSV with Chinese headers. */
  async function province(): Promise<string> {
    dir = await tempDir('mappings-test');
    const at = (name: string) => join(dir!.path, name);
    await writeFile(
      at('regions.csv'),
      encodeGb18030(
        '区划代码,区划名称,级别,上级区划代码\r\n340000,安徽省,省级,\r\n340100,合肥市,市级,340000\r\n340104,蜀山区,区县级,340100\r\n',
      ),
    );
    await writeFile(
      at('devices.csv'),
      'device_id,device_type,region_code,reporting_interval_s\nHF-P-001,water_pressure,340104,300\n',
    );
    await writeFile(
      at('pressure.yaml'),
      [
        'dataset: sensor_reading',
        'fields:',
        '  device_id: { column: 设备编号 }',
        '  device_type: { const: water_pressure }',
        '  metric: { const: pressure }',
        '  value: { column: 压力值, type: number }',
        '  unit: { column: 单位 }',
        "  observed_at: { column: 采集时间, time: 'YYYY/MM/DD HH:mm' }",
        '  region_code: { column: 设备编号, lookup: device_region }',
        'measurement: { value: value, unit: unit, metric: metric }',
      ].join('\n'),
    );
    await writeFile(
      at('readings.csv'),
      encodeGb18030(
        '合肥水务集团压力监测导出\r\n设备编号,压力值,单位,采集时间\r\nHF-P-001,352.5,kPa,2026/08/01 08:00\r\nHF-P-001,abc,kPa,2026/08/01 08:05\r\nHF-P-404,300,kPa,2026/08/01 08:10\r\n',
      ),
    );
    const config = at('cityhub.yaml');
    await writeFile(
      config,
      stringify({
        region_code: '340100',
        data_dir: at('data'),
        privacy: { hmac_key: 'province-test-key-0123456789' },
        connectors: [{ id: 'inbox', kind: 'raw-files', path: at('inbox'), feed: 'sensor' }],
        catalogs: { regions: 'regions.csv', devices: 'devices.csv', data_resources: 'none', scenarios: 'none' },
        mappings: { sensor: 'pressure.yaml' },
      }),
    );
    return config;
  }

  it('prints each row of a GB18030 CSV as its canonical record or its dead letter, and exits 1 when any fails', async () => {
    const config = await province();
    const input = join(dir!.path, 'readings.csv');
    const result = await runCliInProcess([
      'mappings',
      'test',
      '--source',
      'sensor',
      '--input',
      input,
      '--encoding',
      'gb18030',
      '--header-row',
      '2',
      '--config',
      config,
    ]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`mapping: ${join(dir!.path, 'pressure.yaml')}`);
    expect(lines[1]).toMatch(
      /^line 3: sensor_reading \{.*"value":0\.3525,"unit":"MPa","observed_at":"2026-08-01T00:00:00\.000Z","region_code":"340104"/,
    );
    expect(lines[2]).toBe('line 4: dead letter invalid — 压力值: not a number: "abc"');
    expect(lines[3]).toBe('line 5: dead letter unknown_region — 设备编号: device "HF-P-404" is not in the catalog');
    expect(lines[4]).toBe('3 record(s): 1 landed, 2 dead-lettered');
  });

  it('config check refuses a mapping file with a bad key, naming mappings.<feed>, the key and its line', async () => {
    const config = await province();
    await writeFile(join(dir!.path, 'pressure.yaml'), 'dataset: sensor_reading\nfields:\n  value: { colum: 压力值 }\n');
    const result = await runCliInProcess(['config', 'check', '--config', config]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mappings\.sensor.*fields\.value \(line 3\)/);
  });

  it('config check maps the samples a mapping names and fails naming the sample line that is dead-lettered', async () => {
    const config = await province();
    const at = (name: string) => join(dir!.path, name);
    const mapping = `${await readFile(at('pressure.yaml'), 'utf8')}\nsamples: [samples.ndjson]\n`;
    await writeFile(at('pressure.yaml'), mapping);
    const good = '{"设备编号":"HF-P-001","压力值":"0.35","单位":"MPa","采集时间":"2026/08/01 08:00"}';
    await writeFile(at('samples.ndjson'), `${good}\n`);
    const passing = await runCliInProcess(['config', 'check', '--config', config]);
    expect(passing.stderr).toBe('');
    expect(passing.code).toBe(0);
    await writeFile(at('samples.ndjson'), `${good}\n${good.replace('MPa', 'ppm')}\n`);
    const failing = await runCliInProcess(['config', 'check', '--config', config]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/mappings\.sensor.*samples\.ndjson:2: unmapped_code — unit: unknown unit "ppm"/);
  });

  it('--help explains the command', async () => {
    const result = await runCliInProcess(['mappings', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: cityhub mappings test --source ID --input FILE/);
  });
});
