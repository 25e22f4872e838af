import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCliInProcess } from '../../test/support/cli-in-process.js';
import { runCli, tempDir } from '../../test/support/hub-process.js';
import { encodeGb18030 } from '../catalogs/testing.js';

// Drives the CLI in-process through the `main` bin/cityhub.js calls, except where the command reads its working
// directory: that one runs the built CLI (dist/, `npm run build` first) as a child started in a folder of its own.
describe('cityhub catalogs check', () => {
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  afterEach(async () => {
    await dir?.remove();
    dir = undefined;
  });

  async function province(resourceLines: string[]): Promise<string> {
    dir = await tempDir('catalogs-check');
    const at = (name: string) => join(dir!.path, name);
    await writeFile(
      at('regions.csv'),
      encodeGb18030(
        '区划代码,区划名称,级别,上级区划代码\r\n340000,安徽省,省级,\r\n340100,合肥市,市级,340000\r\n340104,蜀山区,区县级,340100\r\n',
      ),
    );
    await writeFile(at('resources.csv'), encodeGb18030(`${resourceLines.join('\r\n')}\r\n`));
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('台账');
    sheet.addRow(['设备ID', '设备类别', '所属区划', '上报间隔（秒）', '备注']);
    sheet.addRow(['D1', 'gas_methane', 340104, 300, '']);
    sheet.addRow(['D2', 'gas_methane', 340104, 300, '']);
    sheet.addRow(['D3', 'drain_level', 340100, 600, '']);
    await workbook.xlsx.writeFile(at('devices.xlsx'));
    await writeFile(
      at('scenarios.json'),
      JSON.stringify([
        { 场景代码: 's1', 场景名称: '燃气', 评价维度: '城市运行', 层级: '区级', 适用区划: '340104、3401' },
        { scenario_code: 's2', name: '热线', dimension: '公众服务', level: 'city', region_prefix: '34' },
      ]),
    );
    await mkdir(at('inbox'));
    const config = at('cityhub.yaml');
    await writeFile(
      config,
      stringify({
        region_code: '340000',
        privacy: { salt: 'catalogs-check-test' },
        connectors: [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor' }],
        catalogs: {
          regions: 'regions.csv',
          data_resources: 'resources.csv',
          scenarios: 'scenarios.json',
          devices: 'devices.xlsx',
        },
      }),
    );
    return config;
  }

  it('explains itself with --help', async () => {
    const { code, stdout } = await runCliInProcess(['catalogs', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: cityhub catalogs check \[--config FILE\]/);
  });

  it('prints per catalog its source, entry count and telling counts, warnings on stderr, and exits 0', async () => {
    const config = await province([
      '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期',
      'R1,甲,D1,340100,无条件共享,每月',
      'R2,乙,D1,340104,无条件共享,每周',
      'R3,丙,D2,340000,有条件共享,每年',
    ]);
    const { code, stdout, stderr } = await runCliInProcess(['catalogs', 'check', '--config', config]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `regions: file ${join(dir!.path, 'regions.csv')} (CSV, GB18030)`,
      '  3 entries; by level: city 1, district 1, province 1',
      `data_resources: file ${join(dir!.path, 'resources.csv')} (CSV, GB18030)`,
      '  3 entries; by share type: unconditional 2, conditional 1; 0 declare their fields',
      `scenarios: file ${join(dir!.path, 'scenarios.json')} (JSON, UTF-8)`,
      '  2 entries; by dimension: operation 1, service 1; 2 limited to listed regions',
      `devices: file ${join(dir!.path, 'devices.xlsx')} (XLSX)`,
      '  3 entries; by type: gas_methane 2, drain_level 1',
      'catalogs: 0 error(s), 1 warning(s)',
    ]);
    expect(stderr).toContain(`warning: ${join(dir!.path, 'devices.xlsx')}: unknown column "备注" ignored`);
  });

  it('lists every error with file, line and field, one line each, and exits 1', async () => {
    const config = await province([
      '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期',
      'R1,甲,D1,340100,无条件共享,每月',
      'R1,乙,D1,349900,随时共享,每周',
    ]);
    const { code, stderr } = await runCliInProcess(['catalogs', 'check', '--config', config]);
    expect(code).toBe(1);
    const file = join(dir!.path, 'resources.csv');
    const errors = stderr.split('\n').filter((line) => line.startsWith('error: '));
    expect(errors).toEqual([
      `error: ${file}:3 field share_type: unknown value "随时共享"; accepted: unconditional (无条件共享/无条件), conditional (有条件共享/有条件), not_shared (不予共享/不共享/不予)`,
      `error: ${file}:3 field resource_code: duplicate resource_code "R1" (first at line 2)`,
    ]);
  });

  it('says a connector-provided catalog is not published yet instead of failing (the demo)', async () => {
    dir = await tempDir('catalogs-check');
    const { code, stdout } = await runCli(['catalogs', 'check'], { cwd: dir.path });
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^regions: bundled .*regions\.csv \(CSV, UTF-8\)\n {2}39 entries; by level: district 35, city 3, province 1$/m,
    );
    expect(stdout).toMatch(/^scenarios: provided by connector demo; not published yet/m);
  });
});
