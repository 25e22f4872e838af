/**
 * Issue 7 acceptance: an independent small province, described by YAML and the files it exports alone — no
 * TypeScript written for it. Its catalogs come in Chinese export shape (GB18030 CSV, XLSX, JSON), its departments
 * deliver GB18030 CSVs with a title row into a drop folder, a second sensor vendor sends nested Chinese keys with
 * local-time strings, a third one sends the district only in its file names, and a video vendor has its own code
 * table. The hub lands it; the marts must match the values worked out by hand below.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { encodeGb18030 } from '../../pipelines/catalogs/testing.js';
import { runCliInProcess } from '../support/cli-in-process.js';
import { runCli, tempDir } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>>;
let config: string;
const at = (...parts: string[]) => join(dir.path, ...parts);

/** 安徽 (340000): 合肥 with 蜀山 and 包河, 芜湖 with 镜湖. */
const regionsCsv = [
  '安徽省政务数据共享平台 行政区划导出 2026-07-31',
  '区划代码,区划名称,级别,上级区划代码',
  '340000,安徽省,省级,',
  '340100,合肥市,市级,340000',
  '340104,蜀山区,区县级,340100',
  '340111,包河区,区县级,340100',
  '340200,芜湖市,市级,340000',
  '340202,镜湖区,区县级,340200',
];

/**
 * R1 (蜀山, monthly, unconditional) is delivered valid; R2 (包河, monthly, conditional) arrives with no valid row;
 * R3 (镜湖, quarterly) is never delivered; R4 is not shared, so not required.
 */
const resourcesCsv = [
  '资源代码,资源名称,提供方代码,行政区划代码,共享类型,更新周期,信息项',
  'AH-R1,企业登记信息,340104-SCJ,340104,无条件共享,每月,"统一社会信用代码:code:required:^[0-9A-Z]{18}$; 企业名称:text:required"',
  'AH-R2,建筑工地台账,340111-ZJJ,340111,有条件共享,每月,"日期:date:required; 工地数:integer:required"',
  'AH-R3,河道巡查记录,340202-SLJ,340202,有条件共享,每季度,"巡查日期:date:required"',
  'AH-R4,内部考勤,340104-RSJ,340104,不予共享,每月,',
];

/**
 * S1 (district): water-pressure readings, in 蜀山 and every district of 芜湖 → (S1, 340104) covered, (S1, 340202) not.
 * S2 (district): street-vendor alerts (0502) in 包河 → covered. S3 (city): resource AH-R1 delivered within the city →
 * (S3, 340100) covered, (S3, 340200) not.
 */
const scenarios = [
  {
    场景代码: 'AH-S1',
    场景名称: '供水管网压力监测',
    评价维度: '城市运行',
    层级: '区级',
    适用区划: '340104、3402',
    必需设备类型: 'water_pressure',
  },
  {
    场景代码: 'AH-S2',
    场景名称: '流动摊贩治理',
    评价维度: '城市管理',
    层级: '区级',
    适用区划: '340111',
    必需视频事件: '0502',
  },
  { 场景代码: 'AH-S3', 场景名称: '企业服务', 评价维度: '公众服务', 层级: '市级', 适用区划: '', 必需数据资源: 'AH-R1' },
];

