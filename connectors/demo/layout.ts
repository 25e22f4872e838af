/**
 * The demo city's static design: which districts have devices, cameras, hotline traffic and catalogued resources,
 * and the deliberate imperfections (offline devices, late or missing deliveries…). Days are relative to the history:
 * `{ month, day }` is day `day` (1-based) of history month `month` (0-based). Entries whose region is not in the
 * caller's regions catalog are skipped.
 */
import type { Scenario } from '../../schemas/index.js';
import type { TemplateName } from './dept-records.js';
import type { TsFormat } from './types.js';

export interface MonthDay {
  month: number;
  day: number;
}

export interface SensorVendor {
  name: string;
  unit: string;
  ts: TsFormat;
  coords: boolean;
}

export interface DeviceGroupLayout {
  type: string;
  region: string;
  count: number;
  vendor: SensorVendor;
  /** First registered day of the group's devices (all, or the listed 0-based device indexes). */
  installed?: MonthDay & { devices?: number[] };
  removed?: MonthDay & { devices?: number[] };
  /** Days (inclusive, of a history month) a device sends nothing. */
  offline?: { device: number; month: number; fromDay: number; toDay: number }[];
  /** A device that sends test readings on the N days before it is registered. */
  commissioning?: { device: number; days: number };
  /** Alarm episodes that raise city events: per month listed, at a random day in [fromDay, toDay]. */
  alarms?: { months: number[] | 'all'; perMonth: number; fromDay: number; toDay: number; closeProb: number };
}

const v = (name: string, unit: string, ts: TsFormat, coords = true): SensorVendor => ({ name, unit, ts, coords });

export const deviceGroups: DeviceGroupLayout[] = [
  {
    type: 'gas_methane',
    region: '330106',
    count: 4,
    vendor: v('hzgas', 'ppm', 'local'),
    alarms: { months: 'all', perMonth: 1, fromDay: 5, toDay: 20, closeProb: 1 },
  },
  {
    type: 'gas_methane',
    region: '330102',
    count: 3,
    vendor: v('zjiot', '%LEL', 'epoch'),
    alarms: { months: [0, 2], perMonth: 1, fromDay: 6, toDay: 22, closeProb: 1 },
  },
  {
    type: 'gas_methane',
    region: '330105',
    count: 2,
    vendor: v('nbsense', '%VOL', 'iso', false),
    offline: [{ device: 1, month: 1, fromDay: 5, toDay: 11 }],
    alarms: { months: [1], perMonth: 1, fromDay: 15, toDay: 25, closeProb: 1 },
  },
  {
    type: 'gas_methane',
    region: '330108',
    count: 2,
    vendor: v('zjiot', '%LEL', 'epoch'),
    installed: { month: 1, day: 14 },
    commissioning: { device: 0, days: 2 },
    alarms: { months: [2], perMonth: 1, fromDay: 3, toDay: 20, closeProb: 1 },
  },
  {
    type: 'gas_methane',
    region: '330110',
    count: 2,
    vendor: v('hzgas', 'ppm', 'local'),
    removed: { month: 0, day: 20 },
  },
  {
    type: 'water_pressure',
    region: '330106',
    count: 2,
    vendor: v('swjt', 'MPa', 'iso'),
    alarms: { months: 'all', perMonth: 1, fromDay: 3, toDay: 25, closeProb: 0.9 },
  },
  { type: 'water_pressure', region: '330102', count: 2, vendor: v('hwater', 'kPa', 'local_ms') },
  {
    type: 'water_pressure',
    region: '330203',
    count: 2,
    vendor: v('nbwater', 'bar', 'epoch'),
    offline: [
      { device: 0, month: 1, fromDay: 3, toDay: 22 },
      { device: 0, month: 2, fromDay: 10, toDay: 19 },
    ],
    alarms: { months: [0], perMonth: 1, fromDay: 8, toDay: 20, closeProb: 1 },
  },
  { type: 'water_flow', region: '330106', count: 1, vendor: v('swjt', 'm3/h', 'iso') },
  { type: 'water_flow', region: '330212', count: 1, vendor: v('nbwater', 'L/s', 'epoch') },
  { type: 'drain_level', region: '330106', count: 2, vendor: v('hzdrain', 'cm', 'local') },
  {
    type: 'drain_level',
    region: '330203',
    count: 3,
    vendor: v('nbwater', 'm', 'epoch'),
    alarms: { months: 'all', perMonth: 2, fromDay: 2, toDay: 26, closeProb: 0.9 },
  },
  {
    type: 'drain_level',
    region: '330212',
    count: 3,
    vendor: v('yzkj', 'mm', 'local_ms'),
    offline: [{ device: 2, month: 0, fromDay: 8, toDay: 9 }],
    alarms: { months: [1, 2], perMonth: 1, fromDay: 4, toDay: 24, closeProb: 0.8 },
  },
  {
    type: 'bridge_strain',
    region: '330108',
    count: 2,
    vendor: v('qlkj', 'με', 'local'),
    installed: { month: 0, day: 10 },
  },
  {
    type: 'bridge_deflection',
    region: '330108',
    count: 1,
    vendor: v('qlkj', 'cm', 'local'),
    installed: { month: 0, day: 10 },
  },
  {
    type: 'bridge_strain',
    region: '330110',
    count: 1,
    vendor: v('zjbridge', 'ue', 'iso'),
    installed: { month: 1, day: 1 },
    offline: [{ device: 0, month: 2, fromDay: 6, toDay: 9 }],
  },
  {
    type: 'manhole_tilt',
    region: '330102',
    count: 3,
    vendor: v('zjiot', '°', 'epoch'),
    removed: { month: 1, day: 15, devices: [2] },
  },
  { type: 'manhole_tilt', region: '330105', count: 2, vendor: v('nbsense', 'deg', 'local') },
];

