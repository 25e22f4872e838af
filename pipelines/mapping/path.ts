import { CityhubError } from '../errors.js';

/** A path in a mapping file that is not `name(.name|[index])*`. */
export class FieldPathError extends CityhubError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`field path ${JSON.stringify(path)}: ${problem}`);
  }
}

/** One step of a compiled path: a property name, or an array index. */
export type PathStep = string | number;

/**
 * Compiles `visit.satisfaction`, `items[0].v` or `data["设备.编号"]` into steps, once per mapping. A CSV or XLSX column
 * header is a one-step path however it is spelled: rows from files are flat, so their mapping names columns with
 * `column:` and never goes through this parser.
 */
export function compilePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  let i = 0;
  const fail = (problem: string): never => {
    throw new FieldPathError(path, `${problem} at character ${i + 1}`);
  };
  while (i < path.length) {
    if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) fail('unclosed [');
      const inside = path.slice(i + 1, close);
      if (/^\d+$/.test(inside)) steps.push(Number(inside));
      else if (/^"(?:[^"\\]|\\.)*"$/.test(inside)) steps.push(JSON.parse(inside) as string);
      else fail('expected an index or a quoted name inside [ ]');
      i = close + 1;
    } else {
      if (steps.length > 0) {
        if (path[i] !== '.') fail('expected . or [');
        i++;
      }
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      if (end === i) fail('empty name');
      steps.push(path.slice(i, end));
      i = end;
    }
  }
  if (steps.length === 0) throw new FieldPathError(path, 'empty path');
  return steps;
}

/**
 * The value at `steps` in a parsed payload; undefined when any step is missing. Only own properties are followed, so
 * a path segment such as `constructor` or `__proto__` never reaches Object.prototype.
 */
export function valueAt(record: unknown, steps: readonly PathStep[]): unknown {
  let at = record;
  for (let i = 0; i < steps.length; i++) {
    if (at === null || typeof at !== 'object') return undefined;
    const step = steps[i]!;
    if (typeof step === 'number') {
      if (!Array.isArray(at)) return undefined;
      at = at[step];
    } else {
      if (Array.isArray(at) || !Object.hasOwn(at, step)) return undefined;
      at = (at as Record<string, unknown>)[step];
    }
  }
  return at;
}
