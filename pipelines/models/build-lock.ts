/**
 * One models build at a time per marts file, across processes and hosts that share the marts folder (issue 9, item 5):
 * two builds at once would race to publish the snapshot, and their `<marts>.building-<pid>` files collide when two
 * containers both run as pid 1.
 *
 * The lock is a folder beside the marts file, `<marts>.build-lock/`, of numbered lease files `<n>.json`; the highest
 * number is the lock. Taking the lock, fresh or over a stale holder, is always creating the next number exclusively
 * (a hard link of a fully written file, so a lease never exists half written). Of two processes that judge the same
 * lease free, both create the same next number and exactly one succeeds; the other reads the winner's lease and
 * reports it busy. The highest lease file is never removed or replaced by anyone but its holder, so no process can
 * destroy a lock it judged from an outdated view: after creating, a taker lists the folder and backs off if a higher
 * number exists (it could only have created a number a newer holder had already cleaned up).
 *
 * A lease names its owner (a random id, pid, host, process start time, boot id) and `expires_at`; the holder renews it
 * every ttl/3 while it builds and marks it released at the end. Another process takes it over when it was released,
 * when it expired (its holder died or hangs, on whichever host: judged on the wall clock, so the hosts' clocks must
 * agree within a small part of the ttl, as NTP keeps them) or when it was written on this host by a process that is
 * gone (judged as the embedded bus lock judges its owner). A holder that finds its own lease ran out before it could
 * renew it (paused, a stalled volume) treats the lock as lost and stops touching it: its build's signal aborts with
 * BuildLockLostError. The folder needs hard links and atomic rename (local disks, NFS, container volumes); without
 * hard links, leases are created with O_EXCL instead.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { isErrno, writeFileAtomic } from '../bus/embedded/fs-util.js';
import { type LockContent, processIdentity, staleReason } from '../bus/embedded/lock.js';
import { backoffDelay, isRetriable, type RetryPolicy, sleep } from '../retry.js';
import { BuildLockError, BuildLockLostError } from './errors.js';

export const lockHolderSchema = z.object({
  owner_id: z.string().min(1).describe('random id of one acquisition: tells two builds of one process apart'),
  pid: z.number().int(),
  host: z.string(),
  started: z.string().optional().describe('Linux: start time of the process, in clock ticks after boot'),
  boot_id: z.string().optional().describe('Linux: boot id of the host when the lease was taken'),
  acquired_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  ttl_ms: z.number().int().positive(),
  released_at: z.iso.datetime().optional(),
});
/** Who holds (or last held) a models build lock. */
export type LockHolder = z.infer<typeof lockHolderSchema>;

/** What the lock tells its user; pino's logger fits. */
export interface BuildLockLog {
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
}

export interface BuildLockOptions {
  /** Lease length: the holder renews it every ttlMs/3; a dead holder on another host blocks builds this long. */
  ttlMs?: number;
  /** How long to wait for another process's build to end before giving up (0, the default: do not wait). */
  waitMs?: number;
  log?: BuildLockLog;
  /** Stops a wait for the lock (RetryAbortedError). */
  signal?: AbortSignal;
}

export type BuildLockOutcome<T> = { built: true; value: T } | { built: false; holder: LockHolder };

export const defaultBuildLockTtlMs = 60_000;
const LEASE_FILE = /^(\d+)\.json$/;
/** Each failed attempt means the lock changed hands under us; this many in a row means something is wrong. */
const ATTEMPTS = 8;

/** The lock folder of a marts file. */
export function buildLockDir(martsPath: string): string {
  return `${resolve(martsPath)}.build-lock`;
}

/** For logs: "process 123 on host a (building since …, lease until …)". */
export function describeLockHolder(holder: LockHolder): string {
  return `process ${holder.pid} on host ${holder.host} (building since ${holder.acquired_at}, lease until ${holder.expires_at})`;
}

/** The current lease of a marts file's build lock (released or not), or null when no build ever took it. */
export async function readBuildLock(martsPath: string): Promise<LockHolder | null> {
  const dir = buildLockDir(martsPath);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const top = (await generations(dir)).at(-1);
    if (top === undefined) return null;
    const lease = await readLease(leaseFile(dir, top));
    if (typeof lease === 'object') return lease;
  }
  return null;
}

/**
 * Runs `build` holding the models build lock of `martsPath`, or reports who holds it. `build` gets a signal that
 * aborts with BuildLockLostError if the lock is lost while it runs: it should check it before publishing.
 */
