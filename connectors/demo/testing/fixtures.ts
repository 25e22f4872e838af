import { buildDemoCity } from '../city.js';
import type { DemoCity, DemoOptions } from '../types.js';
import { loadRegions } from './regions.js';

export const regions = loadRegions();

export function options(overrides: Partial<DemoOptions> = {}): DemoOptions {
  return { seed: 7, startMonth: '2026-01', months: 3, scale: 0.2, regions, ...overrides };
}

const cache = new Map<string, DemoCity>();

/** A city per option set, built once per test file. */
export function city(overrides: Partial<DemoOptions> = {}): DemoCity {
  const key = JSON.stringify({ ...overrides, regions: undefined });
  let c = cache.get(key);
  if (!c) {
    c = buildDemoCity(options(overrides));
    cache.set(key, c);
  }
  return c;
}
