import type { ConnectorHealth } from '../../connectors/types.js';
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
  if (summary.connectors.length > 0) {
    lines.push('  connectors (appended to the bus, of which dead-lettered by the connector; bus send retries):');
    for (const { id, kind, health } of summary.connectors) lines.push(`    ${connectorLine(id, kind, health)}`);
  }
  if (summary.marts) {
    lines.push(
      `  marts built: ${summary.marts.models} models → ${summary.marts.martsPath}; data tests ${summary.marts.testsFailed === 0 ? 'all passed' : `passed but ${summary.marts.testsFailed} warning(s)`}`,
    );
  }
  return lines.join('\n');
}

function total(counts: Partial<Record<string, number>> | undefined): number {
  let sum = 0;
  for (const value of Object.values(counts ?? {})) sum += value ?? 0;
  return sum;
}

function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

/** One connector's health in a line: what it appended, its own counters, and what last went wrong. */
function connectorLine(id: string, kind: string, health: ConnectorHealth): string {
  const parts = [
    `${id} (${kind}) ${health.state}:`,
    `${n(total(health.sent))} messages, ${bytes(total(health.bytes_sent))}`,
    `${n(total(health.dead_lettered))} dead-lettered`,
    `${n(health.retries ?? 0)} retries`,
  ];
  const progress = Object.entries(health.progress ?? {}).filter(([, value]) => value !== 0);
  if (progress.length > 0) parts.push(`· ${progress.map(([key, value]) => `${key} ${n(value)}`).join(', ')}`);
  if (health.error) parts.push(`· error: ${health.error}`);
  else if (health.last_error_at) parts.push(`· last error at ${health.last_error_at}`);
  return parts.join(' ');
}
