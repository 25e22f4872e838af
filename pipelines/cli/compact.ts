import { parseArgs } from 'node:util';
import { feeds } from '../../connectors/types.js';
import { datasetNames } from '../../schemas/index.js';
import { lakeLocation, loadConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import type { CompactionEvent } from '../land/compact.js';
import { describeCompaction, mib, runCompactionJob } from '../land/compact-job.js';
import { describeLockHolder } from '../models/build-lock.js';

/** How long `cityhub compact` waits for a models build another process is running (as `models run` does). */
const LOCK_WAIT_MS = 10 * 60_000;

const dayPattern = /^\d{4}-\d{2}-\d{2}$/;

function checkDay(day: string): string {
  if (!dayPattern.test(day) || new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day)
    throw new UsageError(`--day expects a date YYYY-MM-DD (got ${JSON.stringify(day)})`);
  return day;
}

function checkDataset(name: string): string {
  const known = [...datasetNames, '_dlq', ...feeds.map((feed) => `_dlq/${feed}`)];
  if (!known.includes(name)) throw new UsageError(`--dataset must be one of ${known.join(', ')} (got ${name})`);
  return name;
}

function describeEvent(event: CompactionEvent): string {
  switch (event.kind) {
    case 'recovered':
      return `finished ${event.result.rolledForward} and undid ${event.result.rolledBack} interrupted compaction(s)`;
    case 'compacted': {
      const d = event.day;
      return `  ${d.folder}/dt=${d.day}: ${d.filesBefore} files (${mib(d.bytesBefore)}) → ${d.compacted} (${mib(d.bytes)}, ${d.rows.toLocaleString('en')} rows, ${d.originals} original files)`;
    }
    case 'expired': {
      const d = event.day;
      const kept = d.kept > 0 ? `; ${d.kept} named by a flush journal kept for now` : '';
      return `  ${d.folder}/dt=${d.day}: removed by retention (${d.files} files${kept})`;
    }
    case 'planned':
      return `  ${event.day.folder}/dt=${event.day.day}: would ${event.action === 'compact' ? 'compact' : 'remove by retention'} ${event.day.files.length} files`;
  }
}

export async function commandCompact(
  args: string[],
  print: (line: string) => void,
  printError: (line: string) => void,
) {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      dataset: { type: 'string', multiple: true },
      day: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const datasets = values.dataset?.map(checkDataset);
  const days = values.day?.map(checkDay);
  const loaded = loadConfig(values.config);
  const { compaction } = loaded.config.lake;
  print(
    `compacting lake ${lakeLocation(loaded)} (min_files ${compaction.min_files})${values['dry-run'] ? ': dry run' : ''}`,
  );
  const outcome = await runCompactionJob(loaded, {
    ...(datasets ? { datasets } : {}),
    ...(days ? { days } : {}),
    dryRun: values['dry-run'],
    lockWaitMs: LOCK_WAIT_MS,
    log: { info: (_, message) => print(message), warn: (_, message) => print(message) },
    onEvent: (event) => print(describeEvent(event)),
  });
  if (!outcome.ran) {
    printError(
      `cityhub compact: another models process is still building after ${LOCK_WAIT_MS / 60_000} minutes: ${describeLockHolder(outcome.holder)}`,
    );
    return 1;
  }
  const { report } = outcome;
  if (values['dry-run']) {
    const files = report.planned.compact.reduce((sum, d) => sum + d.files.length, 0);
    print(
      `dry run: would compact ${report.planned.compact.length} day(s) (${files} files) and remove ${report.planned.expire.length} day(s) by retention; nothing changed`,
    );
  } else print(describeCompaction(report));
  return 0;
}
