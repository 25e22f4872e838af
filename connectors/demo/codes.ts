/** Code tables of the demo city's vendors and sources. The normalizer uses `videoEventCodes` as its mapping table. */

/** Video-AI vendor codes → GB/T 30428.2 event class. An unknown (vendor, code) pair is dead-lettered `unmapped_code`. */
export const videoEventCodes: { vendor: string; code: string; event_class: string; name: string }[] = [
  { vendor: 'hik', code: '890', event_class: '0101', name: '暴露垃圾' },
  { vendor: 'hik', code: '895', event_class: '0104', name: '垃圾箱满溢' },
  { vendor: 'hik', code: '901', event_class: '0501', name: '店外经营' },
  { vendor: 'hik', code: '902', event_class: '0502', name: '无照经营游商' },
  { vendor: 'hik', code: '903', event_class: '0503', name: '乱堆物料' },
  { vendor: 'hik', code: '910', event_class: '0505', name: '机动车乱停放' },
  { vendor: 'hik', code: '911', event_class: '0506', name: '非机动车乱停放' },
  { vendor: 'dh', code: 'GARBAGE_EXPOSED', event_class: '0101', name: '暴露垃圾' },
  { vendor: 'dh', code: 'BIN_OVERFLOW', event_class: '0104', name: '垃圾箱满溢' },
  { vendor: 'dh', code: 'OUT_OF_STORE', event_class: '0501', name: '店外经营' },
  { vendor: 'dh', code: 'STREET_VENDOR', event_class: '0502', name: '无照经营游商' },
  { vendor: 'dh', code: 'ILLEGAL_PARKING', event_class: '0505', name: '机动车乱停放' },
];

/** Vendor codes no table knows (deliberately invalid messages). */
export const unknownVideoCodes: Record<string, string> = { hik: '999', dh: 'SMOKE_FIRE' };

/** The vendor's code for an event class. */
export function vendorCodeFor(vendor: string, eventClass: string): string {
  const row = videoEventCodes.find((r) => r.vendor === vendor && r.event_class === eventClass);
  if (!row) throw new Error(`vendor ${vendor} has no code for ${eventClass}`);
  return row.code;
}

/** Event classes the demo uses (GB/T 30428.2 style 大类+小类; the 04 突发事件 ones raised by sensor alarms). */
export const eventClassNames: Record<string, string> = {
  '0101': '暴露垃圾',
  '0104': '垃圾箱满溢',
  '0402': '自来水管破裂',
  '0403': '燃气管道破裂',
  '0406': '道路积水',
  '0501': '店外经营',
  '0502': '无照经营游商',
  '0503': '乱堆物料',
  '0505': '机动车乱停放',
  '0506': '非机动车乱停放',
};

/** docs/feeds.md unit conversion table: metric → accepted unit → factor to the canonical unit. */
export const unitFactors: Record<string, Record<string, number>> = {
  methane: { '%LEL': 1, ppm: 0.002, '%VOL': 20 },
  pressure: { MPa: 1, kPa: 0.001, bar: 0.1 },
  flow: { 'm3/h': 1, 'L/s': 3.6 },
  level: { cm: 1, m: 100, mm: 0.1 },
  strain: { με: 1, ue: 1 },
  crack_width: { mm: 1, cm: 10 },
  deflection: { mm: 1, cm: 10 },
  tilt: { '°': 1, deg: 1 },
  temperature: { '℃': 1, C: 1 },
  vibration: { Hz: 1 },
};

/** Units that are not in the table for the metric (deliberately invalid messages). */
export const unknownUnits: Record<string, string> = {
  methane: 'ppb',
  pressure: 'psi',
  flow: 'L/min',
  level: 'ft',
  strain: 'kN',
  deflection: 'in',
  tilt: 'rad',
};

export interface DeviceTypeSpec {
  metric: string;
  idPrefix: string;
  /** Reporting interval at scale 1 (seconds). */
  intervalS: number;
  /** Normal reading in the canonical unit: base ± noise, never below min. */
  base: number;
  noise: number;
  min: number;
  /** Alarm reading range (canonical unit) and the event class an alarm raises. */
  alarm?: readonly [number, number];
  eventClass?: string;
}

