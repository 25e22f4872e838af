import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { Feed } from '../../connectors/types.js';
import { CityhubError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { type LoadedMapping, loadMappingTables } from './compile.js';
import { mappingSpec } from './spec.js';

/** A mapping file that cannot be read or is not a valid mapping; one line per problem, each with its key and line. */
export class MappingFileError extends CityhubError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
    options: { cause?: unknown } = {},
  ) {
    super(`mapping ${file}: ${problems.join('; ')}`, options);
  }
}

/** The mapping each feed uses when the config names none: the demo city's vendors (docs/feeds.md). */
export function builtinMappingPath(feed: Feed): string {
  return resolve(packageRoot(), 'mappings', 'demo', `${feed}.yaml`);
}

/** Reads, validates and loads the code tables of one mapping file (relative paths inside it: from its folder). */
export function loadMappingFile(file: string, feed: Feed): LoadedMapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new MappingFileError(file, [(error as Error).message], { cause: error });
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new MappingFileError(
      file,
      document.errors.map((e) => `line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const raw = document.toJS() as unknown;
  // zod builds `fields` on a plain object, where a `__proto__` key would vanish instead of being refused.
  const fields = (raw as { fields?: unknown } | null)?.fields;
  if (fields !== null && typeof fields === 'object' && Object.hasOwn(fields, '__proto__'))
    throw new MappingFileError(file, ['fields.__proto__: not a field of any dataset']);
  const parsed = mappingSpec.safeParse(raw);
  if (!parsed.success) {
    throw new MappingFileError(
      file,
      parsed.error.issues.map((issue) => {
        const path = issue.path.map(String);
        const node = document.getIn(path, true) as { range?: [number, number] } | undefined;
        const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
        return `${path.join('.') || '(top)'}${line === undefined ? '' : ` (line ${line})`}: ${issue.message}`;
      }),
    );
  }
  return loadMappingTables(file, feed, parsed.data, dirname(file));
}
