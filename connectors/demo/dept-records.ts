/**
 * Record templates of the demo's data resources: Chinese field names, values as departments deliver them. Each
 * field's generator carries the type its values have, so the catalog's field declarations (`templateFields`) come
 * from the same definition that generates the records.
 */
import type { ResourceField } from '../../schemas/index.js';
import { eventClassNames, hotlineCategories } from './codes.js';
import type { Rng } from './rng.js';
import { dateOfDay } from './time.js';

export interface RecordContext {
  /** Day the delivery covers. */
  day: number;
  region: string;
}

type Gen = (rng: Rng, c: RecordContext) => string | number;

/** A field's generator and what every value it makes is, as the catalog declares it. */
interface FieldGen {
  gen: Gen;
  type: ResourceField['type'];
  pattern?: string;
}

const text = (gen: Gen): FieldGen => ({ gen, type: 'text' });
const coded = (pattern: string, gen: Gen): FieldGen => ({ gen, type: 'code', pattern });

const ROADS = [
  '文三路',
  '学院路',
  '教工路',
  '莫干山路',
  '天目山路',
  '延安路',
  '解放路',
  '庆春路',
  '江南大道',
  '滨盛路',
  '文一西路',
  '中山路',
  '百丈路',
  '鄞州大道',
  '体育场路',
  '凤起路',
];
const WORDS = [
  '恒信',
  '华联',
  '明达',
  '新源',
  '瑞丰',
  '金桥',
  '天成',
  '宏远',
  '博雅',
  '绿洲',
  '嘉禾',
  '安泰',
  '西子',
  '之江',
];
const KINDS = [
  '餐饮管理有限公司',
  '商贸有限公司',
  '科技有限公司',
  '物业服务有限公司',
  '建设工程有限公司',
  '便利店',
  '小吃店',
];
/** Characters of a code that may hold letters: GB 32100 leaves out I, O, S, V and Z. */
const ALNUM = '0123456789ABCDEFGHJKLMNPQRTUWXY'.split('');
const CODE_CHARS = '[0-9A-HJ-NPQRTUWXY]';
/** 统一社会信用代码 (GB 32100): registration authority and kind, 6-digit region, 9-character organisation code, check. */
const CREDIT_CODE_PATTERN = `${CODE_CHARS}{2}\\d{6}${CODE_CHARS}{10}`;
/** 机动车号牌 (GA 36): province, issuing office letter, 5 characters (6 for new-energy vehicles). */
const PLATE_PATTERN = '[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][0-9A-HJ-NP-Z]{5,6}';
const MONTH_PATTERN = '\\d{4}-(?:0[1-9]|1[0-2])';

const pick = (items: readonly string[]): FieldGen => text((rng) => rng.pick(items));
const int = (lo: number, hi: number): FieldGen => ({ gen: (rng) => rng.int(lo, hi), type: 'integer' });
/** An integer delivered as text (a spreadsheet cell). */
const intText = (lo: number, hi: number): FieldGen => ({ gen: (rng) => String(rng.int(lo, hi)), type: 'integer' });
const decimal = (lo: number, hi: number, digits: number): FieldGen => ({
  gen: (rng) => (lo + (hi - lo) * rng.float()).toFixed(digits),
  type: 'decimal',
});
/** Prefixes are letters and hyphens only, so they stand for themselves in the pattern. */
const serial = (prefix: string, digits: number): FieldGen =>
  coded(`${prefix}\\d{${digits}}`, (rng) => prefix + String(rng.int(1, 10 ** digits - 1)).padStart(digits, '0'));
const alnum = (rng: Rng, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += rng.pick(ALNUM);
  return s;
};

