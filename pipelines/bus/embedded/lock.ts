/**
 * `<dir>/.lock` keeps two processes from appending to the same log (offsets would collide and recovery would
 * truncate each other's writes). The file holds the owner's pid and host; a lock whose pid is dead on this host is
 * stale (the owner was killed) and is taken over.
 */
import fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EmbeddedBusLockedError } from './errors.js';
import { isErrno } from './fs-util.js';

interface LockContent {
  pid: number;
  host: string;
}

const ATTEMPTS = 5;

export class DirLock {
  private released = false;

  private constructor(readonly file: string) {}

  static acquire(dir: string): DirLock {
    const file = join(dir, '.lock');
    const mine: LockContent = { pid: process.pid, host: hostname() };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (tryCreate(file, dir, mine)) return new DirLock(file);
      const holder = readLock(file);
      if (holder === 'missing') continue;
      if (holder !== 'unreadable') {
        if (holder.host !== mine.host) throw new EmbeddedBusLockedError(dir, file, holder.pid);
        if (holder.pid === process.pid || isAlive(holder.pid)) throw new EmbeddedBusLockedError(dir, file, holder.pid);
      }
      takeOverStale(file, dir, holder);
    }
    throw new EmbeddedBusLockedError(dir, file, null);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = readLock(this.file);
    if (typeof holder === 'object' && holder.pid === process.pid) fs.rmSync(this.file, { force: true });
  }
}

/**
 * The content is written to a private file first and hard-linked into place, so the lock never exists half
 * written (an empty lock file could not be told apart from a crash between create and write).
 */
function tryCreate(file: string, dir: string, content: LockContent): boolean {
  const tmp = join(dir, `.lock.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(content)}\n`, { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    // File systems without hard links: fall back to O_EXCL create (the half-written window is then tiny).
    return createExclusive(file, content);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function createExclusive(file: string, content: LockContent): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx');
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(content)}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

function readLock(file: string): LockContent | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockContent>;
    if (Number.isInteger(parsed.pid) && typeof parsed.host === 'string') return parsed as LockContent;
  } catch {
    // fall through
  }
  return 'unreadable';
}

/**
 * Removes a stale lock so that of several processes racing to take it over, only one removes it: the file is
 * first renamed to a name of our own (rename is atomic, the losers get ENOENT), then checked to still be the stale
 * one we judged. If it is not (another process took over in between), it is put back.
 */
function takeOverStale(file: string, dir: string, judged: LockContent | 'unreadable'): void {
  const claimed = join(dir, `.lock.stale.${process.pid}`);
  try {
    fs.renameSync(file, claimed);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  const actual = readLock(claimed);
  const same =
    judged === 'unreadable'
      ? actual === 'unreadable'
      : typeof actual === 'object' && actual.pid === judged.pid && actual.host === judged.host;
  if (!same) {
    try {
      fs.linkSync(claimed, file);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
  fs.rmSync(claimed, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}
