import { type CodeTable, codeTable, optional, utc } from './fields.js';
import { type MapOutcome, MappingRejection, type SourceMapping } from './types.js';

/** metric → canonical unit and the factor from each accepted source unit (docs/feeds.md). */
const unitTable: CodeTable<{ canonical: string; factors: CodeTable<number> }> = new Map(
  Object.entries<{ canonical: string; factors: Record<string, number> }>({
    methane: { canonical: '%LEL', factors: { '%LEL': 1, ppm: 0.002, '%VOL': 20 } },
    pressure: { canonical: 'MPa', factors: { MPa: 1, kPa: 0.001, bar: 0.1 } },
    flow: { canonical: 'm3/h', factors: { 'm3/h': 1, 'L/s': 3.6 } },
    level: { canonical: 'cm', factors: { cm: 1, m: 100, mm: 0.1 } },
    strain: { canonical: 'με', factors: { με: 1, ue: 1 } },
    crack_width: { canonical: 'mm', factors: { mm: 1, cm: 10 } },
    deflection: { canonical: 'mm', factors: { mm: 1, cm: 10 } },
    tilt: { canonical: '°', factors: { '°': 1, deg: 1 } },
    temperature: { canonical: '℃', factors: { '℃': 1, C: 1 } },
    vibration: { canonical: 'Hz', factors: { Hz: 1 } },
  }).map(([metric, { canonical, factors }]) => [metric, { canonical, factors: codeTable(factors) }]),
);

/** Rounds away binary noise from unit factors (0.8 ppm × 0.002) without losing sensor precision. */
function tidy(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

export const sensorMapping: SourceMapping = {
  feed: 'sensor',
  personal: false,
  fieldSources: {
    device_id: 'dev',
    device_type: 'kind',
    metric: 'metric',
    value: 'val',
    unit: 'unit',
    observed_at: 'ts',
    region_code: 'adcode',
    grid_code: 'grid',
    lon: 'lng',
    lat: 'lat',
  },
  map(p): MapOutcome {
    let value = p.val;
    let unit = p.unit;
    const units = typeof p.metric === 'string' ? unitTable.get(p.metric) : undefined;
    if (units && typeof unit === 'string') {
      const factor = units.factors.get(unit);
      if (factor === undefined) {
        throw new MappingRejection('unmapped_code', 'unit', `unknown unit "${unit}" for metric ${p.metric as string}`);
      }
      unit = units.canonical;
      if (typeof value === 'number' && factor !== 1) value = tidy(value * factor);
    }
    return {
      records: 1,
      rejections: [],
      rows: [
        {
          dataset: 'sensor_reading',
          row: {
            device_id: p.dev,
            device_type: p.kind,
            metric: p.metric,
            value,
            unit,
            observed_at: utc(p.ts, 'ts'),
            region_code: p.adcode,
            grid_code: optional(p.grid),
            lon: optional(p.lng),
            lat: optional(p.lat),
          },
        },
      ],
    };
  },
};