async function writeProvince(): Promise<void> {
  await mkdir(at('catalogs'));
  await writeFile(at('catalogs', 'regions.csv'), encodeGb18030(`${regionsCsv.slice(1).join('\r\n')}\r\n`));
  await writeFile(at('catalogs', 'resources.csv'), encodeGb18030(`${resourcesCsv.join('\r\n')}\r\n`));
  await writeFile(at('catalogs', 'scenarios.json'), JSON.stringify(scenarios));
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('设备台账');
  sheet.addRow(['设备ID', '设备类别', '所属区划', '上报间隔（秒）']);
  sheet.addRow(['HF-P-001', 'water_pressure', 340104, 3600]);
  sheet.addRow(['HF-P-002', 'water_pressure', 340104, 3600]);
  await workbook.xlsx.writeFile(at('catalogs', 'devices.xlsx'));

  // The second sensor vendor: nested Chinese keys, kPa, local wall time with slashes, one file per reading batch.
  await mkdir(at('mappings'));
  await writeFile(
    at('mappings', 'hefei-water.yaml'),
    [
      'dataset: sensor_reading',
      'records: 数据',
      'fields:',
      '  device_id: 设备编号',
      '  device_type: { const: water_pressure }',
      '  metric: { const: pressure }',
      '  value: { path: 压力, type: number }',
      '  unit: { const: kPa }',
      "  observed_at: { path: 采集时间, time: 'YYYY/MM/DD HH:mm:ss' }",
      '  region_code: { path: 设备编号, lookup: device_region }',
      'measurement: { value: value, unit: unit, metric: metric }',
      'samples: [../samples/hefei-water.json]',
    ].join('\n'),
  );
  await writeFile(
    at('mappings', 'uniview.yaml'),
    [
      'dataset: video_alert',
      'fields:',
      '  alert_id: 告警编号',
      '  camera_id: 相机编号',
      '  event_type: { path: 告警类型, codes: { file: uniview-codes.csv, encoding: gb18030 } }',
      '  vendor_code: { path: 告警类型, type: text }',
      '  confidence: { path: 置信度, divide_by: 100 }',
      "  occurred_at: { path: 告警时间, time: 'YYYYMMDDHHmmss' }",
      '  region_code: { path: 所属区县, lookup: region_by_name }',
      '  status: { const: new }',
      "  status_at: { path: 告警时间, time: 'YYYYMMDDHHmmss' }",
    ].join('\n'),
  );
  await writeFile(
    at('mappings', 'uniview-codes.csv'),
    encodeGb18030('code,value,说明\r\n17,0502,占道经营\r\n21,0101,暴露垃圾\r\n'),
  );
  await mkdir(at('samples'));
  const batch = (day: string, hour: string) => ({
    批次: `${day}-${hour}`,
    数据: [
      { 设备编号: 'HF-P-001', 压力: '352.5', 采集时间: `2026/08/${day} ${hour}:00:00` },
      { 设备编号: 'HF-P-002', 压力: 340, 采集时间: `2026/08/${day} ${hour}:00:00` },
    ],
  });
  await writeFile(at('samples', 'hefei-water.json'), JSON.stringify(batch('01', '08')));
  // A third vendor on the same feed with its own mapping: flat keys, epoch seconds, and the district only in the
  // file name (the `file` header), its gauge unknown to the registry.
  await writeFile(
    at('mappings', 'wuhu-gauges.yaml'),
    [
      'dataset: sensor_reading',
      'fields:',
      '  device_id: id',
      '  device_type: { const: water_pressure }',
      '  metric: { const: pressure }',
      '  value: p',
      '  unit: { const: MPa }',
      '  observed_at: { path: t, time: epoch_s }',
      "  region_code: { header: file, segment: 0, separator: '_' }",
      'measurement: { value: value, unit: unit, metric: metric }',
    ].join('\n'),
  );
  await mkdir(at('inbox', 'gauges'), { recursive: true });
  // 2026-08-20 10:00 Asia/Shanghai.
  await writeFile(
    at('inbox', 'gauges', '340202_wh-p-9_0820.json'),
    JSON.stringify({ id: 'WH-P-9', p: 0.31, t: 1787191200 }),
  );

  await mkdir(at('inbox', 'water'), { recursive: true });
  await writeFile(at('inbox', 'water', 'w-0801-08.json'), JSON.stringify(batch('01', '08')));
  await writeFile(at('inbox', 'water', 'w-0815-09.json'), JSON.stringify(batch('15', '09')));
  await mkdir(at('inbox', 'video'), { recursive: true });
  const alert = (id: string, type: number, district: string) => ({
    告警编号: id,
    相机编号: 'CAM-BH-01',
    告警类型: type,
    置信度: 93,
    告警时间: '20260810143000',
    所属区县: district,
  });
  await writeFile(at('inbox', 'video', 'a1.json'), JSON.stringify(alert('UV-001', 17, '包河区')));
  // An alert whose code the vendor table does not have: a dead letter, the rest flows on.
  await writeFile(at('inbox', 'video', 'a2.json'), JSON.stringify(alert('UV-002', 99, '包河区')));

  // Department deliveries: GB18030 CSV with a title row above the header, named <resource>_<yyyymmdd>.csv.
  await mkdir(at('inbox', 'dept'), { recursive: true });
  const r1 = encodeGb18030(
    '蜀山区市场监管局 企业登记信息 2026年8月\r\n统一社会信用代码,企业名称\r\n91340104MA2N0XXX1A,合肥甲公司\r\n91340104MA2N0XXX2B,合肥乙公司\r\nnot-a-code,坏数据\r\n',
  );
  await writeFile(at('inbox', 'dept', 'AH-R1_20260812.csv'), r1);
  await writeFile(at('samples', 'AH-R1_20260812.csv'), r1);
  await writeFile(
    at('inbox', 'dept', 'AH-R2_20260813.csv'),
    encodeGb18030('包河区住建局 建筑工地台账\r\n日期,工地数\r\n2026/13/45,3\r\n2026-08-13,\r\n'),
  );

  config = at('cityhub.yaml');
  await writeFile(
    config,
    stringify({
      region_code: '340000',
      data_dir: at('data'),
      privacy: { hmac_key: 'anhui-acceptance-key-0123456789' },
      catalogs: {
        regions: 'catalogs/regions.csv',
        data_resources: 'catalogs/resources.csv',
        scenarios: 'catalogs/scenarios.json',
        devices: 'catalogs/devices.xlsx',
      },
      connectors: [
        {
          id: 'hefei-water',
          kind: 'raw-files',
          path: 'inbox/water',
          feed: 'sensor',
          mapping: 'mappings/hefei-water.yaml',
          once: true,
        },
        {
          id: 'wuhu-gauges',
          kind: 'raw-files',
          path: 'inbox/gauges',
          feed: 'sensor',
          mapping: 'mappings/wuhu-gauges.yaml',
          once: true,
        },
        { id: 'uniview', kind: 'raw-files', path: 'inbox/video', feed: 'video', once: true },
        {
          id: 'bureaus',
          kind: 'dept-files',
          source: { type: 'folder', path: 'inbox/dept', settle_ms: 0 },
          read: { format: 'csv', encoding: 'gb18030', header_row: 2 },
          resource: { from: 'file_name', pattern: '^(?<resource>AH-R\\d+)_\\d{8}\\.csv$' },
          delivered_at: { pattern: '_(?<time>\\d{8})\\.csv$', format: 'YYYYMMDD' },
          once: true,
        },
      ],
      mappings: { video: 'mappings/uniview.yaml' },
      models: { schedule: '0 0 1 1 *' },
    }),
  );
}