export const deviceTypes: Record<string, DeviceTypeSpec> = {
  gas_methane: {
    metric: 'methane',
    idPrefix: 'GAS',
    intervalS: 7200,
    base: 0.6,
    noise: 0.35,
    min: 0,
    alarm: [28, 62],
    eventClass: '0403',
  },
  water_pressure: {
    metric: 'pressure',
    idPrefix: 'WP',
    intervalS: 14400,
    base: 0.32,
    noise: 0.025,
    min: 0.05,
    alarm: [0.06, 0.12],
    eventClass: '0402',
  },
  water_flow: { metric: 'flow', idPrefix: 'WF', intervalS: 14400, base: 180, noise: 45, min: 5 },
  drain_level: {
    metric: 'level',
    idPrefix: 'DRN',
    intervalS: 10800,
    base: 35,
    noise: 9,
    min: 2,
    alarm: [115, 190],
    eventClass: '0406',
  },
  bridge_strain: { metric: 'strain', idPrefix: 'BRS', intervalS: 21600, base: 120, noise: 22, min: 10 },
  bridge_deflection: { metric: 'deflection', idPrefix: 'BRD', intervalS: 21600, base: 3.2, noise: 0.5, min: 0.2 },
  manhole_tilt: { metric: 'tilt', idPrefix: 'MHT', intervalS: 21600, base: 0.4, noise: 0.25, min: 0 },
};

/** 12345 content categories (3 levels): weight and, for city-management ones, the event class a case would get. */
export const hotlineCategories: readonly (readonly [string, number, string | null])[] = [
  ['城市管理/市容环境/暴露垃圾', 8, '0101'],
  ['城市管理/市容环境/垃圾箱满溢', 3, '0104'],
  ['城市管理/街面秩序/占道经营', 6, '0501'],
  ['城市管理/街面秩序/无照经营游商', 3, '0502'],
  ['城市管理/街面秩序/机动车乱停放', 6, '0505'],
  ['城市管理/街面秩序/非机动车乱停放', 3, '0506'],
  ['城乡建设/物业管理/物业服务', 8, null],
  ['城乡建设/房屋管理/房屋质量', 3, null],
  ['交通运输/公共交通/公交线路', 4, null],
  ['生态环境/噪声污染/施工噪声', 6, null],
  ['市场监管/消费维权/预付卡退费', 5, null],
  ['公共服务/供水供气/停水', 4, null],
  ['公共服务/供水供气/燃气安全', 2, null],
  ['教育文体/学前教育/入园咨询', 2, null],
  ['社会保障/医疗保险/医保报销', 4, null],
];

/** Handling department prefix by top-level category. */
export const hotlineDepartments: Record<string, string> = {
  城市管理: 'CG',
  城乡建设: 'ZJ',
  交通运输: 'JT',
  生态环境: 'HB',
  市场监管: 'SJ',
  公共服务: 'GY',
  教育文体: 'JY',
  社会保障: 'RS',
};

export const hotlineChannels: readonly (readonly [string, number])[] = [
  ['电话', 70],
  ['网站', 9],
  ['APP', 8],
  ['微信', 11],
  ['其他', 2],
];

export const hotlineTypes: readonly (readonly [string, number])[] = [
  ['投诉', 35],
  ['咨询', 24],
  ['求助', 15],
  ['举报', 8],
  ['建议', 10],
  ['感谢', 3],
  ['其他', 5],
];

export const surnames =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武洪'.split(
    '',
  );
export const givenNames = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀英',
  '晓东',
  '建华',
  '丽萍',
  '志强',
  '海燕',
  '雪梅',
  '国庆',
  '桂英',
  '文博',
  '子涵',
  '浩然',
  '欣怡',
];

/** Mobile prefixes of China's carriers (no 14x/16x/17x so that no 13-digit epoch value can contain one). */
export const mobilePrefixes = [
  '133',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '157',
  '158',
  '159',
  '180',
  '181',
  '186',
  '187',
  '188',
  '189',
  '198',
  '199',
];

/** Approximate centres for coordinates, by region code prefix (longest match wins). */
const centres: Record<string, readonly [number, number]> = {
  '33': [120.15, 30.27],
  '3301': [120.15, 30.28],
  '330102': [120.17, 30.25],
  '330105': [120.14, 30.32],
  '330106': [120.13, 30.26],
  '330108': [120.21, 30.21],
  '330110': [120.3, 30.42],
  '3302': [121.55, 29.87],
  '330203': [121.55, 29.87],
  '330212': [121.55, 29.82],
  '3303': [120.7, 28.0],
};

export function centreOf(regionCode: string): readonly [number, number] {
  for (const len of [6, 4, 2]) {
    const c = centres[regionCode.slice(0, len)];
    if (c) return c;
  }
  return [120.15, 30.27];
}
