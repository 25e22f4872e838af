import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { catalogs as catalogSchemas } from '../../schemas/index.js';
import { buildDemoCity, clearPhones, groundTruth, historyMessages, liveMessages, videoEventCodes } from './index.js';
import { city, options } from './testing/fixtures.js';
import type { DemoCity } from './types.js';

function digest(c: DemoCity): string {
  const h = createHash('sha256');
  for (const m of historyMessages(c)) h.update(`${m.feed}\u0000${m.key}\u0000${m.value}\u0001`);
  return h.digest('hex');
}

describe('determinism', () => {
  it('the same seed gives byte-identical messages and the same ground truth', () => {
    const a = buildDemoCity(options({ seed: 11 }));
    const b = buildDemoCity(options({ seed: 11 }));
    expect(digest(a)).toBe(digest(b));
    expect(groundTruth(a)).toEqual(groundTruth(b));
    expect(a.catalogs).toEqual(b.catalogs);
  });

  it('a different seed gives different messages and a different ground truth', () => {
    const a = city({ seed: 11 });
    const b = city({ seed: 12 });
    expect(digest(a)).not.toBe(digest(b));
    expect(groundTruth(a)).not.toEqual(groundTruth(b));
  });

  it('live messages depend only on the seed and the instants, not on how the window is split', () => {
    const c = city();
    const from = Date.UTC(2026, 3, 1, 2, 0, 0);
    const whole = [...liveMessages(c, from, from + 2000)];
    const split = [...liveMessages(c, from, from + 700), ...liveMessages(c, from + 700, from + 2000)];
    expect(split).toEqual(whole);
    expect(whole).toEqual([...liveMessages(city(), from, from + 2000)]);
  });
});

describe('catalogs', () => {
  const c = city();
  for (const name of ['regions', 'data_resources', 'scenarios', 'devices'] as const) {
    it(`${name} validate against the zod schema unchanged`, () => {
      expect(c.catalogs[name].length).toBeGreaterThan(0);
      for (const entry of c.catalogs[name]) expect(catalogSchemas[name].parse(entry)).toEqual(entry);
    });
  }

  it('the data-resource catalog has every update cycle and share type, with entries coming into and out of force', () => {
    const r = c.catalogs.data_resources;
    expect(new Set(r.map((x) => x.update_frequency))).toEqual(
      new Set(['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly']),
    );
    expect(new Set(r.map((x) => x.share_type))).toEqual(new Set(['unconditional', 'conditional', 'not_shared']));
    expect(r.some((x) => x.valid_from && x.valid_from > '2026-01-01' && x.valid_from < '2026-03-31')).toBe(true);
    expect(r.some((x) => x.valid_to && x.valid_to > '2026-01-01' && x.valid_to < '2026-03-31')).toBe(true);
  });

  it('the device registry has devices installed and removed mid-history, intervals per device', () => {
    const d = c.catalogs.devices;
    expect(d.some((x) => x.installed_on && x.installed_on > '2026-01-01')).toBe(true);
    expect(d.some((x) => x.removed_on && x.removed_on < '2026-03-31')).toBe(true);
    expect(new Set(d.map((x) => x.reporting_interval_s)).size).toBeGreaterThan(1);
    expect(new Set(d.map((x) => x.device_type))).toEqual(
      new Set([
        'gas_methane',
        'water_pressure',
        'water_flow',
        'drain_level',
        'bridge_strain',
        'bridge_deflection',
        'manhole_tilt',
      ]),
    );
  });

  it('the scenario catalog mixes levels, prefixes, required feeds and closed-loop rules', () => {
    const s = c.catalogs.scenarios;
    expect(s.map((x) => x.name)).toEqual(
      expect.arrayContaining([
        '燃气泄漏监测',
        '供水管网监测',
        '排水防涝/积水监测',
        '桥梁安全监测',
        '暴露垃圾识别',
        '占道经营识别',
        '违停识别',
        '12345诉求分析',
      ]),
    );
    expect(new Set(s.map((x) => x.level))).toEqual(new Set(['city', 'district']));
    expect(s.some((x) => x.regions.join() === '3301')).toBe(true);
    expect(s.some((x) => x.regions.length === 0)).toBe(true);
    expect(s.some((x) => x.closed_loop) && s.some((x) => !x.closed_loop)).toBe(true);
  });

  it('the video code table maps both vendors to national event classes', () => {
    expect(videoEventCodes).toHaveLength(12);
    expect(videoEventCodes).toContainEqual({ vendor: 'hik', code: '890', event_class: '0101', name: '暴露垃圾' });
    expect(videoEventCodes).toContainEqual({
      vendor: 'dh',
      code: 'ILLEGAL_PARKING',
      event_class: '0505',
      name: '机动车乱停放',
    });
  });
});

describe('volume', () => {
  // How fast the history is generated is the benchmark's business, not a timed unit test's.
  it('scale 1 gives 30–60k raw messages over 3 months', () => {
    const c = buildDemoCity(options({ scale: 1 }));
    let n = 0;
    for (const _ of historyMessages(c)) n++;
    expect(n).toBeGreaterThan(30_000);
    expect(n).toBeLessThan(60_000);
  });

  it('volume is roughly linear in scale', () => {
    const small = city().plan.messages.length;
    const large = city({ scale: 0.4 }).plan.messages.length;
    expect(large / small).toBeGreaterThan(1.6);
    expect(large / small).toBeLessThan(2.4);
  });

  it('a one-month history works too', () => {
    const c = city({ months: 1, startMonth: '2026-07' });
    const gt = groundTruth(c);
    expect(new Set(gt.data_sharing.map((r) => r.period))).toEqual(new Set(['2026-07', '2026-Q3', '2026']));
  });
});

describe('live', () => {
  it('stamps realistic messages inside the window at ~200/s at scale 1', () => {
    const c = city({ scale: 1 });
    const from = Date.UTC(2026, 3, 2, 1, 0, 0);
    const msgs = [...liveMessages(c, from, from + 5000)];
    expect(msgs.length).toBeGreaterThanOrEqual(900);
    expect(msgs.length).toBeLessThanOrEqual(1100);
    expect(new Set(msgs.map((m) => m.feed))).toEqual(new Set(['sensor', 'video', 'hotline', 'event', 'dept']));
    for (const m of msgs) expect(() => JSON.parse(m.value)).not.toThrow();
    const phones = new Set(clearPhones(c));
    for (const m of msgs.filter((x) => x.feed === 'hotline')) {
      expect(phones.has((JSON.parse(m.value) as { caller: { phone: string } }).caller.phone)).toBe(true);
    }
  });
});
