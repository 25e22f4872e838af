/** What a pipeline run must have done with the payloads it was given; each failure named in words. */

import type { Expected } from './payload-set.js';
import type { PipelineResult } from './pipeline-run.js';

const n = (value: number) => value.toLocaleString('en');

/** Every way the run's counts differ from what was generated (empty: the run accounted for every record). */
export function accountingProblems(expected: Expected, result: PipelineResult): string[] {
  const counts = result.counts;
  if (!counts) return ['the lander counted nothing for the feed'];
  const problems: string[] = [];
  const { received, landed, dead_lettered: dead } = counts;
  if (landed + dead !== expected.sent)
    problems.push(
      `landed ${n(landed)} + dead-lettered ${n(dead)} = ${n(landed + dead)}, but ${n(expected.sent)} records were sent`,
    );
  if (received !== expected.sent) problems.push(`received ${n(received)} of ${n(expected.sent)} records sent`);
  if (landed !== expected.landed)
    problems.push(`landed ${n(landed)}, but ${n(expected.landed)} valid non-duplicate records were generated`);
  for (const reason of new Set([...Object.keys(expected.reasons), ...Object.keys(result.reasons)])) {
    const want = expected.reasons[reason] ?? 0;
    const got = result.reasons[reason] ?? 0;
    if (want !== got) problems.push(`dead-lettered ${n(got)} as ${reason}, ${n(want)} generated so`);
  }
  if (result.lake.rows !== landed)
    problems.push(`the lake holds ${n(result.lake.rows)} rows, the lander counted ${n(landed)} landed`);
  if (result.lake.deadLettered !== dead)
    problems.push(
      `the lake's dead letters stand for ${n(result.lake.deadLettered)} records, the lander counted ${n(dead)}`,
    );
  return problems;
}