const date = (gen: Gen): FieldGen => ({ gen, type: 'date' });
const company = text((rng) => `${rng.pick(WORDS)}${rng.pick(WORDS)}${rng.pick(KINDS)}`);
const address = text((rng) => `${rng.pick(ROADS)}${rng.int(1, 999)}号`);
const road = text((rng) => rng.pick(ROADS));
const recentDate = date((rng, c) => dateOfDay(c.day - rng.int(0, 20)));
const oldDate = date((rng, c) => dateOfDay(c.day - rng.int(200, 9000)));
const sameDay = date((_rng, c) => dateOfDay(c.day));
/** YYYY-MM: a month is no calendar day, so text of that shape. */
const month: FieldGen = { gen: (_rng, c) => dateOfDay(c.day).slice(0, 7), type: 'text', pattern: MONTH_PATTERN };
const year: FieldGen = { gen: (_rng, c) => dateOfDay(c.day).slice(0, 4), type: 'integer' };
const creditCode = coded(CREDIT_CODE_PATTERN, (rng, c) => `91${c.region}MA${alnum(rng, 8)}`);
const plate = coded(PLATE_PATTERN, (rng) => `浙${rng.pick(['A', 'B', 'C'])}${alnum(rng, 5)}`);
const clock: FieldGen = {
  gen: (rng, c) =>
    `${dateOfDay(c.day)} ${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}`,
  type: 'datetime',
};

export const recordTemplates = {
  legal_entity: [
    ['统一社会信用代码', creditCode],
    ['单位名称', company],
    [
      '登记机关',
      pick(['浙江省市场监督管理局', '杭州市市场监督管理局', '宁波市市场监督管理局', '温州市市场监督管理局']),
    ],
    ['成立日期', oldDate],
    ['登记状态', pick(['存续', '在业', '注销'])],
  ],
  population: [
    ['统计区域', pick(['杭州市', '宁波市', '温州市'])],
    ['常住人口(万人)', decimal(600, 1300, 1)],
    ['户籍人口(万人)', decimal(500, 900, 1)],
    ['统计时点', sameDay],
  ],
  enforcement: [
    ['案件编号', serial('ZF', 6)],
    ['案由', pick(['擅自占用城市道路', '未按规定倾倒建筑垃圾', '违法设置户外广告', '餐饮油烟超标排放', '店外经营'])],
    ['处罚金额(元)', intText(200, 20000)],
    ['办结日期', recentDate],
  ],
  bridge_inspection: [
    ['桥梁编号', serial('HZQL-', 4)],
    ['桥梁名称', text((rng) => `${rng.pick(ROADS)}${rng.pick(['大桥', '高架桥', '人行天桥'])}`)],
    ['检测日期', recentDate],
    ['技术状况等级', pick(['一类', '二类', '三类'])],
    ['主要病害', pick(['无', '支座老化', '伸缩缝堵塞', '桥面铺装破损', '栏杆锈蚀'])],
  ],
  hotline_summary: [
    ['工单类别', pick(hotlineCategories.map((c) => c[0]))],
    ['工单数量', int(1, 60)],
    ['统计时段', clock],
  ],
  water_gis: [
    ['管段编号', serial('GS-', 6)],
    ['管径(mm)', int(100, 1200)],
    ['材质', pick(['球墨铸铁', 'PE', '钢管', '灰口铸铁'])],
    ['敷设年份', int(1985, 2024)],
  ],
  toilet: [
    ['公厕编号', serial('GC-', 4)],
    ['地址', address],
    ['开放时间', pick(['全天', '06:00-22:00'])],
  ],
  camera_points: [
    ['点位编号', serial('SP-', 6)],
    ['点位名称', text((rng) => `${rng.pick(ROADS)}与${rng.pick(ROADS)}交叉口`)],
    ['经度', decimal(120.0, 120.4, 6)],
    ['纬度', decimal(30.1, 30.4, 6)],
  ],
  bike_parking: [
    ['点位编号', serial('DC-', 5)],
    ['位置', address],
    ['容量', int(10, 120)],
  ],
  muck_trucks: [
    ['车牌号', plate],
    ['运输单位', company],
    ['备案日期', recentDate],
  ],
  parking_spots: [
    ['泊位编号', serial('SC-', 5)],
    ['路段', road],
    ['收费标准', pick(['5元/小时', '3元/小时', '首小时免费'])],
  ],
  billboards: [
    ['设施编号', serial('GG-', 5)],
    ['设置位置', address],
    ['面积(㎡)', intText(2, 120)],
    ['审批期限', date((rng, c) => dateOfDay(c.day + rng.int(30, 900)))],
  ],
  fume: [
    ['监测点', company],
    ['油烟浓度(mg/m3)', decimal(0.2, 2.8, 2)],
    ['监测时间', clock],
  ],
  market_entities: [
    ['统一社会信用代码', creditCode],
    ['主体名称', company],
    ['主体类型', pick(['有限责任公司', '个体工商户', '股份有限公司', '个人独资企业'])],
    ['登记日期', sameDay],
    ['住所', address],
  ],
  sanitation: [
    ['作业车辆', plate],
    ['作业类型', pick(['机扫', '洒水', '冲洗', '垃圾清运'])],
    ['作业路段', road],
    ['作业时长(分钟)', int(20, 240)],
  ],
  frontage: [
    ['责任单位', company],
    ['地址', address],
    ['责任区段', text((rng) => `${rng.pick(ROADS)}${rng.int(10, 200)}米`)],
  ],
  water_use: [
    ['企业名称', company],
    ['用水量(m3)', int(200, 90000)],
    ['抄表月份', month],
  ],
  construction: [
    ['项目名称', text((rng) => `${rng.pick(WORDS)}${rng.pick(['住宅', '综合体', '学校', '道路改造'])}项目`)],
    ['施工单位', company],
    ['地址', address],
  ],
  drainage_ops: [
    ['泵站', pick(['江厦泵站', '三江口泵站', '段塘泵站', '机场路泵站'])],
    ['运行时长(小时)', decimal(0, 24, 1)],
    ['排水量(m3)', int(500, 80000)],
    ['日期', sameDay],
  ],
  case_stats: [
    ['统计月份', month],
    ['案件类别', pick(Object.values(eventClassNames))],
    ['立案数', int(5, 900)],
    ['结案数', int(5, 880)],
  ],
  shops: [
    ['店铺名称', company],
    ['地址', address],
    ['经营类别', pick(['餐饮', '零售', '美容美发', '维修'])],
  ],
  grid_units: [
    ['网格编码', coded('\\d{9}', (rng, c) => `${c.region}${String(rng.int(1, 9)).padStart(3, '0')}`)],
    ['网格名称', text((rng) => `${rng.pick(ROADS)}网格`)],
  ],
  facilities: [
    ['设施编号', serial('SZ-', 6)],
    ['设施类型', pick(['路灯', '窨井盖', '消防栓', '护栏'])],
    ['地址', address],
  ],
  city_checkup: [
    ['指标名称', pick(['人均公园绿地面积', '城市道路网密度', '内涝积水点密度', '老旧小区改造率'])],
    ['指标值', decimal(0, 100, 2)],
    ['年度', year],
  ],
} satisfies Record<string, readonly (readonly [string, FieldGen])[]>;