// The hub runs as a child process, as an operator starts it; the commands that read what it left run in-process
// (the same CLI `main`, without 1–2 s of Node start each).
async function query(sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCliInProcess(['query', sql, '--format', 'json', '--config', config]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
}

describe('an independent province described by configuration alone', () => {
  let run: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => {
    dir = await tempDir('province');
    await writeProvince();
    run = await runCli(['run', '--config', config, '--for', '1s']);
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('config check and mappings test accept it (catalogs in Chinese export shape, mappings with their samples)', async () => {
    const check = await runCliInProcess(['config', 'check', '--config', config]);
    expect(check.code).toBe(0);
    const test = await runCliInProcess([
      'mappings',
      'test',
      '--source',
      'hefei-water',
      '--input',
      at('samples', 'hefei-water.json'),
      '--config',
      config,
    ]);
    expect(test.stdout).toMatch(/2 record\(s\): 2 landed, 0 dead-lettered/);
    expect(test.code).toBe(0);
    // A department's file, as the dept-files connector `bureaus` would deliver it.
    const file = await runCliInProcess([
      'mappings',
      'test',
      '--source',
      'bureaus',
      '--input',
      at('samples', 'AH-R1_20260812.csv'),
      '--config',
      config,
    ]);
    expect(file.stdout.trim().split('\n')).toEqual([
      'delivery: AH-R1_20260812.csv → resource AH-R1 (企业登记信息, department 340104-SCJ, region 340104), delivered 2026-08-11T16:00:00.000Z (from the name)',
      'line 3: dept_record {"统一社会信用代码":"91340104MA2N0XXX1A","企业名称":"合肥甲公司"}',
      'line 4: dept_record {"统一社会信用代码":"91340104MA2N0XXX2B","企业名称":"合肥乙公司"}',
      expect.stringMatching(/^line 5: dead letter invalid — .*统一社会信用代码/),
      '3 record(s): 2 landed, 1 dead-lettered',
    ]);
    expect(file.code).toBe(1);
  });

  it('the hub ran it to the end and exited 0', () => {
    expect(run.stderr).not.toMatch(/problem:/);
    expect(run.code).toBe(0);
  });

  it('lands what is valid and dead-letters the rest, naming why', async () => {
    const rows = await query(`
      select 'reading' as what, count(*)::int as n from read_parquet('${at('data', 'lake')}/sensor_reading/*/*.parquet')
      union all select 'alert', count(*)::int from read_parquet('${at('data', 'lake')}/video_alert/*/*.parquet')
      union all select 'delivery', count(*)::int from read_parquet('${at('data', 'lake')}/dept_delivery/*/*.parquet')
      union all select 'record', count(*)::int from read_parquet('${at('data', 'lake')}/dept_record/*/*.parquet')
      order by what`);
    expect(rows).toEqual([
      { what: 'alert', n: 1 },
      { what: 'delivery', n: 2 },
      { what: 'reading', n: 5 },
      { what: 'record', n: 2 },
    ]);
    const letters = await query(`
      select feed, reason_code, count(*)::int as n
      from read_parquet('${at('data', 'lake')}/_dlq/*/*/*.parquet', union_by_name = true)
      group by all order by all`);
    // AH-R1: one bad credit code; AH-R2: an impossible date and a missing count; the alert with an unknown code.
    expect(letters).toEqual([
      { feed: 'dept', reason_code: 'invalid', n: 3 },
      { feed: 'video', reason_code: 'unmapped_code', n: 1 },
    ]);
    // Each vendor through its own mapping; `_source` names the connector that sent the row.
    const readings = await query(
      `select distinct _source, value, unit, region_code from read_parquet('${at('data', 'lake')}/sensor_reading/*/*.parquet') order by value`,
    );
    expect(readings).toEqual([
      { _source: 'wuhu-gauges', value: 0.31, unit: 'MPa', region_code: '340202' },
      { _source: 'hefei-water', value: 0.34, unit: 'MPa', region_code: '340104' },
      { _source: 'hefei-water', value: 0.3525, unit: 'MPa', region_code: '340104' },
    ]);
    const deliveries = await query(
      `select resource_code, department_code, region_code, record_count::int as rows, valid_count::int as valid,
              strftime(delivered_at at time zone 'Asia/Shanghai', '%Y-%m-%d') as day
       from read_parquet('${at('data', 'lake')}/dept_delivery/*/*.parquet') order by resource_code`,
    );
    expect(deliveries).toEqual([
      {
        resource_code: 'AH-R1',
        department_code: '340104-SCJ',
        region_code: '340104',
        rows: 3,
        valid: 2,
        day: '2026-08-12',
      },
      {
        resource_code: 'AH-R2',
        department_code: '340111-ZJJ',
        region_code: '340111',
        rows: 2,
        valid: 0,
        day: '2026-08-13',
      },
    ]);
  });

  it('data-sharing rate per region for August 2026 matches the hand count', async () => {
    // required: R1, R2, R3 (R4 is not shared); shared: R1 only (R2 had no valid row, R3 no delivery).
    const rows = await query(`
      select region_code, required_count::int as required, shared_count::int as shared, sharing_rate
      from mart_data_sharing where grain = 'month' and period = '2026-08' order by region_code`);
    expect(rows).toEqual([
      { region_code: '340000', required: 3, shared: 1, sharing_rate: 1 / 3 },
      { region_code: '340100', required: 2, shared: 1, sharing_rate: 0.5 },
      { region_code: '340104', required: 1, shared: 1, sharing_rate: 1 },
      { region_code: '340111', required: 1, shared: 0, sharing_rate: 0 },
      { region_code: '340200', required: 1, shared: 0, sharing_rate: 0 },
      { region_code: '340202', required: 1, shared: 0, sharing_rate: 0 },
    ]);
  });

  it('key-scenario coverage per region for August 2026 matches the hand count', async () => {
    // Pairs: (S1,340104) covered (hefei-water), (S1,340202) covered (wuhu-gauges, district from the file name),
    // (S2,340111) covered, (S3,340100) covered, (S3,340200) not.
    const rows = await query(`
      select region_code, applicable_count::int as applicable, covered_count::int as covered, coverage_rate
      from mart_scenario_coverage where grain = 'month' and period = '2026-08' order by region_code`);
    expect(rows).toEqual([
      { region_code: '340000', applicable: 5, covered: 4, coverage_rate: 0.8 },
      { region_code: '340100', applicable: 3, covered: 3, coverage_rate: 1 },
      { region_code: '340104', applicable: 1, covered: 1, coverage_rate: 1 },
      { region_code: '340111', applicable: 1, covered: 1, coverage_rate: 1 },
      { region_code: '340200', applicable: 2, covered: 1, coverage_rate: 0.5 },
      { region_code: '340202', applicable: 1, covered: 1, coverage_rate: 1 },
    ]);
    const failed = await query(`
      select scenario_code, region_code, failed_conditions from mart_scenario_status
      where grain = 'month' and period = '2026-08' and not is_covered order by scenario_code, region_code`);
    expect(failed).toEqual([
      { scenario_code: 'AH-S3', region_code: '340200', failed_conditions: ['no_resource_delivery:AH-R1'] },
    ]);
  });
});
