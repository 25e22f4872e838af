/**
 * The sensor payload set the benches send: realistic vendor readings (~185 bytes each) of 2,000 devices over the
 * province's districts reporting every 5 minutes, generated the same way in every bench so their figures compare.
 */
import { bundledRegionsPath, loadCatalogFile } from '../pipelines/catalogs/load.js';

/** The payload set: NDJSON in one buffer (a reference can read it as is); payload i is bytes [starts[i], ends[i]). */
export interface SensorPayloads {
  ndjson: Buffer;
  starts: Uint32Array;
  ends: Uint32Array;
}

/** Written straight into one buffer, so holding the set costs its bytes and no per-message objects. */
export function sensorPayloads(count: number): SensorPayloads {
  const regions = loadCatalogFile('regions', bundledRegionsPath()).filter((r) => r.level === 'district');
  let ndjson = Buffer.allocUnsafe(count * 200 + 1024);
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  const start = Date.UTC(2026, 9, 1) - 8 * 3600_000;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const device = i % 2000;
    const region = regions[device % regions.length]!.code;
    const ms = start + Math.floor(i / 2000) * 300_000;
    const local = new Date(ms + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);
    const text = JSON.stringify({
      dev: `GAS-${region}-${String(device).padStart(4, '0')}`,
      kind: 'gas_methane',
      metric: 'methane',
      val: Math.round(Math.abs(Math.sin(i)) * 4000) / 10,
      unit: 'ppm',
      ts: local,
      adcode: region,
      grid: `${region}001001${String(device % 1000).padStart(3, '0')}`,
      lng: 120 + (device % 100) / 100,
      lat: 30 + (device % 50) / 100,
    });
    if (ndjson.length - at < text.length * 3 + 1) {
      const grown = Buffer.allocUnsafe(ndjson.length * 2);
      ndjson.copy(grown, 0, 0, at);
      ndjson = grown;
    }
    starts[i] = at;
    at += ndjson.write(text, at);
    ends[i] = at;
    ndjson[at++] = 0x0a;
  }
  return { ndjson: ndjson.subarray(0, at), starts, ends };
}

/** The key a device's readings are sent with (so one device's readings stay in one partition, in order). */
export function sensorKey(index: number): string {
  return `d${index % 2000}`;
}

/** Mean payload bytes of a set (without the NDJSON newlines). */
export function averagePayloadBytes({ ndjson, starts }: SensorPayloads): number {
  return (ndjson.length - starts.length) / starts.length;
}