export interface VideoDistrictLayout {
  region: string;
  vendor: 'hik' | 'dh';
  cameras: number;
  /** Alerts per day at scale 1. */
  perDay: number;
  classes: readonly (readonly [string, number])[];
  /** From a history month on, another mix (a new analytics rule switched on). */
  later?: { fromMonth: number; classes: readonly (readonly [string, number])[] };
  /** Share of confirmed alerts that are dispatched as city events. */
  dispatchProb: number;
}

export const videoDistricts: VideoDistrictLayout[] = [
  {
    region: '330106',
    vendor: 'hik',
    cameras: 12,
    perDay: 9,
    classes: [
      ['0101', 3],
      ['0104', 2],
      ['0501', 2],
      ['0502', 1],
      ['0503', 1],
      ['0505', 3],
      ['0506', 2],
    ],
    dispatchProb: 0.3,
  },
  {
    region: '330102',
    vendor: 'hik',
    cameras: 8,
    perDay: 6,
    classes: [
      ['0101', 3],
      ['0104', 2],
      ['0505', 3],
    ],
    dispatchProb: 0.25,
  },
  {
    region: '330105',
    vendor: 'dh',
    cameras: 10,
    perDay: 7,
    classes: [
      ['0101', 3],
      ['0104', 2],
      ['0501', 2],
      ['0502', 1],
      ['0505', 2],
    ],
    dispatchProb: 0.3,
  },
  {
    region: '330110',
    vendor: 'dh',
    cameras: 5,
    perDay: 4,
    classes: [['0505', 1]],
    later: {
      fromMonth: 2,
      classes: [
        ['0505', 3],
        ['0501', 1],
      ],
    },
    dispatchProb: 0.2,
  },
  {
    region: '330203',
    vendor: 'dh',
    cameras: 8,
    perDay: 6,
    classes: [
      ['0101', 2],
      ['0501', 2],
      ['0505', 3],
    ],
    dispatchProb: 0.25,
  },
];

