/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: written from the format's description,
 * not from cityhub's writer, so a test reading /metrics back checks the writer against the format. It refuses what a
 * Prometheus server would (a bad line, an unknown escape, a second HELP or TYPE, a family split in two, TYPE after
 * its samples).
 */

export interface ParsedSample {
  /** The sample's own name (a histogram's `_bucket`, `_sum`, `_count` included). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help?: string;
  type?: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function unescaped(text: string, allowQuote: boolean): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && allowQuote) return '"';
    throw new Error(`unknown escape \\${c}`);
  });
}

function parseValue(text: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`not a value: ${text}`);
  return Number(text);
}

function parseSample(line: string): ParsedSample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error(`no metric name: ${line}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const label = LABEL.exec(rest)?.[0];
      if (label === undefined || !rest.slice(label.length).startsWith('="')) throw new Error(`bad label: ${line}`);
      rest = rest.slice(label.length + 2);
      let end = 0;
      while (end < rest.length && rest[end] !== '"') end += rest[end] === '\\' ? 2 : 1;
      if (end >= rest.length) throw new Error(`unterminated label value: ${line}`);
      if (Object.hasOwn(labels, label)) throw new Error(`label ${label} twice: ${line}`);
      labels[label] = unescaped(rest.slice(0, end), true);
      rest = rest.slice(end + 1);
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`expected , or }: ${line}`);
    }
    rest = rest.slice(1);
  }
  const parts = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`bad sample line: ${line}`);
  return { name, labels, value: parseValue(parts[0]!) };
}

/** The families of an exposition, by name, in order of appearance. */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  let current: string | undefined;
  const familyOf = (name: string): ParsedFamily => {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`family ${name} appears in two places`);
      if (current !== undefined) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (!family) {
      family = { name, samples: [] };
      families.set(name, family);
    }
    return family;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      const family = familyOf(name);
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`second HELP for ${name}`);
        family.help = unescaped(rest, false);
      } else {
        if (family.type !== undefined) throw new Error(`second TYPE for ${name}`);
        if (family.samples.length > 0) throw new Error(`TYPE of ${name} after its samples`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`type ${rest}`);
        family.type = rest;
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = parseSample(line);
    const base = /^(.*)_(bucket|sum|count)$/.exec(sample.name)?.[1];
    const typed = base !== undefined && ['histogram', 'summary'].includes(families.get(base)?.type ?? '');
    familyOf(typed ? base! : sample.name).samples.push(sample);
  }
  return families;
}

/** The value of the sample `name` with exactly these labels; undefined when there is none. */
export function sampleValue(
  families: ReadonlyMap<string, ParsedFamily>,
  family: string,
  labels: Record<string, string> = {},
  name = family,
): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return families
    .get(family)
    ?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)?.value;
}
