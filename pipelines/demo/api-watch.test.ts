import { describe, expect, it } from 'vitest';
import { describeRollUp } from './api-watch.js';

describe("the province's roll-up report", () => {
  const row = (indicator_code: string, period: string, over: object = {}) => ({
    indicator_code,
    period,
    is_complete: true,
    value: 0.5,
    numerator: 5,
    denominator: 10,
    member_count: 3,
    source: 'rollup',
    ...over,
  });
  const members = [
    { member_id: 'hangzhou', snapshot_id: '7', stale: false, last_error: null },
    { member_id: 'ningbo', snapshot_id: null, stale: true, last_error: 'GET /readyz failed: 503' },
  ];

  it('leads with the latest complete month and says which members are fresh', () => {
    const lines = describeRollUp('330000', members, [
      row('data_sharing_rate', '2026-10', { value: 0.1 }),
      row('data_sharing_rate', '2026-11'),
      row('data_sharing_rate', '2026-12', { is_complete: false, value: 0.9 }),
      row('sensor_online_rate', '2026-11', { value: null, numerator: null }),
      row('hotline_resolution_rate', '2026-11', { source: 'member' }),
    ]);
    expect(lines).toEqual([
      'province roll-up 330000: 1 of 2 members pulled and fresh (hangzhou); stale: ningbo (GET /readyz failed: 503)',
      '  2026-11  data_sharing_rate        50.0% = 5/10 summed over 3 member(s)',
      '  2026-11  scenario_coverage_rate     n/a',
      '  2026-11  hotline_resolution_rate    n/a',
      '  2026-11  event_closure_rate         n/a',
      '  2026-11  sensor_online_rate         n/a',
    ]);
  });

  it('says when no month is complete yet', () => {
    expect(describeRollUp('330000', [], [row('data_sharing_rate', '2026-12', { is_complete: false })])).toEqual([
      'province roll-up 330000: 0 of 0 members pulled and fresh',
      '  no complete month rolled up yet',
    ]);
  });
});