/** 12345 orders per day at scale 1, and where they come from. */
export const hotlinePerDay = 30;
export const hotlineDistricts: readonly (readonly [string, number])[] = [
  ['330106', 5],
  ['330102', 4],
  ['330105', 4],
  ['330108', 2],
  ['330110', 3],
  ['330203', 3],
  ['330212', 3],
];

/** Grid inspectors' reports (city events with source 'grid'), per district per day at scale 1. */
export const gridPerDay = 0.6;
export const gridDistricts = ['330106', '330102', '330105', '330110', '330203'];
export const gridClasses: readonly (readonly [string, number])[] = [
  ['0101', 3],
  ['0104', 1],
  ['0501', 2],
  ['0503', 2],
  ['0505', 2],
  ['0506', 1],
];

/** The key-scenario catalog. Every scenario with device types also sets min_online_rate. */
export const scenarioCatalog: Scenario[] = [
  {
    scenario_code: 'gas_leak_monitoring',
    name: '燃气泄漏监测',
    dimension: 'operation',
    level: 'district',
    regions: ['3301'],
    required_device_types: ['gas_methane'],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: [],
    min_online_rate: 0.9,
    closed_loop: true,
    event_classes: ['0403'],
  },
  {
    scenario_code: 'water_supply_monitoring',
    name: '供水管网监测',
    dimension: 'operation',
    level: 'city',
    regions: [],
    required_device_types: ['water_pressure', 'water_flow'],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: [],
    min_online_rate: 0.8,
    closed_loop: false,
    event_classes: ['0402'],
  },
  {
    scenario_code: 'drainage_ponding_monitoring',
    name: '排水防涝/积水监测',
    dimension: 'operation',
    level: 'district',
    regions: ['3302'],
    required_device_types: ['drain_level'],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: [],
    min_online_rate: 0.85,
    closed_loop: true,
    event_classes: ['0406'],
  },
  {
    scenario_code: 'bridge_safety_monitoring',
    name: '桥梁安全监测',
    dimension: 'operation',
    level: 'city',
    regions: ['3301'],
    required_device_types: ['bridge_strain', 'bridge_deflection'],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: ['R330100002'],
    min_online_rate: 0.9,
    closed_loop: false,
    event_classes: [],
  },
  {
    scenario_code: 'exposed_garbage_recognition',
    name: '暴露垃圾识别',
    dimension: 'management',
    level: 'district',
    regions: ['3301'],
    required_device_types: [],
    required_video_event_types: ['0101', '0104'],
    required_hotline_categories: [],
    required_resources: [],
    closed_loop: true,
    event_classes: ['0101', '0104'],
  },
  {
    scenario_code: 'street_vending_recognition',
    name: '占道经营识别',
    dimension: 'management',
    level: 'district',
    regions: ['33'],
    required_device_types: [],
    required_video_event_types: ['0501', '0502'],
    required_hotline_categories: [],
    required_resources: [],
    closed_loop: true,
    event_classes: ['0501', '0502', '0503'],
  },
  {
    scenario_code: 'illegal_parking_recognition',
    name: '违停识别',
    dimension: 'management',
    level: 'city',
    regions: [],
    required_device_types: [],
    required_video_event_types: ['0505'],
    required_hotline_categories: [],
    required_resources: [],
    closed_loop: false,
    event_classes: ['0505', '0506'],
  },
  {
    scenario_code: 'hotline_demand_analysis',
    name: '12345诉求分析',
    dimension: 'service',
    level: 'city',
    regions: [],
    required_device_types: [],
    required_video_event_types: [],
    required_hotline_categories: ['城市管理'],
    required_resources: [],
    closed_loop: false,
    event_classes: [],
  },
];

export type UpdateFrequency = 'realtime' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'yearly';