export type TemplateName = keyof typeof recordTemplates;

export function makeRecord(rng: Rng, template: TemplateName, c: RecordContext): Record<string, string | number> {
  const record: Record<string, string | number> = {};
  for (const [name, field] of recordTemplates[template]) record[name] = field.gen(rng, c);
  return record;
}

/** An invalid record: an empty object, or every field an empty string. */
export function invalidRecord(rng: Rng, template: TemplateName): Record<string, string> {
  if (rng.chance(0.5)) return {};
  const record: Record<string, string> = {};
  for (const [name] of recordTemplates[template]) record[name] = '';
  return record;
}

/**
 * A row of a delivery file that fails its resource's declared fields: a required value left blank or, in half the
 * rows of a template with a date field, a day that does not exist (`YYYY-02-30`).
 */
export function brokenRow(rng: Rng, template: TemplateName, c: RecordContext): Record<string, string | number> {
  const record = makeRecord(rng, template, c);
  const fields = recordTemplates[template];
  const dated = fields.findIndex(([, field]) => field.type === 'date');
  if (dated >= 0 && rng.chance(0.5)) {
    record[fields[dated]![0]] = `${dateOfDay(c.day).slice(0, 4)}-02-30`;
  } else {
    // Field 0 is optional (templateFields): blank one of the required ones.
    record[fields[rng.int(1, fields.length - 1)]![0]] = '';
  }
  return record;
}

/**
 * The catalog's declaration of a template's record fields. Every generator always fills its field, but the
 * department simulator (dept.ts) now and then blanks the first field of a record it counts as valid: that one is
 * optional, the others required (so an all-empty record stays invalid).
 */
export function templateFields(template: TemplateName): ResourceField[] {
  return recordTemplates[template].map(([name, { type, pattern }], i) => ({
    name,
    type,
    required: i > 0,
    ...(pattern === undefined ? {} : { pattern }),
  }));
}
