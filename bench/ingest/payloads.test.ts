/**
 * The ingest bench's payloads say truly what the pipeline must make of them: normalized message by message with the
 * feed's normalizer, they come to exactly the records, landings and dead letters per reason the generator tallied;
 * the same seed gives the same bytes; every valid event time lies within the 30 days before the run.
 */
import { describe, expect, it } from 'vitest';
import { benchFeeds, benchNormalizer, feedBenches } from './feeds.js';
import type { PayloadSet } from './payload-set.js';

// The normalizers judge times against the clock: the payloads are made for now, as the bench makes them.
const now = Date.now();

function normalizeAll(feed: (typeof benchFeeds)[number], set: PayloadSet) {
  const normalizer = benchNormalizer(feedBenches[feed].feed);
  const out = { sent: 0, landed: 0, deadLettered: 0, reasons: {} as Record<string, number>, times: [] as number[] };
  for (let i = 0; i < set.messages; i++) {
    const value = set.ndjson.subarray(set.offsets[4 * i]!, set.offsets[4 * i + 1]!);
    const result = normalizer.normalize(value);
    out.sent += result.received;
    out.landed += result.landed;
    for (const letter of result.deadLetters) {
      out.deadLettered += letter.records ?? 1;
      out.reasons[letter.reason_code] = (out.reasons[letter.reason_code] ?? 0) + (letter.records ?? 1);
    }
    for (const row of result.rows) {
      const at = row.row.observed_at ?? row.row.occurred_at ?? row.row.received_at ?? row.row.delivered_at;
      out.times.push(Date.parse(at as string));
    }
  }
  return out;
}

describe.each(benchFeeds)('%s payloads', (feed) => {
  const set = feedBenches[feed].generate(20_000, { seed: 7, now });

  it('come to the records, landings and dead letters per reason the generator expects', () => {
    const { times: _, ...got } = normalizeAll(feed, set);
    expect(got).toEqual(set.expected);
    expect(set.expected.sent).toBeGreaterThanOrEqual(20_000);
    for (const reason of ['invalid', 'unknown_region', 'malformed_json', 'implausible_time', 'duplicate'])
      expect(set.expected.reasons[reason], reason).toBeGreaterThan(0);
    // About 1% invalid and 1% duplicates.
    expect(set.expected.deadLettered / set.expected.sent).toBeGreaterThan(0.012);
    expect(set.expected.deadLettered / set.expected.sent).toBeLessThan(0.03);
  });

  it('are the same bytes for the same seed and run time, other bytes for another seed', () => {
    expect(feedBenches[feed].generate(20_000, { seed: 7, now }).ndjson.equals(set.ndjson)).toBe(true);
    expect(feedBenches[feed].generate(20_000, { seed: 8, now }).ndjson.equals(set.ndjson)).toBe(false);
  });

  it('land event times that vary, within the 30 days before the run', () => {
    const { times } = normalizeAll(feed, set);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(now - 30 * 86_400_000);
    expect(Math.max(...times)).toBeLessThanOrEqual(now);
    // Sensor times are to the second (~7 readings a second); a dept file's records share its delivery time.
    expect(new Set(times).size).toBeGreaterThan(times.length / (feed === 'dept' ? 2_000 : 10));
  });
});