export interface ResourceLayout {
  code: string;
  name: string;
  dept: string;
  region: string;
  share: 'unconditional' | 'conditional' | 'not_shared';
  freq: UpdateFrequency;
  /** Record template: the fields its records carry (dept-records.ts). */
  template: TemplateName;
  validFrom?: MonthDay;
  validTo?: MonthDay;
  /** The delivery header's adcode when it differs from the resource's region (relayed by another platform). */
  deliveryRegion?: string;
  /** Never delivered. */
  never?: boolean;
  /** realtime/daily: whole days without delivery; daily/weekly: late to the next day / next Monday. */
  missingProb?: number;
  lateProb?: number;
  /** monthly: day of month it is delivered; months skipped; months delivered on day 2–4 of the next month. */
  dayOfMonth?: number;
  skipMonths?: number[];
  lateMonths?: number[];
  /** quarterly/yearly: explicit delivery days. */
  at?: MonthDay[];
  /** One more weekly delivery after valid_to (a stale job). */
  deliverAfterExpiry?: boolean;
  /** Share of invalid records (an empty object or only empty strings). */
  invalidRate?: number;
  /** The delivery of that history month carries no records at all. */
  emptyMonth?: number;
  /** The delivery of that history month has only invalid records. */
  allInvalidMonth?: number;
}

