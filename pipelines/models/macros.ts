/**
 * SQL macros (`<sql>/macros/<name>.sql`): a block of SQL that several models share, with named parameters, expanded
 * into a model's body when the project loads (so fingerprints, docs and builds all see the expanded SQL, and a changed
 * macro rebuilds the models that use it). One macro per file:
 *
 *   -- macro: first_landed(relation, natural_key)
 *   -- description: what it stands for
 *   select * from {{ relation }} qualify row_number() over (partition by {{ natural_key }} …) = 1
 *
 * A model calls it as `{{ first_landed('landed', 'event_id, status') }}`: every argument is a single-quoted SQL text
 * (`''` for a quote inside). A macro body uses only its own parameters: no macro calls another (one level, readable).
 * Every project has the bundled macros (cityhub's sql/macros), as dbt projects have dbt's own; a models folder of a
 * locality's own adds its macros and may redefine a bundled one under the same name.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { ModelDefinitionError } from './errors.js';

export interface Macro {
  name: string;
  file: string;
  description: string;
  params: string[];
  body: string;
}

export type Macros = ReadonlyMap<string, Macro>;

/** Template expressions the loader itself understands; a macro may not take their names. */
const builtIns = ['source', 'indicator_values'];
const identifier = /^[a-z_][a-z0-9_]*$/;
/**
 * `{{ name(args) }}`, args being single-quoted texts separated by commas (the commas keep a run of quotes from
 * splitting many ways: no catastrophic backtracking); the caller checks the names.
 */
const callPattern = /\{\{\s*([a-z_][a-z0-9_]*)\(\s*((?:'(?:[^']|'')*'(?:\s*,\s*'(?:[^']|'')*')*)?)\s*\)\s*\}\}/g;
const argumentPattern = /'((?:[^']|'')*)'/g;
const parameterPattern = /\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/g;

/** The bundled macros, overlaid with those of `<sqlDir>/macros` (a folder that may be absent). */
export async function loadMacros(sqlDir: string): Promise<Macros> {
  const macros = await readMacroFolder(join(packageRoot(), 'sql', 'macros'));
  for (const [name, macro] of await readMacroFolder(join(sqlDir, 'macros'))) macros.set(name, macro);
  return macros;
}

async function readMacroFolder(dir: string): Promise<Map<string, Macro>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new ModelDefinitionError(dir, 'macro', `cannot read the macros folder: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const macros = new Map<string, Macro>();
  for (const name of names) {
    const file = join(dir, name);
    const macro = parseMacroFile(file, await readFile(file, 'utf8'));
    if (macro.name !== name.replace(/\.sql$/, '')) {
      throw new ModelDefinitionError(file, 'macro', `"${macro.name}" differs from the file name "${name}"`);
    }
    macros.set(macro.name, macro);
  }
  return macros;
}

export function parseMacroFile(file: string, text: string): Macro {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const raw = new Map<string, string>();
  let current: string | undefined;
  let i = 0;
  for (; i < lines.length && lines[i]!.startsWith('--'); i++) {
    const rest = lines[i]!.slice(2);
    const field = /^ (macro|description):(.*)$/.exec(rest);
    if (field) {
      if (raw.has(field[1]!)) throw new ModelDefinitionError(file, field[1]!, 'appears twice');
      current = field[1]!;
      raw.set(current, field[2]!.trim());
    } else if (/^ {2,}\S/.test(rest) && current) {
      raw.set(current, `${raw.get(current)} ${rest.trim()}`);
    } else if (rest.trim() !== '') {
      throw new ModelDefinitionError(
        file,
        current ?? 'macro',
        `unparseable header line ${i + 1}: ${JSON.stringify(lines[i])} (expected "-- macro: name(param, …)", "-- description: …" or an indented continuation)`,
      );
    }
  }
  const signature = /^([a-z_][a-z0-9_]*)\(([^)]*)\)$/.exec(raw.get('macro') ?? '');
  if (!signature) {
    throw new ModelDefinitionError(
      file,
      'macro',
      'missing or malformed (the header starts with "-- macro: name(param, …)")',
    );
  }
  const name = signature[1]!;
  if (builtIns.includes(name)) throw new ModelDefinitionError(file, 'macro', `"${name}" is a built-in expression`);
  const params = signature[2]!.trim() === '' ? [] : signature[2]!.split(',').map((p) => p.trim());
  for (const [k, p] of params.entries()) {
    if (!identifier.test(p)) throw new ModelDefinitionError(file, 'macro', `parameter "${p}" is not an identifier`);
    if (params.indexOf(p) !== k) throw new ModelDefinitionError(file, 'macro', `parameter "${p}" appears twice`);
  }
  const description = raw.get('description');
  if (!description) throw new ModelDefinitionError(file, 'description', 'missing');
  const body = lines.slice(i).join('\n').trim();
  if (body === '') throw new ModelDefinitionError(file, 'sql', 'the macro has no SQL after its header');
  const used = new Set<string>();
  for (const m of body.matchAll(parameterPattern)) {
    if (!params.includes(m[1]!)) {
      throw new ModelDefinitionError(
        file,
        'sql',
        `{{ ${m[1]} }} is not a parameter of ${name} (a macro body uses only its parameters)`,
      );
    }
    used.add(m[1]!);
  }
  if (/\{\{|\}\}/.test(body.replace(parameterPattern, ''))) {
    throw new ModelDefinitionError(file, 'sql', 'a macro body holds only {{ parameter }} expressions');
  }
  const unused = params.find((p) => !used.has(p));
  if (unused !== undefined) throw new ModelDefinitionError(file, 'macro', `parameter "${unused}" is never used`);
  return { name, file, description, params, body };
}

/**
 * The body with every macro call replaced by the macro's SQL; a multi-line expansion is indented like the line of
 * its call. Built-in expressions are left for the loader. Throws ModelDefinitionError naming the model file.
 */
export function expandMacros(file: string, body: string, macros: Macros): string {
  return body.replace(callPattern, (call: string, name: string, argsText: string, at: number) => {
    if (builtIns.includes(name)) return call;
    const macro = macros.get(name);
    if (macro === undefined) {
      const known = [...macros.keys()];
      throw new ModelDefinitionError(
        file,
        'sql',
        `unknown macro ${name}() (macros: ${known.length === 0 ? 'none' : known.join(', ')})`,
      );
    }
    const args = [...argsText.matchAll(argumentPattern)].map((m) => m[1]!.replaceAll("''", "'"));
    if (args.length !== macro.params.length) {
      throw new ModelDefinitionError(
        file,
        'sql',
        `${name}() takes ${macro.params.length} argument(s) (${macro.params.join(', ')}), got ${args.length}`,
      );
    }
    const sql = macro.body.replace(parameterPattern, (_p, param: string) => args[macro.params.indexOf(param)]!);
    const lineStart = body.lastIndexOf('\n', at - 1) + 1;
    const indent = /^[ \t]*/.exec(body.slice(lineStart, at))![0];
    return sql.replaceAll('\n', `\n${indent}`);
  });
}
