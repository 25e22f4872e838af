import { feeds } from '../../connectors/types.js';
import type { RunSummary } from '../hub.js';

function n(value: number): string {
  return value.toLocaleString('en');
}

/** The per-dataset summary printed at the end of a run: what came in, what landed, what was dead-lettered. */
export function formatSummary(summary: RunSummary): string {
  const lines = [`run summary (${(summary.durationMs / 1000).toFixed(1)} s)`];
  lines.push('  feed    msgs sent  records in      landed  dead-lettered  in = landed + dead-lettered');
  for (const feed of feeds) {
    const c = summary.stats.feeds[feed] ?? { received: 0, landed: 0, dead_lettered: 0 };
    const balanced = c.received === c.landed + c.dead_lettered ? 'yes' : 'NO';
    lines.push(
      `  ${feed.padEnd(8)}${n(summary.sent[feed] ?? 0).padStart(11)}${n(c.received).padStart(12)}${n(c.landed).padStart(12)}${n(c.dead_lettered).padStart(15)}  ${balanced}`,
    );
  }
  lines.push("  (dept: records are counted one by one; a delivery's summary message counts none)");
  lines.push('  dataset rows landed:');
  for (const [dataset, rows] of Object.entries(summary.stats.rows))
    lines.push(`    ${dataset.padEnd(16)}${n(rows).padStart(10)}`);
  lines.push(`  lake files written: ${n(summary.stats.files)} in ${n(summary.stats.flushes)} flushes`);
  if (summary.marts) {
    lines.push(
      `  marts built: ${summary.marts.models} models → ${summary.marts.martsPath}; data tests ${summary.marts.testsFailed === 0 ? 'all passed' : `passed but ${summary.marts.testsFailed} warning(s)`}`,
    );
  }
  return lines.join('\n');
}
