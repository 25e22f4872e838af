/**
 * The megacity's reference catalogs: a Beijing-shaped region tree (北京市 110000 → 市辖区 110100 → 16 districts),
 * the sensor registry, the data-resource catalog, the key scenarios and the sensor alarm thresholds. Everything is
 * a pure function of the plan (scale, seed), so the generator's SQL and the catalogs the runner takes agree.
 */

import type { IndicatorSettingsInput } from '../../pipelines/models/indicator-settings.js';
import type { DataResource, Device, Region, Scenario } from '../../schemas/index.js';

export const hubRegionCode = '110000';

export const districts: { code: string; name: string }[] = [
  { code: '110101', name: '东城区' },
  { code: '110102', name: '西城区' },
  { code: '110105', name: '朝阳区' },
  { code: '110106', name: '丰台区' },
  { code: '110107', name: '石景山区' },
  { code: '110108', name: '海淀区' },
  { code: '110109', name: '门头沟区' },
  { code: '110111', name: '房山区' },
  { code: '110112', name: '通州区' },
  { code: '110113', name: '顺义区' },
  { code: '110114', name: '昌平区' },
  { code: '110115', name: '大兴区' },
  { code: '110116', name: '怀柔区' },
  { code: '110117', name: '平谷区' },
  { code: '110118', name: '密云区' },
  { code: '110119', name: '延庆区' },
];

export const megacityRegions: Region[] = [
  { code: '110000', name: '北京市', level: 'province' },
  { code: '110100', name: '市辖区', level: 'city', parent_code: '110000' },
  ...districts.map((d): Region => ({ ...d, level: 'district', parent_code: '110100' })),
];

/**
 * Sensor device types: one metric each, the registry's reporting interval, the share of the fleet, and the value
 * model (a baseline with an occasional excursion above the alarm thresholds below).
 */
export const deviceTypes = [
  { type: 'drain_level', metric: 'level', unit: 'cm', intervalS: 900, share: 0.4, base: 20, spread: 30, peak: 95 },
  { type: 'gas_methane', metric: 'methane', unit: '%LEL', intervalS: 600, share: 0.25, base: 1, spread: 8, peak: 60 },
  {
    type: 'water_pressure',
    metric: 'pressure',
    unit: 'MPa',
    intervalS: 1800,
    share: 0.25,
    base: 0.25,
    spread: 0.2,
    peak: 0.75,
  },
  {
    type: 'bridge_strain',
    metric: 'strain',
    unit: 'με',
    intervalS: 300,
    share: 0.1,
    base: 150,
    spread: 200,
    peak: 900,
  },
] as const;

export const sensorAlarms: NonNullable<IndicatorSettingsInput['sensor_alarms']> = [
  { device_type: 'drain_level', metric: 'level', level: 1, at_or_above: 60 },
  { device_type: 'drain_level', metric: 'level', level: 2, at_or_above: 80 },
  { device_type: 'gas_methane', metric: 'methane', level: 1, at_or_above: 25 },
  { device_type: 'gas_methane', metric: 'methane', level: 2, at_or_above: 50 },
  { device_type: 'water_pressure', metric: 'pressure', level: 1, at_or_above: 0.6, at_or_below: 0.1 },
  { device_type: 'bridge_strain', metric: 'strain', level: 1, at_or_above: 600 },
];

/** Update frequencies of the data-resource catalog at scale 1 (about 5,100 deliveries a year), plus not-shared ones. */
export const resourceMix = [
  { frequency: 'daily', count: 8 },
  { frequency: 'weekly', count: 20 },
  { frequency: 'monthly', count: 80 },
  { frequency: 'quarterly', count: 40 },
  { frequency: 'yearly', count: 40 },
  { frequency: 'not_shared', count: 12 },
] as const;

export interface PlannedDevice {
  /** Index in the fleet (the generator's SQL uses the same numbering). */
  index: number;
  deviceId: string;
  typeIndex: number;
  regionCode: string;
  /** Day indexes (0 = the first generated day) it is registered from / to, inclusive; undefined = open. */
  installedDay?: number;
  removedDay?: number;
  /** Sends readings but is missing from the registry (a device nobody registered). */
  unregistered: boolean;
}

export interface PlannedResource {
  index: number;
  code: string;
  frequency: (typeof resourceMix)[number]['frequency'];
  regionCode: string;
  departmentCode: string;
}

