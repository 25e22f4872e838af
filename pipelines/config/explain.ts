import { z } from 'zod';
import type { LoadedConfig } from './load.js';
import { hubConfig, secretKeyPattern } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  additionalProperties?: JsonSchema | boolean;
  oneOf?: JsonSchema[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

interface KeyDoc {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
  const range = schema.minimum !== undefined || schema.maximum !== undefined;
  if (range && schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER)
    return `${type} ${schema.minimum ?? ''}..${schema.maximum}`;
  if (schema.minimum !== undefined) return `${type} ≥ ${schema.minimum}`;
  return type;
}

function collect(schema: JsonSchema, path: string, required: boolean, out: KeyDoc[]): void {
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) {
    for (const variant of variants) {
      const tag = Object.entries(variant.properties ?? {}).find(([, p]) => p.const !== undefined);
      const label = tag ? `${path} (${tag[0]}: ${JSON.stringify(tag[1].const)})` : path;
      // A description given to the whole union holds for each of its forms.
      collect({ ...variant, description: variant.description ?? schema.description }, label, required, out);
    }
    return;
  }
  if (schema.properties) {
    if (path)
      out.push({ path, type: 'object', required, default: schema.default, description: schema.description ?? '' });
    for (const [key, child] of Object.entries(schema.properties)) {
      collect(child, path ? `${path}.${key}` : key, schema.required?.includes(key) ?? false, out);
    }
    return;
  }
  // A map keyed by the user's names (a mapping's canonical fields): its values are documented under `<name>`.
  if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.properties) {
    out.push({ path, type: 'map', required, default: schema.default, description: schema.description ?? '' });
    collect(schema.additionalProperties, `${path}.<name>`, false, out);
    return;
  }
  if (
    schema.type === 'array' &&
    schema.items &&
    (schema.items.properties || schema.items.oneOf || schema.items.anyOf)
  ) {
    out.push({ path, type: 'array', required, default: schema.default, description: schema.description ?? '' });
    collect(schema.items, `${path}[]`, true, out);
    return;
  }
  out.push({ path, type: typeOf(schema), required, default: schema.default, description: schema.description ?? '' });
}

/** Every key of a file format with its type, default and description, from its zod schema. */
export function schemaKeys(schema: z.ZodType): KeyDoc[] {
  const out: KeyDoc[] = [];
  collect(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '', true, out);
  return out;
}

/** Every config key with its type, default and description, from the schema itself. */
export function configKeys(): KeyDoc[] {
  return schemaKeys(hubConfig);
}

/** docs/config.md, generated (a test keeps the file identical to this). */
export function configReference(): string {
  return keyReference(
    [
      '# Config reference',
      '',
      'Generated from `pipelines/config/schema.ts` (`npm run docs:config`); a test keeps it in step.',
      'Strings may contain `${ENV_VAR}` or `${ENV_VAR:-default}`; secrets belong there, never in the file.',
      'Relative paths are resolved against the config file’s folder. Unknown keys are rejected.',
    ],
    configKeys(),
  );
}

/** A markdown page: the intro lines, then one table row per key. */
export function keyReference(intro: readonly string[], keys: readonly KeyDoc[]): string {
  const lines = [...intro, '', '| key | type | required | default | meaning |', '|---|---|---|---|---|'];
  for (const key of keys) {
    const defaultText = key.default === undefined ? '' : `\`${JSON.stringify(key.default)}\``;
    lines.push(
      `| \`${key.path}\` | ${key.type.replaceAll('|', '\\|')} | ${key.required ? 'yes' : ''} | ${defaultText.replaceAll('|', '\\|')} | ${key.description.replaceAll('|', '\\|')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function flatten(value: unknown, path: string, out: [string, unknown][]): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatten(child, path ? `${path}.${key}` : key, out);
  } else if (Array.isArray(value) && value.some((v) => v && typeof v === 'object')) {
    for (const [i, item] of value.entries()) flatten(item, `${path}[${i}]`, out);
  } else out.push([path, value]);
}

/** The effective config, one key per line with what it means; secrets are masked. */
export function describeConfig(loaded: LoadedConfig): string {
  const docs = new Map(configKeys().map((k) => [k.path.replace(/ \(.*?\)/g, ''), k.description]));
  const entries: [string, unknown][] = [];
  flatten(loaded.config, '', entries);
  const lines = entries.map(([path, value]) => {
    const shown = secretKeyPattern.test(path) ? '••••••' : JSON.stringify(value);
    const doc = docs.get(path.replace(/\[\d+\]/g, '[]'));
    return `  ${path} = ${shown}${doc ? `   # ${doc}` : ''}`;
  });
  lines.push(
    `  (resolved) bus dir = ${loaded.paths.busDir}`,
    `  (resolved) lake = ${loaded.paths.lakeDir}`,
    `  (resolved) marts = ${loaded.paths.martsPath}`,
  );
  return lines.join('\n');
}
