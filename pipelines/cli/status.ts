/**
 * `cityhub status`: what the hub on a config's data dir is doing — from the status file(s) it rewrites every few
 * seconds — and, from the data itself, the lake's dead letters of the last hour and the last published marts build.
 * Reads only: no lock is taken, nothing is written.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { type LakeDeadLetters, lakeDeadLettersSince } from '../ops/lake-dead-letters.js';
import { judgeLiveness } from '../ops/liveness.js';
import { lastPublishedBuild } from '../ops/marts-run-log.js';
import { readStatusFiles } from '../ops/status-file.js';
import { formatStatusReport, type StatusReport } from './status-format.js';

const HOUR_MS = 3_600_000;

export async function commandStatus(args: string[], out: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, format: { type: 'string', default: 'table' } },
    strict: true,
  });
  const format = values.format!;
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json (got ${format})`);
  const loaded = loadConfig(values.config);
  const { config, paths } = loaded;
  const dataDir = resolve(paths.baseDir, config.data_dir);
  const now = Date.now();
  // The locks a running hub holds: the embedded bus's folder; over Kafka, the data dir itself.
  const lockDirs = config.bus.type === 'embedded' ? [paths.busDir] : [dataDir];
  const processes = (await readStatusFiles(dataDir)).map(({ file, status, writtenAt }) => {
    const ageMs = Math.max(0, now - writtenAt);
    return { file, age_s: Math.round(ageMs / 1000), ...judgeLiveness(status, ageMs, lockDirs), status };
  });
  const running = processes.filter((p) => p.running);
  const problems = running.flatMap((p) => p.status.problems.map((problem) => `${p.status.role}: ${problem}`));
  let deadLetters: LakeDeadLetters[] = [];
  let deadLettersError: string | undefined;
  try {
    deadLetters = await lakeDeadLettersSince(paths.lakeDir, now - HOUR_MS, now);
  } catch (error) {
    // A lake it cannot read (a file mid-compaction) must not hide the hub's own status.
    deadLettersError = error instanceof Error ? error.message : String(error);
  }
  const report: StatusReport = {
    data_dir: dataDir,
    running: running.length > 0,
    problems,
    processes,
    dead_letters_last_hour: deadLetters,
    ...(deadLettersError === undefined ? {} : { dead_letters_error: deadLettersError }),
    marts: (await lastPublishedBuild(paths.martsPath)) ?? null,
    lake_dir: paths.lakeDir,
    status_files_in: join(dataDir, 'status*.json'),
  };
  out(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatStatusReport(report, now));
  return report.running && problems.length === 0 ? 0 : 1;
}