export const resourceCatalog: ResourceLayout[] = [
  {
    code: 'R330000001',
    name: '浙江省法人单位基础信息',
    dept: '330000-DSJ',
    region: '330000',
    share: 'unconditional',
    freq: 'weekly',
    template: 'legal_entity',
    lateProb: 0.1,
  },
  {
    code: 'R330000002',
    name: '浙江省人口统计信息(汇总)',
    dept: '330000-TJJ',
    region: '330000',
    share: 'conditional',
    freq: 'quarterly',
    template: 'population',
    at: [{ month: 0, day: 18 }],
  },
  {
    code: 'R330100001',
    name: '杭州市城市管理综合执法案件',
    dept: '330100-CGJ',
    region: '330100',
    share: 'conditional',
    freq: 'daily',
    template: 'enforcement',
    missingProb: 0.04,
    lateProb: 0.05,
    invalidRate: 0.02,
  },
  {
    code: 'R330100002',
    name: '杭州市桥梁定期检测记录',
    dept: '330100-CGJ',
    region: '330100',
    share: 'conditional',
    freq: 'monthly',
    template: 'bridge_inspection',
    dayOfMonth: 20,
    skipMonths: [1],
  },
  {
    code: 'R330100003',
    name: '杭州市12345热线工单汇总',
    dept: '330100-XFJ',
    region: '330100',
    share: 'unconditional',
    freq: 'realtime',
    template: 'hotline_summary',
    missingProb: 0.03,
  },
  {
    code: 'R330100004',
    name: '杭州市供水管网GIS数据',
    dept: '330100-SWJT',
    region: '330100',
    share: 'unconditional',
    freq: 'quarterly',
    template: 'water_gis',
    at: [{ month: 1, day: 12 }],
  },
  {
    code: 'R330100005',
    name: '杭州市公共厕所信息',
    dept: '330100-CGJ',
    region: '330100',
    share: 'unconditional',
    freq: 'yearly',
    template: 'toilet',
    never: true,
  },
  {
    code: 'R330100006',
    name: '杭州市公共视频点位',
    dept: '330100-GAJ',
    region: '330100',
    share: 'not_shared',
    freq: 'daily',
    template: 'camera_points',
    missingProb: 0.02,
  },
  {
    code: 'R330100007',
    name: '杭州市共享单车停放点位',
    dept: '330100-JTJ',
    region: '330100',
    share: 'conditional',
    freq: 'weekly',
    template: 'bike_parking',
    validFrom: { month: 1, day: 15 },
  },
  {
    code: 'R330100008',
    name: '杭州市渣土运输车辆备案',
    dept: '330100-CGJ',
    region: '330100',
    share: 'conditional',
    freq: 'weekly',
    template: 'muck_trucks',
    validTo: { month: 1, day: 18 },
    deliverAfterExpiry: true,
  },
  {
    code: 'R330102001',
    name: '上城区道路停车泊位',
    dept: '330102-JTJ',
    region: '330102',
    share: 'conditional',
    freq: 'weekly',
    template: 'parking_spots',
    lateProb: 0.3,
  },
  {
    code: 'R330102002',
    name: '上城区户外广告设施',
    dept: '330102-CGJ',
    region: '330102',
    share: 'unconditional',
    freq: 'quarterly',
    template: 'billboards',
    at: [{ month: 2, day: 20 }],
  },
  {
    code: 'R330105001',
    name: '拱墅区餐饮油烟在线监测',
    dept: '330105-HBJ',
    region: '330105',
    share: 'conditional',
    freq: 'daily',
    template: 'fume',
    deliveryRegion: '330100',
    missingProb: 0.03,
  },
  {
    code: 'R330106001',
    name: '西湖区市场主体登记信息',
    dept: '330106-SJ',
    region: '330106',
    share: 'unconditional',
    freq: 'daily',
    template: 'market_entities',
    missingProb: 0.02,
    lateProb: 0.03,
    invalidRate: 0.05,
  },
  {
    code: 'R330106002',
    name: '西湖区环卫作业记录',
    dept: '330106-HWS',
    region: '330106',
    share: 'conditional',
    freq: 'realtime',
    template: 'sanitation',
    missingProb: 0.05,
    invalidRate: 0.01,
  },
  {
    code: 'R330106003',
    name: '西湖区门前三包责任单位',
    dept: '330106-CGJ',
    region: '330106',
    share: 'unconditional',
    freq: 'monthly',
    template: 'frontage',
    dayOfMonth: 25,
    emptyMonth: 0,
  },
  {
    code: 'R330108001',
    name: '滨江区重点企业用水',
    dept: '330108-SWJ',
    region: '330108',
    share: 'unconditional',
    freq: 'monthly',
    template: 'water_use',
    dayOfMonth: 8,
    allInvalidMonth: 1,
  },
  {
    code: 'R330110001',
    name: '余杭区在建工地信息',
    dept: '330110-ZJJ',
    region: '330110',
    share: 'conditional',
    freq: 'weekly',
    template: 'construction',
    never: true,
  },
  {
    code: 'R330200001',
    name: '宁波市排水管网运行监测',
    dept: '330200-ZJJ',
    region: '330200',
    share: 'unconditional',
    freq: 'daily',
    template: 'drainage_ops',
    missingProb: 0.08,
    lateProb: 0.05,
  },
  {
    code: 'R330200002',
    name: '宁波市城管案件统计',
    dept: '330200-ZHZF',
    region: '330200',
    share: 'conditional',
    freq: 'monthly',
    template: 'case_stats',
    dayOfMonth: 26,
    lateMonths: [0],
  },
  {
    code: 'R330203001',
    name: '海曙区沿街商铺信息',
    dept: '330203-SJ',
    region: '330203',
    share: 'unconditional',
    freq: 'weekly',
    template: 'shops',
    lateProb: 0.1,
  },
  {
    code: 'R330212001',
    name: '鄞州区网格划分信息',
    dept: '330212-ZZB',
    region: '330212',
    share: 'not_shared',
    freq: 'monthly',
    template: 'grid_units',
    never: true,
  },
  {
    code: 'R330300001',
    name: '温州市市政设施台账',
    dept: '330300-ZJJ',
    region: '330300',
    share: 'unconditional',
    freq: 'monthly',
    template: 'facilities',
    never: true,
  },
  {
    code: 'R330300002',
    name: '温州市城市体检指标',
    dept: '330300-ZJJ',
    region: '330300',
    share: 'conditional',
    freq: 'yearly',
    template: 'city_checkup',
    at: [{ month: 2, day: 15 }],
  },
];
