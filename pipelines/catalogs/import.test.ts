import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { ConfigError } from '../errors.js';
import { importCatalogFile } from './import.js';
import { CatalogError, loadCatalogFile } from './load.js';
import { encodeGb18030 } from './testing.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-catalog-import-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;

/** 安徽省's catalogs as its platform exports them: GB18030 CSV from Excel, an XLSX registry, a UTF-8 BOM CSV. */
async function anhui() {
  const regions = join(dir, '行政区划.csv');
  await writeFile(
    regions,
    encodeGb18030(
      crlf([
        '区划代码,区划名称,级别,上级区划代码',
        '340000,安徽省,省级,',
        '340100,合肥市,市级,340000',
        '340102,瑶海区,区县级,340100',
        '340104,蜀山区,区县级,340100',
        '340200,芜湖市,市级,340000',
        '340202,镜湖区,区县级,340200',
      ]),
    ),
  );
  const resources = join(dir, '政务信息资源目录.csv');
  await writeFile(
    resources,
    encodeGb18030(
      crlf([
        '信息资源代码,资源名称,部门代码,行政区划代码,共享类型,更新周期,生效日期,失效日期,信息项',
        'AH-SCJG-001,企业登记信息,SCJG,340100,无条件共享,每月,2026/1/1,,"统一社会信用代码:code:required:^[0-9A-Z]{18}$; 企业名称:text:required; 注册资本:decimal"',
        'AH-ZJ-002,建设工程许可,ZJJ,340104,有条件共享,季,2026年1月1日,2026年12月31日,信息项/zj-002.csv',
        'AH-GA-003,人口统计,GAJ,340000,不予共享,每年,,,"[{""name"":""人口数"",""type"":""integer"",""required"":true}]"',
        'AH-SW-004,供水量,SWJ,340202,无条件共享,实时,,,',
      ]),
    ),
  );
  await mkdir(join(dir, '信息项'));
  await writeFile(
    join(dir, '信息项', 'zj-002.csv'),
    '\uFEFF字段名,类型,是否必填,正则\r\n许可证号,代码,是,"^[A-Z0-9-]{6,20}$"\r\n发证日期,日期,否,\r\n',
  );
  const devices = join(dir, '设备台账.xlsx');
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('设备台账');
  sheet.addRow(['设备ID', '设备类别', '所属区划', '上报间隔（秒）', '安装日期', '拆除日期', '经度', '纬度', '备注']);
  sheet.addRow([
    'AH-GAS-0001',
    'gas_methane',
    340102,
    300,
    new Date(Date.UTC(2026, 0, 15)),
    null,
    117.3,
    31.86,
    '主干管',
  ]);
  sheet.addRow(['AH-GAS-0002', 'gas_methane', '340104', '600', '2026/2/1', '2026-06-30', null, null, null]);
  sheet.addRow(['AH-DRN-0001', 'drain_level', 340202, 300, 46054, null, null, null, '下穿隧道']);
  await workbook.xlsx.writeFile(devices);
  const scenarios = join(dir, '重点场景.csv');
  await writeFile(
    scenarios,
    `\uFEFF${crlf([
      '场景代码,场景名称,评价维度,层级,适用区划,必需设备类型,必需视频事件,必需热线类别,必需数据资源,最低在线率,闭环,闭环事件类别',
      'ah_gas,燃气安全,城市运行,区级,"340104、3402",gas_methane,,,,0.9,是,0403',
      'ah_order,市容秩序,城市管理,市级,,,0101；0505,城市管理/市容环境,AH-SCJG-001,,否,',
      'ah_hotline,诉求办理,公众服务,区县级,340102,,,,,,否,',
    ])}`,
  );
  return { regions, resources, devices, scenarios };
}

function catalogError(load: () => unknown): CatalogError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }
  throw new Error('expected a CatalogError');
}

