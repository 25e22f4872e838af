import { CityhubError } from '../errors.js';
import type { DayRef } from './manifest.js';

/**
 * Compacting one lake day failed. Nothing a reader relies on was replaced unless `step` is past `commit` (then the
 * next compaction or models build finishes the job from the pending record: compact-recover.ts).
 */
export class CompactionError extends CityhubError {
  readonly folder: string;
  readonly day: string;
  readonly step: 'read' | 'write' | 'verify' | 'manifest' | 'commit' | 'remove';
  constructor(
    day: DayRef,
    step: CompactionError['step'],
    problem: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(`compacting ${day.folder}/dt=${day.day} failed (${step}): ${problem}`, options);
    this.folder = day.folder;
    this.day = day.day;
    this.step = step;
  }
}

/** The compacted file does not hold as many rows as its sources: nothing was replaced. */
export class CompactionRowCountError extends CompactionError {
  readonly expectedRows: number;
  readonly actualRows: number;
  constructor(day: DayRef, expectedRows: number, actualRows: number) {
    super(day, 'verify', `the compacted file holds ${actualRows} rows, its sources ${expectedRows}; nothing replaced`);
    this.expectedRows = expectedRows;
    this.actualRows = actualRows;
  }
}

/** A manifest or pending compaction record cannot be read: fix or remove it by hand (it is never guessed at). */
export class CompactionManifestError extends CityhubError {
  readonly path: string;
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`compaction manifest ${path}: ${problem}`, options);
    this.path = path;
  }
}