/** Devices per type at this scale: about 2,560 at scale 1 (≈ 100M readings a year), at least one of each type. */
export function planDevices(scale: number, days: number): PlannedDevice[] {
  const readingsPerDay = (100_000_000 * scale) / 365;
  const perDevicePerDay = deviceTypes.reduce((sum, t) => sum + t.share * (86_400 / t.intervalS), 0) * 0.95 * 0.98;
  const fleet = readingsPerDay / perDevicePerDay;
  const devices: PlannedDevice[] = [];
  deviceTypes.forEach((t, typeIndex) => {
    const count = Math.max(1, Math.round(fleet * t.share));
    for (let n = 0; n < count; n++) {
      const index = devices.length;
      const device: PlannedDevice = {
        index,
        deviceId: `${t.type}-${String(n + 1).padStart(5, '0')}`,
        typeIndex,
        regionCode: districts[index % districts.length]!.code,
        unregistered: index % 97 === 96,
      };
      // One device in 10 was installed during the span, one in 50 removed before its end.
      if (index % 10 === 7 && days > 1) device.installedDay = (index * 13) % days;
      if (index % 50 === 23 && days > 1) device.removedDay = Math.max(0, days - 1 - ((index * 7) % days));
      devices.push(device);
    }
  });
  return devices;
}

export function planResources(scale: number): PlannedResource[] {
  const resources: PlannedResource[] = [];
  for (const { frequency, count } of resourceMix) {
    const n = Math.max(1, Math.round(count * scale));
    for (let i = 0; i < n; i++) {
      const index = resources.length;
      // One in five is a city-level or municipality-level entry, the rest belong to a district.
      const regionCode =
        index % 5 === 4 ? (index % 10 === 9 ? '110000' : '110100') : districts[index % districts.length]!.code;
      resources.push({
        index,
        code: `BJ-${frequency.slice(0, 2).toUpperCase()}-${String(i + 1).padStart(4, '0')}`,
        frequency,
        regionCode,
        departmentCode: `dept_${String((index % 24) + 1).padStart(2, '0')}`,
      });
    }
  }
  return resources;
}

function isoDay(startDate: string, day: number): string {
  return new Date(Date.parse(`${startDate}T00:00:00Z`) + day * 86_400_000).toISOString().slice(0, 10);
}

export function deviceCatalog(devices: PlannedDevice[], startDate: string): Device[] {
  return devices
    .filter((d) => !d.unregistered)
    .map((d) => {
      const t = deviceTypes[d.typeIndex]!;
      const entry: Device = {
        device_id: d.deviceId,
        device_type: t.type,
        region_code: d.regionCode,
        reporting_interval_s: t.intervalS,
      };
      if (d.installedDay !== undefined) entry.installed_on = isoDay(startDate, d.installedDay);
      if (d.removedDay !== undefined) entry.removed_on = isoDay(startDate, d.removedDay);
      return entry;
    });
}

export function resourceCatalog(resources: PlannedResource[]): DataResource[] {
  return resources.map((r) => ({
    resource_code: r.code,
    name: `资源 ${r.code}`,
    department_code: r.departmentCode,
    region_code: r.regionCode,
    share_type: r.frequency === 'not_shared' ? 'not_shared' : r.index % 3 === 0 ? 'conditional' : 'unconditional',
    update_frequency: r.frequency === 'not_shared' ? 'monthly' : r.frequency,
    fields: [
      { name: '统一社会信用代码', type: 'code', required: true, pattern: '^[0-9A-Z]{18}$' },
      { name: '日期', type: 'date', required: true },
      { name: '数量', type: 'integer', required: false },
    ],
  }));
}

export function scenarioCatalog(resources: PlannedResource[]): Scenario[] {
  const shared = resources.filter((r) => r.frequency !== 'not_shared');
  const base = {
    level: 'district' as const,
    regions: [],
    required_device_types: [],
    required_video_event_types: [],
    required_hotline_categories: [],
    required_resources: [],
    closed_loop: false,
    event_classes: [],
  };
  return [
    {
      ...base,
      scenario_code: 'gas-leak',
      name: '燃气泄漏监测',
      dimension: 'operation',
      required_device_types: ['gas_methane'],
      min_online_rate: 0.9,
      closed_loop: true,
      event_classes: ['0601'],
    },
    {
      ...base,
      scenario_code: 'drainage',
      name: '排水防涝/积水监测',
      dimension: 'operation',
      required_device_types: ['drain_level'],
      min_online_rate: 0.85,
    },
    {
      ...base,
      scenario_code: 'bridge',
      name: '桥梁安全监测',
      dimension: 'operation',
      level: 'city',
      required_device_types: ['bridge_strain'],
      min_online_rate: 0.9,
    },
    {
      ...base,
      scenario_code: 'garbage',
      name: '暴露垃圾识别',
      dimension: 'management',
      required_video_event_types: ['0101'],
      closed_loop: true,
      event_classes: ['0101'],
    },
    {
      ...base,
      scenario_code: 'street-vending',
      name: '占道经营识别',
      dimension: 'management',
      required_video_event_types: ['0201'],
    },
    {
      ...base,
      scenario_code: 'hotline',
      name: '12345 诉求分析',
      dimension: 'service',
      level: 'city',
      required_hotline_categories: ['城市管理', '公共服务'],
      required_resources: shared.slice(0, 2).map((r) => r.code),
    },
  ];
}
