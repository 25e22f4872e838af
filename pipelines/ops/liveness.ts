/**
 * Whether the hub that wrote a status file still runs. A fresh file says so; a stale one may still belong to a live
 * process (a status write failing on a full disk), so the process it names and the data dir's locks are asked too —
 * the way DirLock (pipelines/bus/embedded/lock.ts) tells a live owner from a dead one, read-only: `cityhub status`
 * never takes or removes a lock.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type LockContent, processIdentity, staleReason } from '../bus/embedded/lock.js';
import type { HubStatus } from './hub-status.js';
import { STATUS_EVERY_MS } from './status-file.js';

/** A status file older than this (three missed writes) no longer shows on its own that its hub runs. */
export const STATUS_STALE_AFTER_MS = 3 * STATUS_EVERY_MS;

export interface Liveness {
  running: boolean;
  /** Why it is judged so, for a person. */
  why: string;
}

function me(): LockContent {
  return { pid: process.pid, host: hostname(), ...processIdentity(process.pid) };
}

/** True when the process `holder` names runs on this host (and is the same process, not a reused pid). */
function alive(holder: LockContent): boolean {
  return holder.host === hostname() && staleReason(holder, me()) === undefined;
}

/** The process holding `<dir>/.lock`, when the lock is there and not stale; undefined otherwise. */
export function lockHolder(dir: string): LockContent | undefined {
  let holder: Partial<LockContent>;
  try {
    holder = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')) as Partial<LockContent>;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(holder.pid) || typeof holder.host !== 'string') return undefined;
  const content = holder as LockContent;
  // A lock of another host: this host cannot tell, and DirLock never takes it over either.
  return content.host !== hostname() || alive(content) ? content : undefined;
}

/**
 * Judges one status file: a hub that said it stopped is not running; one whose file is fresh, or whose process is
 * alive on this host, is; otherwise it runs only if a process holds the data dir (`lockDirs`: the embedded bus's
 * folder, and the data dir a Kafka hub locks).
 */
export function judgeLiveness(status: HubStatus, ageMs: number, lockDirs: readonly string[]): Liveness {
  const age = `${Math.round(ageMs / 1000)} s`;
  if (status.state === 'stopped') return { running: false, why: `it stopped at ${status.written_at}` };
  if (ageMs <= STATUS_STALE_AFTER_MS) return { running: true, why: `its status was written ${age} ago` };
  if (alive(status.process))
    return { running: true, why: `its process ${status.process.pid} is alive (status ${age} old)` };
  for (const dir of lockDirs) {
    const holder = lockHolder(dir);
    if (holder !== undefined)
      return { running: true, why: `process ${holder.pid} on ${holder.host} holds ${dir} (status ${age} old)` };
  }
  return {
    running: false,
    why: `its status is ${age} old, process ${status.process.pid} is gone and no process holds the data dir`,
  };
}