export async function withBuildLock<T>(
  martsPath: string,
  options: BuildLockOptions,
  build: (signal: AbortSignal) => Promise<T>,
): Promise<BuildLockOutcome<T>> {
  const ttlMs = options.ttlMs ?? defaultBuildLockTtlMs;
  const deadline = Date.now() + (options.waitMs ?? 0);
  // Polls while another build runs: a release is seen within a second, whichever host made it.
  const poll: RetryPolicy = {
    initialMs: 50,
    maxMs: Math.max(50, Math.min(1000, ttlMs / 3)),
    factor: 2,
    maxAttempts: Infinity,
  };
  let announced: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const taken = await acquireBuildLock(martsPath, options);
    if (taken.acquired) {
      const { lease } = taken;
      try {
        return { built: true, value: await build(lease.signal) };
      } finally {
        // A lease left unreleased only delays the next build by its ttl: never hide the build's own outcome for it.
        await lease
          .release()
          .catch((err: unknown) => options.log?.warn({ err }, 'could not release the models build lock'));
      }
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { built: false, holder: taken.holder };
    if (announced !== taken.holder.owner_id) {
      announced = taken.holder.owner_id;
      options.log?.info(
        { holder: taken.holder },
        `another models process is building: ${describeLockHolder(taken.holder)}; waiting up to ${Math.ceil(remaining / 1000)} s`,
      );
    }
    await sleep(Math.min(remaining, backoffDelay(attempt, poll)), options.signal, 'waiting for the models build lock');
  }
}

/** Takes the lock once, without waiting: the lease (renewed until released) or the current holder. */
export async function acquireBuildLock(
  martsPath: string,
  options: Pick<BuildLockOptions, 'ttlMs' | 'log'> = {},
): Promise<{ acquired: true; lease: BuildLease } | { acquired: false; holder: LockHolder }> {
  const dir = buildLockDir(martsPath);
  const ttlMs = options.ttlMs ?? defaultBuildLockTtlMs;
  const mine: LockContent = { pid: process.pid, host: hostname(), ...processIdentity(process.pid) };
  const ownerId = randomBytes(8).toString('hex');
  try {
    await fs.mkdir(dir, { recursive: true });
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const top = (await generations(dir)).at(-1) ?? 0;
      let takeover: { previous: LockHolder | 'unreadable'; reason: string } | undefined;
      if (top > 0) {
        const current = await readLease(leaseFile(dir, top));
        if (current === 'missing') continue; // a newer holder cleaned it up after we listed
        if (current === 'unreadable') {
          // Only a lease created with O_EXCL (no hard links) is ever seen half written, and only for an instant.
          if (!(await olderThan(leaseFile(dir, top), ttlMs))) {
            await sleep(backoffDelay(attempt));
            continue;
          }
          takeover = { previous: current, reason: `its lease file has been unreadable for more than ${ttlMs} ms` };
        } else {
          const verdict = judge(current, mine, Date.now());
          if (verdict === 'held') return { acquired: false, holder: current };
          if (verdict !== 'released') takeover = { previous: current, reason: verdict };
        }
      }
      const generation = top + 1;
      const now = Date.now();
      const holder: LockHolder = {
        owner_id: ownerId,
        ...mine,
        acquired_at: new Date(now).toISOString(),
        expires_at: new Date(now + ttlMs).toISOString(),
        ttl_ms: ttlMs,
      };
      if (!(await createLease(dir, generation, holder))) continue;
      if (((await generations(dir)).at(-1) ?? 0) > generation) {
        await fs.rm(leaseFile(dir, generation), { force: true });
        continue;
      }
      if (takeover) {
        const who = takeover.previous === 'unreadable' ? 'an unknown process' : describeLockHolder(takeover.previous);
        options.log?.warn(
          { lock_file: leaseFile(dir, generation), previous: takeover.previous, reason: takeover.reason },
          `took over the models build lock of ${who}: ${takeover.reason}`,
        );
      }
      await removeOlderLeases(dir, generation, ttlMs);
      return { acquired: true, lease: new BuildLease(dir, generation, holder, options.log) };
    }
  } catch (err) {
    throw new BuildLockError(dir, 'acquire', err instanceof Error ? err.message : String(err), {
      cause: err,
      retriable: isRetriable(err),
    });
  }
  throw new BuildLockError(
    dir,
    'acquire',
    `the lock changed hands ${ATTEMPTS} times while this process tried to take it`,
    {
      retriable: true,
    },
  );
}

/** A held models build lock: renewed every ttl/3 until released or lost. */
export class BuildLease {
  readonly file: string;
  private readonly lost = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private released = false;

  constructor(
    private readonly dir: string,
    readonly generation: number,
    private current: LockHolder,
    private readonly log: BuildLockLog | undefined,
  ) {
    this.file = leaseFile(dir, generation);
    this.scheduleRenewal();
  }

  get holder(): LockHolder {
    return this.current;
  }

