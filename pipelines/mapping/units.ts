/**
 * Units of sensor values by dimension, and the conversion between two of them as `value × factor + offset`, the same
 * number in JS (the record path) and in DuckDB (the bulk path). Scales are exact fractions of a base unit per
 * dimension, so a factor is one correctly rounded division (ppm → %LEL is exactly the double 0.002 sensor.ts uses).
 */
import { sqlDouble, sqlJsRound } from './sql-literal.js';

/** An exact fraction: numerator and denominator, small integers. */
type Fraction = readonly [number, number];

interface UnitDefinition {
  /** base = value × scale + shift (only temperature has a shift). */
  scale: Fraction;
  shift?: Fraction;
  aliases: readonly string[];
}

/** Dimension → unit definitions. The first name of each unit is the one the canonical schema uses where it has one. */
const unitTable = {
  concentration: [
    { aliases: ['%LEL'], scale: [1, 1] },
    { aliases: ['ppm'], scale: [1, 500] }, // 1 %LEL of methane = 500 ppm (5 %VOL LEL / 100)
    { aliases: ['%VOL'], scale: [20, 1] },
  ],
  pressure: [
    { aliases: ['Pa'], scale: [1, 1] },
    { aliases: ['kPa'], scale: [1_000, 1] },
    { aliases: ['MPa'], scale: [1_000_000, 1] },
    { aliases: ['bar'], scale: [100_000, 1] },
  ],
  flow: [
    { aliases: ['m3/h', 'm³/h'], scale: [1, 1] },
    { aliases: ['L/s', 'l/s'], scale: [18, 5] }, // 3.6 m³/h
  ],
  length: [
    { aliases: ['mm'], scale: [1, 1] },
    { aliases: ['cm'], scale: [10, 1] },
    { aliases: ['m'], scale: [1_000, 1] },
  ],
  strain: [{ aliases: ['με', 'µε', 'ue', 'microstrain'], scale: [1, 1] }],
  temperature: [
    { aliases: ['℃', '°C', 'C'], scale: [1, 1] },
    { aliases: ['℉', '°F'], scale: [5, 9], shift: [-160, 9] }, // (F − 32) × 5/9
  ],
  angle: [{ aliases: ['°', 'deg'], scale: [1, 1] }],
  frequency: [
    { aliases: ['Hz'], scale: [1, 1] },
    { aliases: ['kHz'], scale: [1_000, 1] },
  ],
  acceleration: [{ aliases: ['m/s2', 'm/s²'], scale: [1, 1] }],
} satisfies Record<string, readonly UnitDefinition[]>;

export type Dimension = keyof typeof unitTable;

/** `to = from × factor + offset`. */
export interface UnitConversion {
  readonly factor: number;
  readonly offset: number;
}

const IDENTITY: UnitConversion = Object.freeze({ factor: 1, offset: 0 });

interface KnownUnit {
  dimension: Dimension;
  definition: UnitDefinition;
}

const units = new Map<string, KnownUnit>();
for (const [dimension, definitions] of Object.entries(unitTable) as [Dimension, readonly UnitDefinition[]][]) {
  for (const definition of definitions) {
    for (const alias of definition.aliases) units.set(alias, { dimension, definition });
  }
}

/** The dimension of a unit name (aliases included), or undefined when it is not in the table. */
export function unitDimension(name: string): Dimension | undefined {
  return units.get(name)?.dimension;
}

/** Every unit name the table knows, by dimension (for docs and config errors). */
export function knownUnits(): Readonly<Record<Dimension, readonly string[]>> {
  return Object.fromEntries(
    Object.entries(unitTable).map(([dimension, definitions]) => [dimension, definitions.flatMap((d) => d.aliases)]),
  ) as Record<Dimension, string[]>;
}

// Per-record lookups (a sensor's unit is a field of each reading) hit this cache, built once per pair.
const conversions = new Map<string, Map<string, UnitConversion | undefined>>();

/** How to convert `from` into `to`; undefined when either is unknown or they measure different dimensions. */
export function unitConversion(from: string, to: string): UnitConversion | undefined {
  let byTarget = conversions.get(from);
  if (byTarget === undefined) {
    if (!units.has(from)) return undefined;
    byTarget = new Map();
    conversions.set(from, byTarget);
  }
  if (byTarget.has(to)) return byTarget.get(to);
  const conversion = computeConversion(from, to);
  byTarget.set(to, conversion);
  return conversion;
}

function computeConversion(from: string, to: string): UnitConversion | undefined {
  const source = units.get(from);
  const target = units.get(to);
  if (!source || !target || source.dimension !== target.dimension) return undefined;
  if (source.definition === target.definition) return IDENTITY;
  const [sn, sd] = source.definition.scale;
  const [tn, td] = target.definition.scale;
  const [an, ad] = source.definition.shift ?? [0, 1];
  const [bn, bd] = target.definition.shift ?? [0, 1];
  // factor = s/t; offset = (a − b)/t. Integer products stay far below 2^53, so each is one rounding.
  return Object.freeze({
    factor: (sn * td) / (sd * tn),
    offset: ((an * bd - bn * ad) * td) / (ad * bd * tn),
  });
}

/**
 * Converts a value, then rounds to 1e-9 as sensor.ts's `tidy` does: it removes the binary noise of factors
 * (0.8 ppm × 0.002) without losing sensor precision. An identity conversion returns the value untouched.
 */
export function convert(value: number, conversion: UnitConversion): number {
  if (conversion.factor === 1 && conversion.offset === 0) return value;
  return Math.round((value * conversion.factor + conversion.offset) * 1e9) / 1e9;
}

/**
 * DuckDB DOUBLE expression giving exactly `convert()`'s number for the DOUBLE `expr` (same IEEE operations in the
 * same order; JS rounding of halves). One difference: where JS yields -0, DuckDB yields 0 (equal in every comparison).
 */
export function toSql(expr: string, conversion: UnitConversion): string {
  if (conversion.factor === 1 && conversion.offset === 0) return `CAST(${expr} AS DOUBLE)`;
  return convertSql(`CAST(${expr} AS DOUBLE)`, sqlDouble(conversion.factor), sqlDouble(conversion.offset));
}

/**
 * `convert()`'s arithmetic for a DOUBLE `value` with the factor and offset as SQL expressions (literals, or the
 * columns of a table of conversions joined per row); not for an identity conversion, which convert() leaves as is.
 */
export function convertSql(value: string, factor: string, offset: string): string {
  return `(${sqlJsRound(`((${value} * ${factor} + ${offset}) * ${sqlDouble(1e9)})`)} / ${sqlDouble(1e9)})`;
}
