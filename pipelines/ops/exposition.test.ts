/**
 * The Prometheus text writer, read back by the strict reader of test/support (written from the format's
 * description): label escaping, cumulative histogram buckets, HELP and TYPE once per family.
 */
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from '../../test/support/prometheus-text.js';
import { DeadLetterWindow } from './dead-letter-window.js';
import { escapeLabelValue, exposition, InvalidMetricError, type MetricFamily } from './exposition.js';
import { Histogram, LabeledCounter } from './instruments.js';

describe('the exposition writer', () => {
  it('escapes backslash, double quote and line feed in label values, and the reader gets the value back', () => {
    const nasty = 'C:\\lake\\"raw"\nline 2 {a="b"}';
    expect(escapeLabelValue(nasty)).toBe('C:\\\\lake\\\\\\"raw\\"\\nline 2 {a=\\"b\\"}');
    const text = exposition([
      {
        name: 'cityhub_test_total',
        help: 'help with a "quote", a back\\slash\nand a line feed',
        type: 'counter',
        samples: [{ labels: { reason: nasty, feed: 'sensor' }, value: 3 }],
      },
    ]);
    // One line per sample: the line feed inside the value is escaped, not written.
    expect(text.split('\n').filter((line) => line.startsWith('cityhub_test_total'))).toHaveLength(1);
    // HELP escapes backslash and line feed only.
    expect(text).toContain('# HELP cityhub_test_total help with a "quote", a back\\\\slash\\nand a line feed\n');
    const parsed = parsePrometheusText(text);
    expect(parsed.get('cityhub_test_total')?.help).toBe('help with a "quote", a back\\slash\nand a line feed');
    expect(sampleValue(parsed, 'cityhub_test_total', { reason: nasty, feed: 'sensor' })).toBe(3);
  });

  it('writes a histogram as cumulative buckets ending in +Inf = count, with its sum', () => {
    const histogram = new Histogram('cityhub_flush_duration_seconds', 'flushes', [0.01, 0.05, 1, 10]);
    for (const seconds of [0.005, 0.01, 0.03, 0.03, 7, 100]) histogram.observe(seconds);
    const parsed = parsePrometheusText(exposition([histogram.family()]));
    const family = parsed.get('cityhub_flush_duration_seconds')!;
    expect(family.type).toBe('histogram');
    const buckets = family.samples
      .filter((s) => s.name === 'cityhub_flush_duration_seconds_bucket')
      .map((s) => [s.labels.le, s.value]);
    // An observation equal to a bound is counted in that bucket (le: less than or equal).
    expect(buckets).toEqual([
      ['0.01', 2],
      ['0.05', 4],
      ['1', 4],
      ['10', 5],
      ['+Inf', 6],
    ]);
    expect(sampleValue(parsed, 'cityhub_flush_duration_seconds', {}, 'cityhub_flush_duration_seconds_count')).toBe(6);
    expect(sampleValue(parsed, 'cityhub_flush_duration_seconds', {}, 'cityhub_flush_duration_seconds_sum')).toBeCloseTo(
      107.075,
    );
  });

  it('writes HELP and TYPE once per family, before its samples, and refuses a family given twice', () => {
    const counter = new LabeledCounter('cityhub_api_requests_total', 'requests', ['route', 'status'] as const);
    counter.inc(['/api/v1/status', '401']);
    counter.inc(['/api/v1/status', '200']);
    counter.inc(['/api/v1/status', '200']);
    const gauge: MetricFamily = {
      name: 'cityhub_bus_lag_messages',
      help: 'lag',
      type: 'gauge',
      samples: [
        { labels: { topic: 'raw.sensor', partition: '0' }, value: 4 },
        { labels: { topic: 'raw.sensor', partition: '1' }, value: 0 },
      ],
    };
    const text = exposition([counter.family(), gauge]);
    for (const name of ['cityhub_api_requests_total', 'cityhub_bus_lag_messages']) {
      expect(text.match(new RegExp(`^# HELP ${name} `, 'gm'))).toHaveLength(1);
      expect(text.match(new RegExp(`^# TYPE ${name} `, 'gm'))).toHaveLength(1);
    }
    const parsed = parsePrometheusText(text);
    expect(sampleValue(parsed, 'cityhub_api_requests_total', { route: '/api/v1/status', status: '200' })).toBe(2);
    expect(sampleValue(parsed, 'cityhub_api_requests_total', { route: '/api/v1/status', status: '401' })).toBe(1);
    expect(sampleValue(parsed, 'cityhub_bus_lag_messages', { topic: 'raw.sensor', partition: '0' })).toBe(4);
    expect(() => exposition([gauge, gauge])).toThrow(InvalidMetricError);
    // The reader refuses the same (a family split in two is not the format).
    expect(() => parsePrometheusText(`${exposition([gauge])}${exposition([gauge])}`)).toThrow(/second HELP/);
  });

  it('refuses a counter without _total, a bad name, a reserved label and descending histogram bounds', () => {
    const sample = [{ value: 1 }];
    expect(() => exposition([{ name: 'cityhub_records', help: 'x', type: 'counter', samples: sample }])).toThrow(
      InvalidMetricError,
    );
    expect(() => exposition([{ name: 'city-hub', help: 'x', type: 'gauge', samples: sample }])).toThrow(
      InvalidMetricError,
    );
    expect(() =>
      exposition([{ name: 'cityhub_x', help: 'x', type: 'gauge', samples: [{ labels: { __name__: 'y' }, value: 1 }] }]),
    ).toThrow(InvalidMetricError);
    expect(() => exposition([new Histogram('cityhub_h', 'x', [1, 0.5]).family()])).toThrow(InvalidMetricError);
  });

  it('writes NaN and infinities as the format spells them', () => {
    const text = exposition([
      {
        name: 'cityhub_x',
        help: 'x',
        type: 'gauge',
        samples: [
          { labels: { v: 'nan' }, value: Number.NaN },
          { labels: { v: 'inf' }, value: Number.POSITIVE_INFINITY },
          { labels: { v: '-inf' }, value: Number.NEGATIVE_INFINITY },
        ],
      },
    ]);
    expect(text).toContain('cityhub_x{v="nan"} NaN\n');
    expect(text).toContain('cityhub_x{v="inf"} +Inf\n');
    expect(text).toContain('cityhub_x{v="-inf"} -Inf\n');
  });
});

describe('DeadLetterWindow', () => {
  const counts = (invalid: number, duplicate = 0) =>
    new Map([
      [
        'sensor',
        new Map([
          ['invalid', invalid],
          ['duplicate', duplicate],
        ]),
      ],
    ]);

  it('counts everything since start while the process is younger than an hour, then only the last hour', () => {
    const start = Date.parse('2026-08-01T00:00:00Z');
    const window = new DeadLetterWindow(start);
    const minute = 60_000;
    // 2 invalid in the first minute, then 1 a minute for 90 minutes; a status every minute samples the counts.
    let invalid = 2;
    window.sample(start + minute, counts(invalid));
    expect(window.lastHour(start + minute, counts(invalid))).toEqual([
      { feed: 'sensor', reason: 'invalid', records: 2 },
    ]);
    for (let m = 2; m <= 90; m++) {
      invalid++;
      window.sample(start + m * minute, counts(invalid, 5));
    }
    // At minute 90: the baseline is the copy taken at minute 30 (invalid = 2 + 29), so 60 in the last hour.
    expect(window.lastHour(start + 90 * minute, counts(invalid, 5))).toEqual([
      { feed: 'sensor', reason: 'invalid', records: 60 },
    ]);
  });
});
