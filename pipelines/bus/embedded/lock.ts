/**
 * `<dir>/.lock` keeps two processes from appending to the same log (offsets would collide and recovery would
 * truncate each other's writes). The file holds the owner's pid and host and, on Linux, the owner's start time and
 * the boot id, because a pid alone outlives its process: after a reboot or a container restart the same pid is
 * often alive again as someone else. A lock is stale, and taken over with a warning, when its owner is dead, when
 * its pid now belongs to a process with another start time, or when it was written before this boot. A lock from
 * another host is never taken over: this host cannot tell whether that one still writes to the folder.
 */
import fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EmbeddedBusError, EmbeddedBusLockedError } from './errors.js';
import { isErrno } from './fs-util.js';

export interface LockContent {
  pid: number;
  host: string;
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks after boot); absent elsewhere and in old lock files. */
  started?: string;
  /** Linux: /proc/sys/kernel/random/boot_id at the time the lock was written. */
  boot_id?: string;
}

/** A lock file that was judged stale and taken over. */
export interface StaleLock {
  lockFile: string;
  pid: number;
  host: string;
  reason: string;
}

/** The folder is locked by a process on another machine (a shared or copied folder); an operator must decide. */
export class EmbeddedBusLockedElsewhereError extends EmbeddedBusError {
  readonly dir: string;
  readonly lockFile: string;
  readonly pid: number;
  readonly host: string;
  constructor(dir: string, lockFile: string, pid: number, host: string) {
    super(
      `the embedded bus at ${dir} is locked by process ${pid} on host ${host} (this host is ${hostname()}); ` +
        `if ${host} no longer uses this folder, stop any hub there, then delete ${lockFile} and start again`,
    );
    this.dir = dir;
    this.lockFile = lockFile;
    this.pid = pid;
    this.host = host;
  }
}

const ATTEMPTS = 5;

export class DirLock {
  private released = false;

  private constructor(readonly file: string) {}

  /** Takes `<dir>/.lock`; `onStale` hears of every stale lock taken over (default: a process warning). */
  static acquire(dir: string, onStale: (stale: StaleLock) => void = warnStale): DirLock {
    const file = join(dir, '.lock');
    const mine: LockContent = { pid: process.pid, host: hostname(), ...processIdentity(process.pid) };
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (tryCreate(file, dir, mine)) return new DirLock(file);
      const holder = readLock(file);
      if (holder === 'missing') continue;
      if (holder !== 'unreadable') {
        if (holder.host !== mine.host) throw new EmbeddedBusLockedElsewhereError(dir, file, holder.pid, holder.host);
        const reason = staleReason(holder, mine);
        if (reason === undefined) throw new EmbeddedBusLockedError(dir, file, holder.pid);
        if (takeOverStale(file, dir, holder)) onStale({ lockFile: file, pid: holder.pid, host: holder.host, reason });
      } else takeOverStale(file, dir, holder);
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

function warnStale(stale: StaleLock): void {
  process.emitWarning(`took over the stale lock ${stale.lockFile} of process ${stale.pid}: ${stale.reason}`, {
    code: 'CITYHUB_EMBEDDED_BUS',
  });
}

/** Why a lock written on this host no longer protects anyone, or undefined when its owner may still be writing. */
export function staleReason(holder: LockContent, mine: LockContent): string | undefined {
  if (holder.boot_id && mine.boot_id && holder.boot_id !== mine.boot_id) return 'it was written before the last boot';
  if (holder.pid !== process.pid && !isAlive(holder.pid)) return `process ${holder.pid} is gone`;
  const current = holder.pid === process.pid ? mine.started : processIdentity(holder.pid).started;
  if (holder.started && current && holder.started !== current)
    return `pid ${holder.pid} was reused: it now belongs to a process started at tick ${current}, the lock's owner started at tick ${holder.started}`;
  return undefined;
}

/** The start time of `pid` and the boot id (Linux); empty where /proc is not available. */
export function processIdentity(pid: number): Pick<LockContent, 'started' | 'boot_id'> {
  const identity: Pick<LockContent, 'started' | 'boot_id'> = {};
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) is in parentheses and may hold spaces and ')': count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const started = fields[22 - 3];
    if (started && /^\d+$/.test(started)) identity.started = started;
  } catch {
    // not Linux, or the process is gone: liveness alone decides
  }
  try {
    identity.boot_id = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux
  }
  return identity;
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
 * one we judged. If it is not (another process took over in between), it is put back. True when we removed it.
 */
function takeOverStale(file: string, dir: string, judged: LockContent | 'unreadable'): boolean {
  const claimed = join(dir, `.lock.stale.${process.pid}`);
  try {
    fs.renameSync(file, claimed);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
  const actual = readLock(claimed);
  const same =
    judged === 'unreadable'
      ? actual === 'unreadable'
      : typeof actual === 'object' &&
        actual.pid === judged.pid &&
        actual.host === judged.host &&
        actual.started === judged.started &&
        actual.boot_id === judged.boot_id;
  if (!same) {
    try {
      fs.linkSync(claimed, file);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
  fs.rmSync(claimed, { force: true });
  return same;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}
