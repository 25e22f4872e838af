/** What a province's roll-up row of one (indicator, grain, period) must hold: its members' figures summed. */
export interface RollUpSum {
  /** NULL when any member's numerator is (an indicator without one, such as a composite score). */
  numerator: number | null;
  denominator: number;
  members: number;
}

/**
 * The roll-up recomputed from each member's rows at its own region ([indicator, grain, period, numerator,
 * denominator], as its marts file holds them), keyed `indicator grain period`: numerators and denominators summed,
 * never values averaged.
 */
export function sumMemberRows(members: readonly (readonly unknown[])[][]): Map<string, RollUpSum> {
  const expected = new Map<string, RollUpSum>();
  for (const rows of members)
    for (const [code, grain, period, numerator, denominator] of rows) {
      const key = `${code} ${grain} ${period}`;
      const sum = expected.get(key) ?? { numerator: 0, denominator: 0, members: 0 };
      sum.numerator = sum.numerator === null || numerator === null ? null : sum.numerator + Number(numerator);
      sum.denominator += Number(denominator);
      sum.members += 1;
      expected.set(key, sum);
    }
  return expected;
}
