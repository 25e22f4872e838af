import { normalizeHeader } from './headers.js';

/**
 * Enum values as cities write them, per enum field (docs/catalogs.md "Values"); the canonical English value is
 * always accepted. Like headers, matching ignores case, spaces and full-width forms.
 */
export const enumAliases: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  share_type: {
    unconditional: ['无条件共享', '无条件'],
    conditional: ['有条件共享', '有条件'],
    not_shared: ['不予共享', '不共享', '不予'],
  },
  update_frequency: {
    realtime: ['实时'],
    daily: ['每日', '每天', '日', '天'],
    weekly: ['每周', '周'],
    monthly: ['每月', '月'],
    quarterly: ['每季度', '季度', '每季', '季'],
    yearly: ['每年', '年', '年度'],
  },
  dimension: {
    operation: ['城市运行'],
    management: ['城市管理'],
    service: ['公众服务'],
    effectiveness: ['工作效能'],
  },
  // Region and scenario levels share one table: a scenario accepts only city and district.
  level: {
    province: ['省级', '省'],
    city: ['市级', '市', '地级市', '地市级'],
    district: ['区级', '区县级', '县级', '区', '县', '区县'],
  },
  type: {
    text: ['文本', '字符', '字符串', '字符型'],
    integer: ['整数', '整型'],
    decimal: ['数值', '小数', '数字', '数值型'],
    date: ['日期', '日期型'],
    datetime: ['日期时间', '时间'],
    code: ['代码', '编码'],
    boolean: ['布尔', '是否', '布尔型'],
  },
};

/** What an enum accepts, for an error message: `unconditional (无条件共享), conditional (有条件共享), …`. */
export function describeAccepted(field: string, values: readonly string[]): string {
  const aliases = enumAliases[field] ?? {};
  return values.map((v) => (aliases[v]?.length ? `${v} (${aliases[v].join('/')})` : v)).join(', ');
}

const enumIndexes = new Map<string, Map<string, string>>();

/** The canonical value of an enum cell, or undefined when neither the value nor an alias of it matches. */
export function enumValue(field: string, values: readonly string[], cell: string): string | undefined {
  let index = enumIndexes.get(field);
  if (!index) {
    index = new Map();
    for (const [value, aliases] of Object.entries(enumAliases[field] ?? {}))
      for (const alias of aliases) index.set(normalizeHeader(alias), value);
    enumIndexes.set(field, index);
  }
  const key = normalizeHeader(cell);
  const found = values.find((v) => v === key) ?? index.get(key);
  return found !== undefined && values.includes(found) ? found : undefined;
}

/** List cells separate entries with any of `;；、,，|` (what spreadsheets and Chinese text use). */
export function splitList(cell: string): string[] {
  return cell
    .split(/[;；、,，|]/u)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

const yes = new Set(['是', 'true', 'y', 'yes', '1', '需要', '需']);
const no = new Set(['否', 'false', 'n', 'no', '0', '不需要', '无']);

/** true/false for 是/否 and the usual spellings; undefined for anything else. */
export function booleanValue(cell: string): boolean | undefined {
  const key = normalizeHeader(cell);
  if (yes.has(key)) return true;
  if (no.has(key)) return false;
  return undefined;
}

const excelEpochMs = Date.UTC(1899, 11, 30);

/**
 * A calendar date as YYYY-MM-DD from the forms exports use: 2026-01-15, 2026/1/15, 20260115, 2026年1月15日, an
 * Excel serial day number, or a spreadsheet date. Anything else is returned as it was, for the schema to name.
 */
export function calendarDateValue(cell: unknown): unknown {
  if (cell instanceof Date) return cell.toISOString().slice(0, 10);
  if (typeof cell === 'number' && Number.isInteger(cell) && cell > 0 && cell < 100_000)
    return new Date(excelEpochMs + cell * 86_400_000).toISOString().slice(0, 10);
  if (typeof cell !== 'string') return cell;
  const text = cell.normalize('NFKC').trim();
  const match =
    /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]0{1,2}:00(?::00)?)?$/u.exec(text) ??
    /^(\d{4})(\d{2})(\d{2})$/u.exec(text);
  if (!match) return cell;
  return `${match[1]}-${match[2]!.padStart(2, '0')}-${match[3]!.padStart(2, '0')}`;
}
