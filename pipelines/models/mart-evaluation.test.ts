/**
 * The four-dimension evaluation (mart_evaluation): indicator scores from the evaluation scheme, dimension scores as
 * weighted means of the scored indicators, the composite as the weighted mean of the dimensions (docs/indicators.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestMarts, cityEvent, hotline, tempDirs } from './testing.js';

let dirs: Awaited<ReturnType<typeof tempDirs>>;
beforeEach(async () => {
  dirs = await tempDirs();
});
afterEach(async () => {
  await dirs.cleanup();
});

const visited = { status: 'closed' as const, contacted: true, region_code: '330102' };

describe('mart_evaluation', () => {
  it('scores indicators against full_score_at, averages them by weight into dimensions and the composite', async () => {
    const { result, query } = await buildTestMarts(dirs, {
      regionCode: '330100',
      now: new Date('2026-10-01T00:00:00+08:00'),
      indicators: {
        evaluation: {
          dimension_weights: { service: 2, management: 1 },
          indicators: [
            { code: 'hotline_resolution_rate', weight: 2, full_score_at: 0.8 },
            { code: 'hotline_response_rate' },
            { code: 'event_closure_rate' },
            { code: 'sensor_online_rate' },
          ],
        },
      },
      lake: {
        hotline_case: [
          hotline({ case_id: 'c1', received_at: '2026-09-02T01:00:00Z', resolved: true, ...visited }),
          hotline({ case_id: 'c2', received_at: '2026-09-03T01:00:00Z', resolved: false, ...visited }),
        ],
        city_event: [
          cityEvent({
            event_id: 'e1',
            reported_at: '2026-09-02T01:00:00Z',
            registered_at: '2026-09-02T02:00:00Z',
            closed_at: '2026-09-03T02:00:00Z',
            status: 'closed',
          }),
          cityEvent({
            event_id: 'e2',
            reported_at: '2026-09-04T01:00:00Z',
            registered_at: '2026-09-04T02:00:00Z',
            status: 'registered',
          }),
        ],
      },
    });
    expect(result.tests.filter((t) => !t.passed)).toEqual([]);
    const rows = await query(
      `select region_code, level, dimension, indicator_code, value, score, weight, scored_count, indicator_count
       from mart_evaluation where grain = 'month' and period = '2026-09' and region_code in ('330100', '330106')
       order by region_code, level, dimension, indicator_code`,
    );
    const row = (
      region_code: string,
      level: string,
      dimension: string,
      indicator_code: string,
      value: number | null,
      score: number | null,
      weight: number,
      scored: number,
      count: number,
    ) => ({
      region_code,
      level,
      dimension,
      indicator_code,
      value,
      score,
      weight,
      scored_count: scored,
      indicator_count: count,
    });
    // Service: resolution 0.5 scores 100 × 0.5 / 0.8 = 62.5 (weight 2), response 1 scores 100: (125 + 100) / 3 = 75.
    // Management: closure 1 of 2 registered = 50. Operation: no registered devices, no value: NULL, not 0.
    // Composite: (2 × 75 + 1 × 50) / 3; operation has no score and weighs nothing.
    const city = [
      row('330100', 'composite', 'all', 'all', null, (2 * 75 + 50) / 3, 1, 3, 4),
      row('330100', 'dimension', 'management', 'all', null, 50, 1, 1, 1),
      row('330100', 'dimension', 'operation', 'all', null, null, 1, 0, 1),
      row('330100', 'dimension', 'service', 'all', null, 75, 2, 2, 2),
      row('330100', 'indicator', 'management', 'event_closure_rate', 0.5, 50, 1, 1, 1),
      row('330100', 'indicator', 'operation', 'sensor_online_rate', null, null, 1, 0, 1),
      row('330100', 'indicator', 'service', 'hotline_resolution_rate', 0.5, 62.5, 2, 1, 1),
      row('330100', 'indicator', 'service', 'hotline_response_rate', 1, 100, 1, 1, 1),
    ];
    expect(rows.filter((r) => r.region_code === '330100')).toEqual(
      city.map((r) => ({ ...r, score: r.score === null ? null : expect.closeTo(r.score, 9) })),
    );
    // 西湖区 has no data: every score NULL, nothing scored.
    expect(rows.filter((r) => r.region_code === '330106').map((r) => [r.level, r.score, r.scored_count])).toEqual([
      ['composite', null, 0],
      ['dimension', null, 0],
      ['dimension', null, 0],
      ['dimension', null, 0],
      ['indicator', null, 0],
      ['indicator', null, 0],
      ['indicator', null, 0],
      ['indicator', null, 0],
    ]);
    // The quarter is scored from the quarter's own rates, and the default scheme scores every ratio indicator.
    const quarter = await query(
      `select score from mart_evaluation where grain = 'quarter' and region_code = '330100' and level = 'composite'`,
    );
    expect(quarter).toEqual([{ score: expect.closeTo((2 * 75 + 50) / 3, 9) }]);
  });

  it('by default scores every ratio indicator of the catalog where higher is better, and rejects an unknown code', async () => {
    const { query } = await buildTestMarts(dirs, {
      regionCode: '330100',
      now: new Date('2026-10-01T00:00:00+08:00'),
      lake: { hotline_case: [hotline({ case_id: 'c1', received_at: '2026-09-02T01:00:00Z', ...visited })] },
    });
    const scored = await query(
      `select list(distinct indicator_code order by indicator_code) as codes from mart_evaluation where level = 'indicator'`,
    );
    const expected = await query(
      `select list(code order by code) as codes from mart_indicators where unit = 'ratio' and higher_is_better`,
    );
    expect(scored).toEqual(expected);
    expect((expected[0]!.codes as string[]).length).toBeGreaterThanOrEqual(15);

    await expect(
      buildTestMarts(dirs, {
        regionCode: '330100',
        now: new Date('2026-10-01T00:00:00+08:00'),
        lake: {},
        indicators: { evaluation: { indicators: [{ code: 'no_such_rate' }] } },
      }),
    ).rejects.toThrow(
      /models\.indicators\.evaluation\.indicators\[0\]\.code: "no_such_rate" is not in the indicator catalog/,
    );
  });
});