describe('an independent province’s catalogs in the shapes it exports', () => {
  it('reads a GB18030 region catalog with Chinese headers and levels', async () => {
    const files = await anhui();
    const imported = importCatalogFile('regions', files.regions);
    expect(imported).toMatchObject({ format: 'csv', encoding: 'gb18030', warnings: [], problems: [] });
    expect(imported.entries).toEqual([
      { code: '340000', name: '安徽省', level: 'province' },
      { code: '340100', name: '合肥市', level: 'city', parent_code: '340000' },
      { code: '340102', name: '瑶海区', level: 'district', parent_code: '340100' },
      { code: '340104', name: '蜀山区', level: 'district', parent_code: '340100' },
      { code: '340200', name: '芜湖市', level: 'city', parent_code: '340000' },
      { code: '340202', name: '镜湖区', level: 'district', parent_code: '340200' },
    ]);
  });

  it('reads the data-resource catalog: Chinese enum values, dates, and fields as text, JSON or a schema file', async () => {
    const files = await anhui();
    const regions = loadCatalogFile('regions', files.regions);
    const imported = importCatalogFile('data_resources', files.resources, { regions });
    expect(imported.problems).toEqual([]);
    expect(imported.entries).toEqual([
      {
        resource_code: 'AH-SCJG-001',
        name: '企业登记信息',
        department_code: 'SCJG',
        region_code: '340100',
        share_type: 'unconditional',
        update_frequency: 'monthly',
        valid_from: '2026-01-01',
        fields: [
          { name: '统一社会信用代码', type: 'code', required: true, pattern: '^[0-9A-Z]{18}$' },
          { name: '企业名称', type: 'text', required: true },
          { name: '注册资本', type: 'decimal', required: false },
        ],
      },
      {
        resource_code: 'AH-ZJ-002',
        name: '建设工程许可',
        department_code: 'ZJJ',
        region_code: '340104',
        share_type: 'conditional',
        update_frequency: 'quarterly',
        valid_from: '2026-01-01',
        valid_to: '2026-12-31',
        fields: [
          { name: '许可证号', type: 'code', required: true, pattern: '^[A-Z0-9-]{6,20}$' },
          { name: '发证日期', type: 'date', required: false },
        ],
      },
      {
        resource_code: 'AH-GA-003',
        name: '人口统计',
        department_code: 'GAJ',
        region_code: '340000',
        share_type: 'not_shared',
        update_frequency: 'yearly',
        fields: [{ name: '人口数', type: 'integer', required: true }],
      },
      {
        resource_code: 'AH-SW-004',
        name: '供水量',
        department_code: 'SWJ',
        region_code: '340202',
        share_type: 'unconditional',
        update_frequency: 'realtime',
      },
    ]);
  });

  it('reads an XLSX device registry with other column names, numeric codes and spreadsheet dates', async () => {
    const files = await anhui();
    const regions = loadCatalogFile('regions', files.regions);
    const imported = importCatalogFile('devices', files.devices, { regions });
    expect(imported.problems).toEqual([]);
    expect(imported.format).toBe('xlsx');
    expect(imported.entries).toEqual([
      {
        device_id: 'AH-GAS-0001',
        device_type: 'gas_methane',
        region_code: '340102',
        reporting_interval_s: 300,
        installed_on: '2026-01-15',
        lon: 117.3,
        lat: 31.86,
      },
      {
        device_id: 'AH-GAS-0002',
        device_type: 'gas_methane',
        region_code: '340104',
        reporting_interval_s: 600,
        installed_on: '2026-02-01',
        removed_on: '2026-06-30',
      },
      // 46054 is the Excel serial of 2026-02-01 (a date cell saved without its date format).
      {
        device_id: 'AH-DRN-0001',
        device_type: 'drain_level',
        region_code: '340202',
        reporting_interval_s: 300,
        installed_on: '2026-02-01',
      },
    ]);
    // A column no field is known by is a warning that names it, not an error.
    expect(imported.warnings).toEqual([expect.stringContaining('unknown column "备注" ignored')]);
    expect(imported.warnings[0]).toContain(files.devices);
  });

  it('reads a scenario catalog with Chinese dimensions and levels and multi-region lists', async () => {
    const files = await anhui();
    const regions = loadCatalogFile('regions', files.regions);
    const imported = importCatalogFile('scenarios', files.scenarios, { regions });
    expect(imported.problems).toEqual([]);
    const none = {
      required_device_types: [],
      required_video_event_types: [],
      required_hotline_categories: [],
      required_resources: [],
      event_classes: [],
    };
    expect(imported.entries).toEqual([
      {
        ...none,
        scenario_code: 'ah_gas',
        name: '燃气安全',
        dimension: 'operation',
        level: 'district',
        regions: ['340104', '3402'],
        required_device_types: ['gas_methane'],
        min_online_rate: 0.9,
        closed_loop: true,
        event_classes: ['0403'],
      },
      {
        ...none,
        scenario_code: 'ah_order',
        name: '市容秩序',
        dimension: 'management',
        level: 'city',
        regions: [],
        required_video_event_types: ['0101', '0505'],
        required_hotline_categories: ['城市管理/市容环境'],
        required_resources: ['AH-SCJG-001'],
        closed_loop: false,
      },
      {
        ...none,
        scenario_code: 'ah_hotline',
        name: '诉求办理',
        dimension: 'service',
        level: 'district',
        regions: ['340102'],
        closed_loop: false,
      },
    ]);
  });

  it('still reads the former single region_prefix as a one-entry list', async () => {
    const path = join(dir, 'scenarios.json');
    await writeFile(
      path,
      JSON.stringify([
        { scenario_code: 's1', name: '老格式', dimension: 'operation', level: 'district', region_prefix: '3401' },
        { scenario_code: 's2', name: '全省', dimension: 'service', level: 'city', region_prefix: '' },
      ]),
    );
    expect(loadCatalogFile('scenarios', path).map((s) => [s.scenario_code, s.regions, 'region_prefix' in s])).toEqual([
      ['s1', ['3401'], false],
      ['s2', [], false],
    ]);
  });
});

