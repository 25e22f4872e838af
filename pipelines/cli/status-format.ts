/** `cityhub status --format table`: the report for a person, one block per hub process, then what the data says. */
import { feeds } from '../../connectors/types.js';
import type { HubStatus } from '../ops/hub-status.js';
import type { LakeDeadLetters } from '../ops/lake-dead-letters.js';
import type { PublishedBuild } from '../ops/marts-run-log.js';

export interface StatusReport {
  data_dir: string;
  /** Some hub process runs on the data dir. */
  running: boolean;
  /** What the running processes' statuses say failed, each prefixed with the process's role. */
  problems: string[];
  processes: { file: string; age_s: number; running: boolean; why: string; status: HubStatus }[];
  /** From the lake, whoever landed them. */
  dead_letters_last_hour: LakeDeadLetters[];
  /** Why the lake's dead letters could not be read, when they could not. */
  dead_letters_error?: string;
  /** The last build the marts file holds (null: no marts file, or no run log in it). */
  marts: PublishedBuild | null;
  lake_dir: string;
  status_files_in: string;
}

const n = (value: number) => value.toLocaleString('en');

function ago(iso: string | null, now: number): string {
  if (iso === null) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const span = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return `${iso} (${span} ago)`;
}

function perFeed(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([feed, value]) => `${feed} ${n(value)}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

function processBlock(p: StatusReport['processes'][number], now: number): string[] {
  const s = p.status;
  const lines = [
    `${p.running ? 'RUNNING' : 'NOT RUNNING'}: role ${s.role}, region ${s.region_code}, pid ${s.process.pid} on ${s.process.host} — ${p.why}`,
    `  state ${s.state}, started ${ago(s.started_at, now)}; status of ${ago(s.written_at, now)} (${p.file})`,
  ];
  if (s.connectors.length > 0) lines.push('  connectors:');
  for (const c of s.connectors) {
    const dead = Object.values(c.dead_lettered).reduce((a, b) => a + b, 0);
    lines.push(
      `    ${c.id} (${c.kind}) ${c.state}: appended ${perFeed(c.appended)}; ${n(dead)} dead-lettered by it; ${n(c.retries)} retries`,
    );
    if (c.error !== null) lines.push(`      error: ${c.error}`);
    if (c.last_error_at !== null) lines.push(`      last error ${ago(c.last_error_at, now)}`);
  }
  const pipeline = s.pipeline;
  if (pipeline !== null) {
    lines.push(
      `  pipeline ${pipeline.state}: last flush ${ago(pipeline.last_flush_at, now)}; ${n(pipeline.flushes)} flushes, ${n(pipeline.files)} files; ${pipeline.failures} failures in a row`,
    );
    if (pipeline.last_error !== null)
      lines.push(`    last error ${ago(pipeline.last_error_at, now)}: ${pipeline.last_error}`);
    lines.push('  feed      records in      landed  dead-lettered');
    for (const feed of feeds) {
      const c = s.feeds[feed] ?? { received: 0, landed: 0, dead_lettered: 0 };
      lines.push(
        `    ${feed.padEnd(8)}${n(c.received).padStart(12)}${n(c.landed).padStart(12)}${n(c.dead_lettered).padStart(15)}`,
      );
    }
    const total = s.bus_lag.reduce((sum, l) => sum + l.lag, 0);
    const behind = s.bus_lag.filter((l) => l.lag > 0).map((l) => `${l.topic}/${l.partition} ${n(l.lag)}`);
    lines.push(
      s.bus_lag.length === 0
        ? '  bus lag: not measured (the pipeline was not reading the bus)'
        : `  bus lag: ${n(total)} messages over ${s.bus_lag.length} partitions${behind.length > 0 ? ` (${behind.join(', ')})` : ''}`,
    );
    const lastHour = s.dead_letters.last_hour.map((d) => `${d.feed} ${d.reason} ${n(d.records)}`);
    lines.push(
      `  dead-lettered by this process in the last hour: ${lastHour.length > 0 ? lastHour.join(', ') : 'none'}`,
    );
  }
  if (s.marts !== null) {
    const build = s.marts.last_build;
    lines.push(
      build === null
        ? '  marts: no build yet'
        : `  marts: last build ${build.status} ${ago(build.at, now)} in ${(build.duration_ms / 1000).toFixed(1)} s${build.error === null ? '' : `: ${build.error}`} (${s.marts.builds_ok} ok, ${s.marts.builds_failed} failed since start)`,
    );
  }
  for (const m of s.federation)
    lines.push(
      `  member ${m.member_id} (${m.region_code}): ${m.stale ? 'STALE' : 'fresh'}, last answered ${ago(m.checked_at, now)}${m.last_error === null ? '' : `, last error: ${m.last_error}`}`,
    );
  return lines;
}

export function formatStatusReport(report: StatusReport, now: number): string {
  const lines: string[] = [];
  if (report.processes.length === 0)
    lines.push(
      `NOT RUNNING: no hub status file in ${report.data_dir} (a hub writes one there while it runs: ${report.status_files_in})`,
    );
  for (const p of report.processes) lines.push(...processBlock(p, now), '');
  lines.push(
    report.problems.length > 0 ? `problems:\n${report.problems.map((p) => `  ${p}`).join('\n')}` : 'problems: none',
  );
  lines.push(`dead letters of the last hour in the lake (${report.lake_dir}/_dlq):`);
  if (report.dead_letters_error !== undefined) lines.push(`  could not read them: ${report.dead_letters_error}`);
  else if (report.dead_letters_last_hour.length === 0) lines.push('  none');
  for (const d of report.dead_letters_last_hour)
    lines.push(
      `  ${d.feed.padEnd(8)} ${d.reason.padEnd(20)} ${n(d.records).padStart(10)} records in ${n(d.dead_letters)} dead letters`,
    );
  const m = report.marts;
  lines.push(
    m === null
      ? 'published marts: none yet'
      : `published marts: build ${m.build_id}, published ${ago(m.published_at, now)}: ${m.models} models, ${n(m.models_ms)} ms of model time${m.tests_warned > 0 ? `, ${m.tests_warned} with warnings` : ''} (${m.marts_path})`,
  );
  return `${lines.join('\n')}\n`;
}