  /** Aborts, with BuildLockLostError as its reason, when this process no longer holds the lock. */
  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /** Marks the lease released if it is still ours and still the lock; a lock taken over by another stays theirs. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    await this.renewing; // a renewal still writing would otherwise rewrite the lease after the release
    try {
      if (!(await this.stillOurs())) return;
      await writeFileAtomic(this.file, serialize({ ...this.current, released_at: new Date().toISOString() }), false);
    } catch (err) {
      throw new BuildLockError(this.dir, 'release', err instanceof Error ? err.message : String(err), {
        cause: err,
        retriable: isRetriable(err),
      });
    }
  }

  private scheduleRenewal(): void {
    this.timer = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        if (!this.released && !this.lost.signal.aborted) this.scheduleRenewal();
      });
    }, this.current.ttl_ms / 3);
    // A lease its user forgot to release must not keep the process alive; it expires on its own.
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (Date.now() >= Date.parse(this.current.expires_at)) {
      this.lose(
        `its lease ran out at ${this.current.expires_at} before it was renewed (the process was paused or the volume stalled)`,
      );
      return;
    }
    try {
      const top = (await generations(this.dir)).at(-1);
      if (top !== this.generation) {
        const taker = top === undefined ? 'missing' : await readLease(leaseFile(this.dir, top));
        this.lose(
          typeof taker === 'object' ? `${describeLockHolder(taker)} took it over` : 'its lease file was removed',
        );
        return;
      }
      if (!(await this.stillOurs())) {
        this.lose('its lease file was replaced');
        return;
      }
      const renewed = { ...this.current, expires_at: new Date(Date.now() + this.current.ttl_ms).toISOString() };
      await writeFileAtomic(this.file, serialize(renewed), false);
      this.current = renewed;
    } catch (err) {
      // Tried again at the next turn; if the lease runs out first, the lock is lost (above).
      this.log?.warn({ err, lock_file: this.file }, 'could not renew the models build lock');
    }
  }

  private async stillOurs(): Promise<boolean> {
    if ((await generations(this.dir)).at(-1) !== this.generation) return false;
    const lease = await readLease(this.file);
    return typeof lease === 'object' && lease.owner_id === this.current.owner_id;
  }

  private lose(reason: string): void {
    if (this.lost.signal.aborted) return;
    clearTimeout(this.timer);
    this.log?.warn(
      { lock_file: this.file, reason },
      `lost the models build lock: ${reason}; another models process may build at the same time`,
    );
    this.lost.abort(new BuildLockLostError(this.file, reason));
  }
}

/** 'held' when the lease still protects a build, 'released', or why it no longer does. */
function judge(lease: LockHolder, mine: LockContent, now: number): 'held' | 'released' | string {
  if (lease.released_at !== undefined) return 'released';
  if (Date.parse(lease.expires_at) <= now)
    return `its lease expired at ${lease.expires_at} without being renewed (the process died or hangs)`;
  if (lease.host === mine.host) return staleReason(lease, mine) ?? 'held';
  return 'held';
}

function leaseFile(dir: string, generation: number): string {
  return join(dir, `${generation}.json`);
}

function serialize(holder: LockHolder): string {
  return `${JSON.stringify(holder)}\n`;
}

/** The lease numbers in the folder, ascending. */
async function generations(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const found: number[] = [];
  for (const name of names) {
    const match = LEASE_FILE.exec(name);
    if (match) found.push(Number(match[1]));
  }
  return found.sort((a, b) => a - b);
}

async function readLease(file: string): Promise<LockHolder | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing';
    throw err;
  }
  try {
    const parsed = lockHolderSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return (await fs.stat(file)).mtimeMs < Date.now() - ms;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/** Creates lease `generation` unless it exists (false). */
async function createLease(dir: string, generation: number, holder: LockHolder): Promise<boolean> {
  const file = leaseFile(dir, generation);
  const tmp = `${file}.${holder.owner_id}.tmp`;
  await fs.writeFile(tmp, serialize(holder), { flag: 'wx' });
  try {
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    return await createExclusive(file, holder);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** For file systems without hard links: O_EXCL create, then write (readers wait out the instant in between). */
async function createExclusive(file: string, holder: LockHolder): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx');
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await handle.writeFile(serialize(holder));
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes the leases below ours (no one can hold them any more) and temporary files older than a lease (left by a
 * process killed while writing). Best effort: a leftover costs a few bytes.
 */
async function removeOlderLeases(dir: string, generation: number, ttlMs: number): Promise<void> {
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const match = LEASE_FILE.exec(name);
    const path = join(dir, name);
    if (
      match ? Number(match[1]) < generation : name.endsWith('.tmp') && (await olderThan(path, ttlMs).catch(() => false))
    )
      await fs.rm(path, { force: true }).catch(() => undefined);
  }
}
