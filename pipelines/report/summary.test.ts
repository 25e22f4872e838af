import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../hub.js';
import { formatSummary } from './summary.js';

const base: RunSummary = {
  durationMs: 1234,
  stats: { feeds: {}, rows: {}, files: 0, flushes: 0 },
  sent: {},
  connectors: [],
  marts: null,
  problems: [],
};

describe('the run summary', () => {
  it('gives each connector a line: appended messages and bytes, its dead letters, retries, counters, what went wrong', () => {
    const text = formatSummary({
      ...base,
      connectors: [
        {
          id: 'sensors',
          kind: 'sensor-mqtt',
          health: {
            state: 'stopped',
            sent: { sensor: 2_500 },
            dead_lettered: { sensor: 1 },
            bytes_sent: { sensor: 3 * 1024 * 1024 },
            retries: 2,
            last_error_at: '2026-12-02T10:00:00.000Z',
            progress: { received: 2_500, connects: 1, batches: 0 },
          },
        },
        {
          id: 'hotline',
          kind: 'hotline-rest',
          health: { state: 'failed', sent: {}, error: 'GET /api/orders answered 500' },
        },
      ],
    });
    expect(text).toContain(
      'sensors (sensor-mqtt) stopped: 2,500 messages, 3.0 MiB 1 dead-lettered 2 retries · received 2,500, connects 1 · last error at 2026-12-02T10:00:00.000Z',
    );
    expect(text).toContain(
      'hotline (hotline-rest) failed: 0 messages, 0 B 0 dead-lettered 0 retries · error: GET /api/orders answered 500',
    );
  });

  it('has no connector section when the run had no connectors (the pipeline role)', () => {
    expect(formatSummary(base)).not.toContain('connectors (');
  });
});
