/**
 * Stopwatches around the lake side of the pipeline: a LakeStore that times its commits and journal writes, and a
 * Lander that times its flushes. They only measure: every call goes to the real store or lander unchanged.
 */
import { Lander } from '../../pipelines/land/lander.js';
import type { LakeStore } from '../../pipelines/land/store.js';

/** Accumulated milliseconds and calls of one kind of operation. */
export class Stopwatch {
  ms = 0;
  calls = 0;

  async time<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.ms += performance.now() - started;
      this.calls++;
    }
  }
}

export class TimedLakeStore implements LakeStore {
  readonly commits = new Stopwatch();
  readonly journalWrites = new Stopwatch();

  constructor(private readonly inner: LakeStore) {}

  scratchDir(id: string): Promise<string> {
    return this.inner.scratchDir(id);
  }
  clearScratch(): Promise<void> {
    return this.inner.clearScratch();
  }
  stagingPath(relPath: string): Promise<string> {
    return this.inner.stagingPath(relPath);
  }
  commit(relPaths: string[]): Promise<void> {
    return this.commits.time(() => this.inner.commit(relPaths));
  }
  list(): Promise<string[]> {
    return this.inner.list();
  }
  remove(relPath: string): Promise<void> {
    return this.inner.remove(relPath);
  }
  writeSmall(relPath: string, text: string): Promise<void> {
    return this.journalWrites.time(() => this.inner.writeSmall(relPath, text));
  }
  listWork(folder: string): Promise<string[]> {
    return this.inner.listWork(folder);
  }
  readSmall(relPath: string): Promise<string | undefined> {
    return this.inner.readSmall(relPath);
  }
  recentFiles(folder: string, limit: number): Promise<string[]> {
    return this.inner.recentFiles(folder, limit);
  }
}

/** A Lander whose flushes are timed; `lastFlushEnd` lets the worker's onFlush time the offset commit that follows. */
export class TimedLander extends Lander {
  readonly flushes = new Stopwatch();
  lastFlushEnd = 0;

  override async flush() {
    try {
      return await this.flushes.time(() => super.flush());
    } finally {
      this.lastFlushEnd = performance.now();
    }
  }
}
