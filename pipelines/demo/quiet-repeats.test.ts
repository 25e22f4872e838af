import { describe, expect, it } from 'vitest';
import { QuietRepeats } from './quiet-repeats.js';

function shown(lines: string[]): string[] {
  const out: string[] = [];
  const quiet = new QuietRepeats((line) => out.push(line));
  for (const line of lines) quiet.push(line);
  quiet.end();
  return out;
}

const report = (rate: string) => [
  'indicators 2026-11          data-sharing rate        key-scenario coverage   (target 90%)',
  `  330100 杭州市         ${rate} (9/14)              23.3% (10/43)`,
  '  330102 上城区         50.0% (1/2)               66.7% (2/3)',
];

describe('a demo hub output', () => {
  it('shows a progress line only when its counts change, whatever the elapsed time says', () => {
    expect(
      shown([
        '[5s] messages sent 10 · records in 0',
        '[10s] messages sent 12 · records in 12',
        '[15s] messages sent 12 · records in 12',
        '[20s] messages sent 12 · records in 12',
        'api listening on http://127.0.0.1:1 (1 token(s))',
        '[25s] messages sent 12 · records in 12',
      ]),
    ).toEqual([
      '[5s] messages sent 10 · records in 0',
      '[10s] messages sent 12 · records in 12',
      'api listening on http://127.0.0.1:1 (1 token(s))',
    ]);
  });

  it('shows an indicators report only when it differs from the previous one, in full', () => {
    const first = report('64.3%');
    const changed = report('85.7%');
    expect(shown([...first, '[5s] x', ...first, '[10s] y', ...changed, '[15s] y', ...changed])).toEqual([
      ...first,
      '[5s] x',
      '[10s] y',
      ...changed,
    ]);
  });

  it('shows a report that is shorter or longer than the previous one, and one cut off by the end', () => {
    const full = report('64.3%');
    expect(shown([...full, 'stop', ...full.slice(0, 2), 'next', ...full, 'indicators: more'])).toEqual([
      ...full,
      'stop',
      ...full.slice(0, 2),
      'next',
      ...full,
      'indicators: more',
    ]);
    expect(shown(['indicators: no data landed yet', 'x', 'indicators: no data landed yet'])).toEqual([
      'indicators: no data landed yet',
      'x',
    ]);
  });

  it('leaves everything else alone, repeated or not', () => {
    const lines = ['run summary (3.0 s)', '  feed    msgs sent', '  feed    msgs sent', 'problem: x', 'problem: x'];
    expect(shown(lines)).toEqual(lines);
  });
});
