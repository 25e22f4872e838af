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

export const statusHelp = `Usage: cityhub status [--config FILE] [--format table|json]

What the hub running on the config's data dir is doing, from the status file it rewrites every 5 s
(<data_dir>/status.json; a process running one role writes status.<role>.json): whether it runs, its connectors
with their state and last error, the pipeline and its last flush, records in / landed / dead-lettered per feed,
bus lag, its last marts build (failed ones included), federation members. Then, read from the data: the lake's
dead letters of the last hour per feed and reason (<lake>/_dlq, as cityhub dlq ls reads it) and the last published
marts build (cityhub_run_log of the marts file).
A hub is not running when its status says it stopped, or the file is over 15 s old while its process is gone and no
process holds the data dir. The same status, live: GET /api/v1/status on metrics.listen (docs/operations.md).
  --format table  for a person (default)
  --format json   { running, problems, processes: [{ file, age_s, running, why, status }], dead_letters_last_hour,
                  marts }
Exit 0 when it printed the status of a running hub with nothing failed; 1 when no hub runs on the data dir or the
status names a problem (a connector failed, landing keeps failing, the last marts build failed).`;

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
