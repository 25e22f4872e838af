/**
 * Sensor readings (mappings/demo/sensor.yaml): 2,000 gas detectors over the districts, each reporting every 5 minutes
 * up to the run, ~185 bytes a reading. Invalid ones: the value as text, an unknown region, a line cut short, a time
 * before 2000 or days ahead.
 */
import { type GenerateOptions, implausibleTime, type PayloadSet, shanghaiLocal, timeline } from './payload-set.js';
import { recordPayloads } from './record-payloads.js';
import { districts, UNKNOWN_REGION } from './regions.js';

const DEVICES = 2_000;

export function sensorPayloads(count: number, { seed, now }: GenerateOptions): PayloadSet {
  // One reading of every device per 5 minutes of event time.
  const timeOf = timeline(count, DEVICES * 12, now);
  return recordPayloads(count, seed, 200, (i, kind, random) => {
    const device = i % DEVICES;
    const region = districts[device % districts.length]!;
    const value = Math.round(random() * 4000) / 10;
    const text = JSON.stringify({
      dev: `GAS-${region}-${String(device).padStart(4, '0')}`,
      kind: 'gas_methane',
      metric: 'methane',
      val: kind === 'schema' ? String(value) : value,
      unit: 'ppm',
      ts: shanghaiLocal(kind === 'time' ? implausibleTime(random, now) : timeOf(i)),
      adcode: kind === 'region' ? UNKNOWN_REGION : region,
      grid: `${region}001001${String(device % 1000).padStart(3, '0')}`,
      lng: 120 + (device % 100) / 100,
      lat: 30 + (device % 50) / 100,
    });
    return { value: text, key: `d${device}` };
  });
}
