import { describe, expect, it } from 'vitest';
import { flawsByFeed, OVERSIZED_BYTES } from './broken.js';
import { clearPhones, groundTruth, historyMessages, videoEventCodes } from './index.js';
import { city } from './testing/fixtures.js';
import { documentedKeys, type Outcome, RawReader } from './testing/raw-reader.js';
import { dayOf } from './time.js';
import { type CanonicalFacts, type Feed, feeds } from './types.js';

const c = city();
const messages = [...historyMessages(c)];
const reader = new RawReader(new Set(c.catalogs.regions.map((r) => r.code)), videoEventCodes);
const outcomes: Outcome[] = messages.map((m) => reader.read(m));
const planned = c.plan.messages;

function sorted(rows: readonly unknown[]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

describe('raw messages', () => {
  it('every feed is present and interleaved, roughly in time order', () => {
    expect(new Set(messages.map((m) => m.feed))).toEqual(new Set(feeds));
    const firstThousand = new Set(messages.slice(0, 1000).map((m) => m.feed));
    expect(firstThousand.size).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < planned.length; i++) expect(planned[i]!.emitMs).toBeGreaterThanOrEqual(planned[i - 1]!.emitMs);
  });

  it('every valid message is accepted by a reader written from docs/feeds.md, every broken one rejected', () => {
    planned.forEach((p, i) => {
      const o = outcomes[i]!;
      if (p.kind === 'valid')
        expect(o.reason, `${p.feed} ${p.key}: ${messages[i]!.value.slice(0, 300)}`).toBeUndefined();
      else expect(o.reason, `${p.kind} ${p.flaw ?? ''} ${p.feed} ${p.key}`).toBeDefined();
      expect(o.units).toBe(p.units);
      expect(o.landed).toBe(p.landed);
    });
  });

  it('broken messages are rejected for the reason they were broken', () => {
    const expectedReason: Record<string, string> = {
      malformed_json: 'malformed_json',
      missing_field: 'invalid',
      wrong_type: 'invalid',
      unknown_region: 'unknown_region',
      impossible_time: 'implausible_time',
      oversized: 'oversized',
      unknown_vendor_code: 'unmapped_code',
      unknown_unit: 'unmapped_code',
    };
    planned.forEach((p, i) => {
      if (p.kind === 'duplicate') expect(outcomes[i]!.reason).toBe('duplicate');
      if (p.kind === 'invalid') expect(outcomes[i]!.reason).toBe(expectedReason[p.flaw!]);
    });
  });

  it('every kind of flaw occurs in every feed it applies to, and every feed has duplicates', () => {
    for (const feed of feeds) {
      const flaws = new Set(planned.filter((p) => p.feed === feed && p.kind === 'invalid').map((p) => p.flaw));
      expect([...flaws].sort()).toEqual([...flawsByFeed[feed]].sort());
      expect(planned.some((p) => p.feed === feed && p.kind === 'duplicate')).toBe(true);
    }
    const oversized = planned.find((p) => p.flaw === 'oversized')!;
    expect(Buffer.byteLength(oversized.value)).toBeGreaterThan(1024 * 1024);
    expect(Buffer.byteLength(oversized.value)).toBeGreaterThan(OVERSIZED_BYTES);
  });

  it('duplicates are exact re-sends of an earlier valid message', () => {
    const earlier = new Set<string>();
    planned.forEach((p) => {
      const id = `${p.feed}\u0000${p.key}\u0000${p.value}`;
      if (p.kind === 'duplicate') expect(earlier.has(id)).toBe(true);
      if (p.kind === 'valid') earlier.add(id);
    });
  });

  it('what the messages say is exactly the plan the ground truth is computed from', () => {
    for (const dataset of Object.keys(c.plan.facts) as (keyof CanonicalFacts)[]) {
      expect(sorted(reader.facts[dataset]), dataset).toEqual(sorted(c.plan.facts[dataset]));
    }
  });

  it('per-feed counts follow docs/feeds.md "Counting" and match the ground truth', () => {
    const expected = groundTruth(c).expected;
    expect(reader.counts).toEqual(expected);
    for (const feed of feeds) {
      const e = expected[feed];
      expect(e.received).toBe(e.landed + e.dead_lettered);
      expect(e.dead_lettered).toBeGreaterThan(0);
    }
    // dept counts records: a non-JSON message counts one, an empty delivery none.
    const nonJson = planned.find((p) => p.feed === 'dept' && p.flaw === 'malformed_json')!;
    expect(nonJson.units).toBe(1);
    expect(c.plan.facts.dept_delivery.some((d) => d.record_count === 0)).toBe(true);
    expect(c.plan.facts.dept_delivery.some((d) => d.record_count > 0 && d.valid_count === 0)).toBe(true);
    expect(c.plan.facts.dept_delivery.some((d) => d.valid_count > 0 && d.valid_count < d.record_count)).toBe(true);
  });

  it('valid payloads use only the documented fields, keyed as documented', () => {
    const keyField: Record<Feed, string> = {
      sensor: 'dev',
      video: 'alarmId',
      hotline: 'orderNo',
      event: 'caseId',
      dept: 'resourceCode',
    };
    const problems: string[] = [];
    for (const p of planned) {
      if (p.kind !== 'valid') continue;
      const payload = JSON.parse(p.value) as Record<string, unknown>;
      for (const k of Object.keys(payload)) if (!documentedKeys[p.feed].includes(k)) problems.push(`${p.feed}.${k}`);
      if (payload[keyField[p.feed]] !== p.key) problems.push(`${p.feed} key ${p.key}`);
    }
    expect(problems).toEqual([]);
  });

  it('valid events happen inside the history months (Asia/Shanghai); only lifecycle times may run later', () => {
    const { startDay, endDay } = c.plan.history;
    const f = c.plan.facts;
    const days = [
      ...f.sensor_reading.map((r) => r.observed_at_ms),
      ...f.video_alert.map((r) => r.occurred_at_ms),
      ...f.hotline_case.map((r) => r.received_at_ms),
      ...f.city_event.map((r) => r.reported_at_ms),
      ...f.dept_delivery.map((r) => r.delivered_at_ms),
    ].map(dayOf);
    expect(Math.min(...days)).toBe(startDay);
    expect(Math.max(...days)).toBe(endDay - 1);
  });

  it('sensor readings come in several units and time formats; video from two vendors', () => {
    const sensor = planned.filter((p) => p.feed === 'sensor' && p.kind === 'valid').map((p) => JSON.parse(p.value));
    expect(new Set(sensor.map((s) => s.unit)).size).toBeGreaterThanOrEqual(10);
    expect(new Set(sensor.map((s) => typeof s.ts))).toEqual(new Set(['string', 'number']));
    expect(sensor.some((s) => typeof s.ts === 'string' && s.ts.endsWith('+08:00'))).toBe(true);
    expect(sensor.some((s) => typeof s.ts === 'string' && /\.\d{3}$/.test(s.ts))).toBe(true);
    const video = planned.filter((p) => p.feed === 'video' && p.kind === 'valid').map((p) => JSON.parse(p.value));
    expect(new Set(video.map((v) => v.vendor))).toEqual(new Set(['hik', 'dh']));
    expect(new Set(video.map((v) => v.state))).toEqual(
      new Set(['new', 'confirmed', 'false_positive', 'dispatched', 'closed']),
    );
  });

  it('city events come from every source kind, some closed, some never, some cancelled, some out of order', () => {
    const events = c.plan.facts.city_event;
    expect(new Set(events.map((e) => e.source_kind))).toEqual(new Set(['video', 'sensor', 'grid', 'hotline', 'other']));
    const statuses = new Map<string, Set<string>>();
    for (const e of events) statuses.set(e.event_id, (statuses.get(e.event_id) ?? new Set()).add(e.status));
    const finals = [...statuses.values()];
    expect(finals.some((s) => s.has('closed'))).toBe(true);
    expect(finals.some((s) => s.has('cancelled'))).toBe(true);
    expect(finals.some((s) => !s.has('closed') && !s.has('cancelled'))).toBe(true);
    // At least one closed snapshot is sent before its verified one.
    const order = new Map<string, string[]>();
    for (const p of planned) {
      if (p.feed !== 'event' || p.kind !== 'valid') continue;
      order.set(p.key, [...(order.get(p.key) ?? []), JSON.parse(p.value).status]);
    }
    expect([...order.values()].some((s) => s.indexOf('结案') >= 0 && s.indexOf('结案') < s.indexOf('核查'))).toBe(true);
  });
});

describe('personal data', () => {
  const phones = clearPhones(c);

  it('callers have realistic clear mobile numbers and names', () => {
    expect(phones.length).toBeGreaterThan(50);
    for (const phone of phones) expect(phone).toMatch(/^1[3-9]\d{9}$/);
    const hotline = planned.filter((p) => p.feed === 'hotline' && p.kind === 'valid').map((p) => JSON.parse(p.value));
    for (const h of hotline) {
      expect(phones).toContain(h.caller.phone);
      expect(h.caller.name).toMatch(/^\p{Script=Han}{2,3}$/u);
    }
  });

  it('a clear phone appears in no message outside the hotline feed', () => {
    const pattern = new RegExp(phones.join('|'));
    for (const p of planned)
      if (p.feed !== 'hotline' && p.flaw !== 'oversized') expect(pattern.test(p.value)).toBe(false);
  });
});
