/** The scale-out bench's summary: medians per path, where the time goes, and the ratios to the embedded path. */
import { type BenchPath, benchPaths, pathLabels, type RunResult } from './result.js';

/** A run as the parent records it: the child's report plus the broker's CPU time, measured outside the child. */
export interface MeasuredRun extends RunResult {
  /** The round the run belongs to: each round runs every path once, one after the other. */
  round: number;
  brokerCpuSeconds: number | undefined;
}

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const recordsPerSecond = (run: RunResult) => run.records / run.drainedSeconds;

/** One line per run, as it finishes. */
export function runLine(run: MeasuredRun): string {
  const broker = run.brokerCpuSeconds === undefined ? '' : ` · broker CPU ${run.brokerCpuSeconds.toFixed(2)} s`;
  return `  ${run.path.padEnd(8)} ${recordsPerSecond(run).toFixed(0).padStart(7)} rec/s · produced ${run.produceSeconds.toFixed(2)} s · drained ${run.drainedSeconds.toFixed(2)} s · ${run.flushes} flushes ${run.flushSeconds.toFixed(2)} s (store commit ${run.storeCommitSeconds.toFixed(2)} s) · CPU ${run.cpuSeconds.toFixed(2)} s${broker}`;
}

const seconds = (value: number) => `${value.toFixed(2)} s`;
const share = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;

/** The table of medians, one row per path, and the paired ratios to (a). */
export function summary(runs: readonly MeasuredRun[]): string {
  const byPath = new Map<BenchPath, MeasuredRun[]>();
  for (const run of runs) byPath.set(run.path, [...(byPath.get(run.path) ?? []), run]);
  const header = [
    'path',
    'rec/s',
    'produced',
    'drained',
    'flushes',
    'mean flush',
    'store commit',
    'journal',
    'offset commits',
    'pipeline CPU (of wall)',
    'broker CPU',
    'machine busy',
  ];
  const rows: string[][] = [];
  for (const path of benchPaths) {
    const of = byPath.get(path);
    if (!of) continue;
    const m = (pick: (run: MeasuredRun) => number) => median(of.map(pick));
    const drained = m((r) => r.drainedSeconds);
    const brokerCpu = of.every((r) => r.brokerCpuSeconds !== undefined) ? m((r) => r.brokerCpuSeconds!) : undefined;
    rows.push([
      path,
      m(recordsPerSecond).toFixed(0),
      seconds(m((r) => r.produceSeconds)),
      seconds(drained),
      m((r) => r.flushes).toFixed(0),
      seconds(m((r) => r.flushSeconds / Math.max(1, r.flushes))),
      `${seconds(m((r) => r.storeCommitSeconds))} (${share(
        m((r) => r.storeCommitSeconds),
        drained,
      )} of wall)`,
      seconds(m((r) => r.journalSeconds)),
      seconds(m((r) => r.offsetCommitSeconds)),
      `${seconds(m((r) => r.cpuSeconds))} (${share(
        m((r) => r.cpuSeconds),
        drained,
      )})`,
      brokerCpu === undefined ? '-' : `${seconds(brokerCpu)} (${share(brokerCpu, drained)})`,
      `${share(
        m((r) => r.machineBusySeconds / (r.cores * r.drainedSeconds)),
        1,
      )} of ${of[0]!.cores} cores`,
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)];
  for (const path of benchPaths) out.push(`${path.padEnd(8)} = ${pathLabels[path]}`);
  out.push(...ratios(runs));
  const profiles = profileLines(byPath);
  if (profiles.length > 0)
    out.push(
      'pipeline process main thread by code (share of its samples over the timed window, all runs):',
      ...profiles,
    );
  return out.join('\n');
}

/**
 * Per path, the buckets of main-thread samples, largest first, as shares: the profiler's sample intervals are wall
 * time, so on a busy machine they also count time the thread waited for a core; shares stay comparable, seconds not.
 */
function profileLines(byPath: ReadonlyMap<BenchPath, MeasuredRun[]>): string[] {
  const out: string[] = [];
  for (const [path, of] of byPath) {
    const profiles = of.flatMap((run) => (run.profile ? [run.profile] : []));
    if (profiles.length === 0) continue;
    const totals = new Map<string, number>();
    for (const profile of profiles)
      for (const [bucket, seconds] of Object.entries(profile)) totals.set(bucket, (totals.get(bucket) ?? 0) + seconds);
    const sampled = [...totals.values()].reduce((sum, seconds) => sum + seconds, 0);
    const ranked = [...totals].sort((a, b) => b[1] - a[1]);
    const shown = ranked.slice(0, 9).map(([bucket, seconds]) => `${bucket} ${share(seconds, sampled)}`);
    const rest = ranked.slice(9).reduce((sum, [, seconds]) => sum + seconds, 0);
    out.push(`  ${path.padEnd(8)} ${shown.join(' · ')} · rest ${share(rest, sampled)}`);
  }
  return out;
}

/** (b)/(a) and (c)/(a) of records/s: the median of the per-round ratios (a round's runs share the machine's load). */
function ratios(runs: readonly MeasuredRun[]): string[] {
  const rounds = new Map<number, Map<BenchPath, MeasuredRun>>();
  for (const run of runs) {
    if (!rounds.has(run.round)) rounds.set(run.round, new Map());
    rounds.get(run.round)!.set(run.path, run);
  }
  const out: string[] = [];
  for (const path of ['kafka', 'kafka-s3'] as const) {
    const paired = [...rounds.values()].flatMap((round) => {
      const reference = round.get('embedded');
      const run = round.get(path);
      return reference && run ? [recordsPerSecond(run) / recordsPerSecond(reference)] : [];
    });
    if (paired.length === 0) continue;
    out.push(
      `${path}/embedded records/s: ${median(paired).toFixed(3)} (per round: ${paired.map((r) => r.toFixed(3)).join(', ')})`,
    );
  }
  return out;
}
