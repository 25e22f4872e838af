import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resourceFieldType } from '../../schemas/index.js';
import { decodeCatalogText, readCsvTable } from './read-table.js';
import { booleanValue, enumValue } from './values.js';

/** A cell naming a per-resource schema file rather than holding the fields. */
const schemaFilePattern = /\.(json|ya?ml|csv)$/iu;

const requiredFlags = new Set(['required', '必填', '必选']);
const optionalFlags = new Set(['optional', '选填', '可选', '非必填']);

/** Column names of a per-resource schema CSV (the field's own name is accepted too). */
const schemaFileHeaders: Record<string, string> = {
  name: 'name',
  字段名: 'name',
  字段名称: 'name',
  信息项名称: 'name',
  type: 'type',
  类型: 'type',
  数据类型: 'type',
  required: 'required',
  必填: 'required',
  是否必填: 'required',
  pattern: 'pattern',
  格式: 'pattern',
  正则: 'pattern',
  max_length: 'max_length',
  最大长度: 'max_length',
};

/**
 * A data resource's declared fields (信息项) from an import cell, before validation by the schema: a JSON array, the
 * name of a schema file beside the catalog (JSON, YAML or CSV), or the compact text form
 * `name:type[:required][:max=N][:pattern]; …` (docs/catalogs.md "Declared fields"). Throws an Error with a message
 * naming what is wrong; the importer adds file and line.
 */
export function declaredFields(cell: unknown, catalogFile: string): unknown {
  if (typeof cell !== 'string') return cell;
  const text = cell.trim();
  if (text.startsWith('[')) return JSON.parse(text) as unknown;
  if (schemaFilePattern.test(text) && !text.includes(':')) {
    const path = resolve(dirname(catalogFile), text);
    try {
      return readSchemaFile(path);
    } catch (error) {
      throw new Error(`schema file ${path}: ${(error as Error).message}`);
    }
  }
  return text
    .split(/[;；\n]/u)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(compactField);
}

/** `统一社会信用代码:code:required:^[0-9A-Z]{18}$` → { name, type, required, pattern }; everything after the flags is the pattern. */
function compactField(entry: string): Record<string, unknown> {
  const parts = entry.split(/[:：]/u);
  const field: Record<string, unknown> = { name: parts[0]!.trim() };
  let at = 1;
  if (parts.length > 1) {
    const type = parts[1]!.trim();
    field.type = enumValue('type', resourceFieldType.options, type) ?? type;
    at = 2;
  }
  for (; at < parts.length; at++) {
    const part = parts[at]!.trim();
    const max = /^max(?:_length)?=(\d+)$/u.exec(part);
    if (requiredFlags.has(part)) field.required = true;
    else if (optionalFlags.has(part)) field.required = false;
    else if (max) field.max_length = Number(max[1]);
    else break;
  }
  // A pattern may itself hold colons (`^\d{2}:\d{2}$`): the rest of the entry, as written.
  if (at < parts.length) field.pattern = entry.slice(nthColonEnd(entry, at)).trim();
  return field;
}

/** Index just past the n-th `:`/`：` of the entry. */
function nthColonEnd(entry: string, n: number): number {
  let seen = 0;
  for (let i = 0; i < entry.length; i++) {
    if (entry[i] === ':' || entry[i] === '：') {
      seen++;
      if (seen === n) return i + 1;
    }
  }
  return entry.length;
}

function readSchemaFile(path: string): unknown {
  const bytes = readFileSync(path);
  if (/\.json$/iu.test(path)) return JSON.parse(decodeCatalogText(bytes).text) as unknown;
  if (/\.ya?ml$/iu.test(path)) return parseYaml(decodeCatalogText(bytes).text) as unknown;
  const table = readCsvTable(decodeCatalogText(bytes).text);
  return table.rows.map((row) => {
    const field: Record<string, unknown> = {};
    for (const [header, cell] of Object.entries(row)) {
      const name = header.trim();
      // An own property only: a column headed `constructor` is an unknown column, not Object's constructor.
      const key = Object.hasOwn(schemaFileHeaders, name) ? schemaFileHeaders[name] : undefined;
      if (key === undefined || cell === '') continue;
      if (key === 'required') field.required = booleanValue(cell) ?? cell;
      else if (key === 'max_length') field.max_length = Number(cell);
      else if (key === 'type') field.type = enumValue('type', resourceFieldType.options, cell) ?? cell;
      else field[key] = cell;
    }
    return field;
  });
}
