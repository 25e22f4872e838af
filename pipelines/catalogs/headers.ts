import type { CatalogName } from '../../schemas/index.js';

/**
 * Column names cities export, per catalog field (docs/catalogs.md "Headers"). The field's own name is always
 * accepted too. A city whose columns are named otherwise is handled by adding its name to the field's line.
 * Matching ignores case, spaces and full-width/half-width differences (`上报间隔（秒）` = `上报间隔(秒)`).
 */
export const catalogHeaders: { readonly [N in CatalogName]: Readonly<Record<string, readonly string[]>> } = {
  regions: {
    code: ['区划代码', '行政区划代码', '区划编码', '代码'],
    name: ['区划名称', '行政区划名称', '名称'],
    level: ['级别', '层级', '区划级别', '行政级别'],
    parent_code: ['上级区划代码', '上级代码', '上级行政区划代码', '父级代码'],
  },
  data_resources: {
    resource_code: ['资源代码', '信息资源代码', '资源编码', '数据资源代码'],
    name: ['资源名称', '信息资源名称', '数据资源名称'],
    department_code: ['提供方代码', '部门代码', '提供部门代码', '资源提供方代码'],
    region_code: ['行政区划代码', '区划代码', '所属区划'],
    share_type: ['共享类型', '共享属性'],
    update_frequency: ['更新周期', '更新频率'],
    valid_from: ['生效日期', '启用日期'],
    valid_to: ['失效日期', '停用日期'],
    fields: ['信息项', '数据项', '字段'],
  },
  scenarios: {
    scenario_code: ['场景代码', '场景编码'],
    name: ['场景名称'],
    dimension: ['评价维度', '维度'],
    level: ['层级', '场景层级', '级别'],
    regions: ['适用区划', '适用区域', '区划'],
    region_prefix: ['区划前缀'],
    required_device_types: ['必需设备类型', '设备类型'],
    required_video_event_types: ['必需视频事件', '视频事件类型'],
    required_hotline_categories: ['必需热线类别', '热线类别'],
    required_resources: ['必需数据资源', '数据资源'],
    min_online_rate: ['最低在线率', '在线率要求'],
    closed_loop: ['闭环', '需闭环', '是否闭环'],
    event_classes: ['闭环事件类别', '事件类别'],
  },
  devices: {
    device_id: ['设备编号', '设备ID', '设备id', '设备编码', '设备代码'],
    device_type: ['设备类型', '设备类别'],
    region_code: ['所属区划', '行政区划代码', '区划代码'],
    grid_code: ['网格编码', '单元网格', '网格代码'],
    reporting_interval_s: ['上报间隔(秒)', '上报间隔', '上报周期(秒)', '采集间隔(秒)'],
    installed_on: ['安装日期', '启用日期'],
    removed_on: ['拆除日期', '停用日期'],
    lon: ['经度'],
    lat: ['纬度'],
  },
};

/** The form headers are compared in: NFKC folds full-width letters and brackets, then case and spaces go. */
export function normalizeHeader(header: string): string {
  return header.normalize('NFKC').replace(/\s+/gu, '').toLowerCase();
}

/** Normalized header → field, for one catalog. */
export function headerIndex(name: CatalogName): Map<string, string> {
  const index = new Map<string, string>();
  for (const [field, aliases] of Object.entries(catalogHeaders[name])) {
    for (const alias of [field, ...aliases]) index.set(normalizeHeader(alias), field);
  }
  return index;
}
