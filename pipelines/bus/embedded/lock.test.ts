import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedBusLockedError } from './errors.js';
import { DirLock, EmbeddedBusLockedElsewhereError, type StaleLock } from './lock.js';

let dir: string;
let lockFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-lock-'));
  lockFile = join(dir, '.lock');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot. */
function startTimeOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const bootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

function writeLock(content: Record<string, unknown>): void {
  fs.writeFileSync(lockFile, JSON.stringify(content));
}

function acquireRecordingStale(): { lock: DirLock; stale: StaleLock[] } {
  const stale: StaleLock[] = [];
  const lock = DirLock.acquire(dir, (s) => stale.push(s));
  return { lock, stale };
}

const ownerOfLock = () => JSON.parse(fs.readFileSync(lockFile, 'utf8'));

describe('the data-dir lock', () => {
  it('records the owner’s pid, host, start time and boot id', () => {
    const lock = DirLock.acquire(dir);
    expect(ownerOfLock()).toEqual({
      pid: process.pid,
      host: hostname(),
      started: startTimeOf(process.pid),
      boot_id: bootId(),
    });
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('refuses while its owner lives (same pid, same start time)', () => {
    const live = process.ppid;
    writeLock({ pid: live, host: hostname(), started: startTimeOf(live), boot_id: bootId() });
    expect(() => DirLock.acquire(dir)).toThrow(EmbeddedBusLockedError);
    expect(ownerOfLock().pid).toBe(live);
  });

  it('refuses a second opener in the same process', () => {
    const lock = DirLock.acquire(dir);
    try {
      expect(() => DirLock.acquire(dir)).toThrow(expect.objectContaining({ pid: process.pid, retriable: true }));
    } finally {
      lock.release();
    }
  });

  it('takes over a lock whose pid was reused by a live process with another start time, and says so', () => {
    const live = process.ppid;
    const otherStart = String(Number(startTimeOf(live)) + 12_345);
    writeLock({ pid: live, host: hostname(), started: otherStart, boot_id: bootId() });
    const { lock, stale } = acquireRecordingStale();
    expect(stale).toEqual([
      { lockFile, pid: live, host: hostname(), reason: expect.stringMatching(new RegExp(`pid ${live} was reused`)) },
    ]);
    expect(ownerOfLock().pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock written before the last boot even though its pid is alive now', () => {
    writeLock({ pid: process.ppid, host: hostname(), started: startTimeOf(process.ppid), boot_id: 'another-boot' });
    const { lock, stale } = acquireRecordingStale();
    expect(stale.map((s) => s.reason)).toEqual(['it was written before the last boot']);
    lock.release();
  });

  it('takes over a lock that names this very process with another start time (our pid was reused)', () => {
    writeLock({ pid: process.pid, host: hostname(), started: '1', boot_id: bootId() });
    const { lock, stale } = acquireRecordingStale();
    expect(stale).toHaveLength(1);
    lock.release();
  });

  it('takes over the lock of a dead process', () => {
    writeLock({ pid: 2 ** 30, host: hostname(), started: '1', boot_id: bootId() });
    const { lock, stale } = acquireRecordingStale();
    expect(stale.map((s) => s.reason)).toEqual([`process ${2 ** 30} is gone`]);
    lock.release();
  });

  it('keeps honouring an old lock without start time while its pid lives', () => {
    writeLock({ pid: process.ppid, host: hostname() });
    expect(() => DirLock.acquire(dir)).toThrow(EmbeddedBusLockedError);
  });

  it('refuses a lock from another host, naming host and pid and how to clear it, and leaves it in place', () => {
    writeLock({ pid: 4242, host: 'hub-node-7', started: '99', boot_id: 'theirs' });
    let error: unknown;
    try {
      DirLock.acquire(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EmbeddedBusLockedElsewhereError);
    expect(error).toMatchObject({ host: 'hub-node-7', pid: 4242, lockFile, retriable: false });
    expect((error as Error).message).toContain('process 4242 on host hub-node-7');
    expect((error as Error).message).toContain(`if hub-node-7 no longer uses this folder`);
    expect((error as Error).message).toContain(`delete ${lockFile}`);
    expect(ownerOfLock()).toMatchObject({ pid: 4242, host: 'hub-node-7' });
  });
});