describe('catalog errors name the file and where in it', () => {
  it('a duplicate resource code, with the line of its first occurrence', async () => {
    const path = join(dir, 'resources.csv');
    await writeFile(
      path,
      encodeGb18030(
        crlf([
          '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期',
          'R1,甲,D1,340100,无条件共享,每月',
          'R2,乙,D1,340100,有条件共享,每周',
          'R1,丙,D2,340100,不予共享,每年',
        ]),
      ),
    );
    const error = catalogError(() => loadCatalogFile('data_resources', path));
    expect(error.problems).toHaveLength(1);
    expect(error.message).toBe(`${path}:4 field resource_code: duplicate resource_code "R1" (first at line 2)`);
  });

  it('a duplicate scenario code in JSON, by entry number', async () => {
    const path = join(dir, 'scenarios.json');
    const s = { scenario_code: 's1', name: 'x', dimension: 'operation', level: 'city' };
    await writeFile(path, JSON.stringify([s, { ...s, name: 'y' }]));
    expect(catalogError(() => loadCatalogFile('scenarios', path)).message).toBe(
      `${path} entry 2 field scenario_code: duplicate scenario_code "s1" (first at entry 1)`,
    );
  });

  it('a JSON entry with two keys for one field, at that entry only', async () => {
    const path = join(dir, 'scenarios.json');
    const s = { scenario_code: 's1', name: 'x', dimension: 'operation', level: 'city' };
    await writeFile(
      path,
      JSON.stringify([
        s,
        { 场景代码: 's2', name: 'y', dimension: '城市运行', level: '市级' },
        { ...s, scenario_code: 's3', 场景代码: 's3' },
      ]),
    );
    const imported = importCatalogFile('scenarios', path);
    expect(imported.entries.map((e) => e.scenario_code)).toEqual(['s1', 's2']);
    expect(imported.problems).toEqual([
      expect.objectContaining({
        line: 3,
        unit: 'entry',
        field: 'scenario_code',
        message: 'keys "scenario_code" and "场景代码" both mean scenario_code; keep one',
      }),
    ]);
  });

  it('a region code or scenario region the region catalog does not have, by sheet row and line', async () => {
    const files = await anhui();
    const regions = loadCatalogFile('regions', files.regions);
    const devices = join(dir, 'devices.xlsx');
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('Sheet1');
    sheet.addRow(['设备编号', '设备类型', '所属区划', '上报间隔(秒)']);
    sheet.addRow(['D1', 'gas_methane', '340102', 300]);
    sheet.addRow(['D2', 'gas_methane', '349999', 300]);
    await workbook.xlsx.writeFile(devices);
    expect(catalogError(() => loadCatalogFile('devices', devices, { regions })).message).toBe(
      `${devices} row 3 field region_code: region "349999" is not in the region catalog`,
    );
    const scenarios = join(dir, 'scenarios.csv');
    await writeFile(scenarios, '场景代码,场景名称,评价维度,层级,适用区划\ns1,两地,城市运行,区级,340104|35\n');
    expect(catalogError(() => loadCatalogFile('scenarios', scenarios, { regions })).message).toBe(
      `${scenarios}:2 field regions: region "35" matches no region of the region catalog`,
    );
  });

  it('an unknown enum value names the value and what is accepted; every bad line is listed', async () => {
    const path = join(dir, 'resources.csv');
    await writeFile(
      path,
      '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期\nR1,甲,D1,340100,部分共享,每月\nR2,乙,D1,340100,无条件共享,每两周\n',
    );
    const error = catalogError(() => loadCatalogFile('data_resources', path));
    expect(error.problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'share_type'],
      [3, 'update_frequency'],
    ]);
    expect(error.message.split('\n')[0]).toBe(
      `${path}:2 field share_type: unknown value "部分共享"; accepted: unconditional (无条件共享/无条件), conditional (有条件共享/有条件), not_shared (不予共享/不共享/不予)`,
    );
    expect(error.message.split('\n')[1]).toContain(
      'unknown value "每两周"; accepted: realtime (实时), daily (每日/每天/日/天)',
    );
  });

  it('config check reports each catalog problem as one line of its own, and unknown columns as warnings', async () => {
    const files = await anhui();
    await writeFile(
      files.resources,
      encodeGb18030(
        crlf([
          '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期,负责人',
          'R1,甲,D1,340100,无条件共享,每月,张三',
          'R1,乙,D1,349900,无条件共享,每月,李四',
        ]),
      ),
    );
    await mkdir(join(dir, 'inbox'));
    const config = join(dir, 'cityhub.yaml');
    const catalogs = {
      regions: files.regions,
      data_resources: files.resources,
      scenarios: files.scenarios,
      devices: files.devices,
    };
    const connectors = [{ id: 'replay', kind: 'raw-files', path: 'inbox', feed: 'sensor' }];
    const base = { region_code: '340000', privacy: { salt: 'catalog-import-test' }, connectors };
    await writeFile(config, stringify({ ...base, catalogs }));
    let error: unknown;
    try {
      preflight(loadConfig(config));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.path}: ${i.expected}`);
    expect(issues).toEqual([
      `catalogs.data_resources: a valid data_resources catalog: ${files.resources}:3 field resource_code: duplicate resource_code "R1" (first at line 2)`,
      `catalogs.data_resources: a valid data_resources catalog: ${files.resources}:3 field region_code: region "349900" is not in the region catalog`,
    ]);
    for (const issue of issues) expect(issue).not.toContain('\n');

    await writeFile(
      files.resources,
      encodeGb18030(
        crlf([
          '资源代码,资源名称,提供方代码,区划代码,共享类型,更新周期,负责人',
          'R1,甲,D1,340100,无条件共享,每月,张三',
        ]),
      ),
    );
    const { warnings } = preflight(loadConfig(config));
    expect(warnings).toContainEqual(expect.stringContaining('unknown column "负责人" ignored'));
    expect(warnings).toContainEqual(expect.stringContaining('unknown column "备注" ignored'));
  });
});
