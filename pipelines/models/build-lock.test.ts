import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireBuildLock,
  type BuildLockLog,
  buildLockDir,
  type LockHolder,
  readBuildLock,
  withBuildLock,
} from './build-lock.js';
import { BuildLockLostError } from './errors.js';

let root: string;
let martsPath: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cityhub-build-lock-'));
  // A marts folder that does not exist yet: the lock creates it.
  martsPath = join(root, 'shared', 'marts.duckdb');
});

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

interface LogLine {
  level: 'info' | 'warn';
  context: object;
  message: string;
}

function recordingLog(): BuildLockLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (context, message) => lines.push({ level: 'info', context, message }),
    warn: (context, message) => lines.push({ level: 'warn', context, message }),
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Writes lease `generation` as another process would have left it. */
async function writeLease(generation: number, lease: Partial<LockHolder>): Promise<LockHolder> {
  const now = Date.now();
  const full: LockHolder = {
    owner_id: `other-${generation}`,
    pid: 4242,
    host: 'models-2.cityhub.internal',
    acquired_at: new Date(now - 5_000).toISOString(),
    expires_at: new Date(now + 600_000).toISOString(),
    ttl_ms: 60_000,
    ...lease,
  };
  await mkdir(buildLockDir(martsPath), { recursive: true });
  await writeFile(join(buildLockDir(martsPath), `${generation}.json`), `${JSON.stringify(full)}\n`);
  return full;
}

describe('models build lock', () => {
  it('lets only one of two concurrent builds run; the other reports who is building', async () => {
    const gate = deferred();
    let running = 0;
    const build = async () => {
      if (++running === 2) gate.resolve(); // a broken lock: let the test fail instead of hang
      await gate.promise;
      return 'built';
    };
    const attempt = () =>
      withBuildLock(martsPath, {}, build).then((outcome) => {
        if (!outcome.built) gate.resolve(); // the winner finishes only after the loser has answered
        return outcome;
      });
    const outcomes = await Promise.all([attempt(), attempt()]);

    expect(running).toBe(1);
    const winner = outcomes.find((o) => o.built);
    const loser = outcomes.find((o) => !o.built);
    expect(winner).toEqual({ built: true, value: 'built' });
    expect(loser?.built === false && loser.holder).toMatchObject({ pid: process.pid, host: hostname() });
    // Released at the end: the next build runs.
    expect(await withBuildLock(martsPath, {}, async () => 'again')).toEqual({ built: true, value: 'again' });
  });

  it('takes over a lock left on this host by a process that is gone, and warns', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    children.push(child);
    const pid = child.pid!;
    await once(child, 'exit');
    await writeLease(1, { pid, host: hostname() }); // not expired: only the dead owner makes it stale
    const log = recordingLog();

    const outcome = await withBuildLock(martsPath, { log }, async () => 'built');

    expect(outcome).toEqual({ built: true, value: 'built' });
    const warning = log.lines.find((l) => l.level === 'warn');
    expect(warning?.message).toContain(`took over the models build lock of process ${pid}`);
    expect(warning?.message).toContain(`process ${pid} is gone`);
  });

  it('takes over an expired lock from another host, and warns', async () => {
    const stale = await writeLease(3, { expires_at: new Date(Date.now() - 1_000).toISOString() });
    const log = recordingLog();

    const outcome = await withBuildLock(martsPath, { log }, async () => 'built');

    expect(outcome).toEqual({ built: true, value: 'built' });
    expect(log.lines.find((l) => l.level === 'warn')?.message).toContain(
      `took over the models build lock of process 4242 on host ${stale.host}`,
    );
    // The stale lease is cleaned up; the lock is the next one, released.
    expect(await readdir(buildLockDir(martsPath))).toEqual(['4.json']);
    expect(await readBuildLock(martsPath)).toMatchObject({ pid: process.pid, released_at: expect.any(String) });
  });

  it('does not build while another host holds a valid lock, and reports its holder', async () => {
    const other = await writeLease(1, {});
    let ran = false;

    const outcome = await withBuildLock(martsPath, {}, async () => {
      ran = true;
    });

    expect(ran).toBe(false);
    expect(outcome).toEqual({ built: false, holder: other });
    expect(await readBuildLock(martsPath)).toEqual(other);
  });

  it('renews the lease so a build that lasts longer than the ttl keeps the lock', async () => {
    const ttlMs = 1_500;
    const renewals = deferred();
    const seen = new Set<string>();
    let initialExpiry = '';
    let watcher: ReturnType<typeof watch> | undefined;
    let otherOutcome: unknown;

    const outcome = await withBuildLock(martsPath, { ttlMs }, async () => {
      const first = await readBuildLock(martsPath);
      initialExpiry = first!.expires_at;
      seen.add(initialExpiry);
      watcher = watch(buildLockDir(martsPath), () => {
        void readBuildLock(martsPath).then((lease) => {
          if (lease && !lease.released_at) seen.add(lease.expires_at);
          if (seen.size > 4) renewals.resolve(); // four renewals every ttl/3: the first lease has run out by now
        });
      });
      await renewals.promise;
      watcher.close();
      otherOutcome = await withBuildLock(martsPath, { ttlMs }, async () => 'second build');
      return 'long build';
    });

    expect(outcome).toEqual({ built: true, value: 'long build' });
    expect(Date.now()).toBeGreaterThan(Date.parse(initialExpiry));
    expect(otherOutcome).toMatchObject({ built: false, holder: { pid: process.pid } });
  });

  it('never releases a lock another process took over, and tells the build it lost the lock', async () => {
    const taken = await acquireBuildLock(martsPath, { ttlMs: 300 });
    if (!taken.acquired) throw new Error('expected to take a free lock');
    const { lease } = taken;
    // Another host judged our lease expired (say this process was paused) and took the next one.
    const taker = await writeLease(lease.generation + 1, {});

    await once(lease.signal, 'abort'); // noticed at the next renewal
    await lease.release();

    expect(lease.signal.reason).toBeInstanceOf(BuildLockLostError);
    expect((lease.signal.reason as BuildLockLostError).reason).toContain(`process 4242 on host ${taker.host}`);
    expect(await readBuildLock(martsPath)).toEqual(taker);
    expect(await withBuildLock(martsPath, {}, async () => 'built')).toEqual({ built: false, holder: taker });
  });

  it('with waitMs, waits for the running build to end and then builds', async () => {
    const gate = deferred();
    const order: string[] = [];
    const log = recordingLog();
    log.info = (context, message) => {
      log.lines.push({ level: 'info', context, message });
      gate.resolve(); // the waiter has seen the running build: let it end
    };
    const firstStarted = deferred();
    const first = withBuildLock(martsPath, {}, async () => {
      firstStarted.resolve();
      order.push('first start');
      await gate.promise;
      order.push('first end');
    });
    await firstStarted.promise;

    const second = await withBuildLock(martsPath, { waitMs: 120_000, log }, async () => {
      order.push('second');
      return 'built after waiting';
    });

    expect(second).toEqual({ built: true, value: 'built after waiting' });
    expect(order).toEqual(['first start', 'first end', 'second']);
    expect(log.lines[0]?.message).toContain(`another models process is building: process ${process.pid}`);
    await first;
  });

  it('with waitMs, gives up when the other build outlasts the wait, and reports it', async () => {
    const holder = await writeLease(1, {});
    const log = recordingLog();

    const outcome = await withBuildLock(martsPath, { waitMs: 200, log }, async () => 'never');

    expect(outcome).toEqual({ built: false, holder });
    expect(log.lines.filter((l) => l.level === 'info')).toHaveLength(1);
  });

  it('two processes started at once never build at the same time', async () => {
    const distModule = resolve('dist/pipelines/models/build-lock.js');
    expect(existsSync(distModule), 'run `npm run build` first: the child processes use dist/').toBe(true);
    const journal = join(root, 'journal.txt');
    const builds = 12;
    const script = `
      import { appendFileSync } from 'node:fs';
      import { setTimeout as delay } from 'node:timers/promises';
      const { withBuildLock } = await import(${JSON.stringify(pathToFileURL(distModule).href)});
      const [martsPath, journal, id, builds] = process.argv.slice(1);
      process.stdout.write('ready\\n');
      await new Promise((go) => process.stdin.once('data', go));
      for (let i = 0; i < Number(builds); i++) {
        const outcome = await withBuildLock(martsPath, { waitMs: 120000, ttlMs: 10000 }, async () => {
          appendFileSync(journal, 'start ' + id + ' ' + i + '\\n');
          await delay(3); // a build is not instant: give the other process every chance to overlap
          appendFileSync(journal, 'end ' + id + ' ' + i + '\\n');
        });
        if (!outcome.built) throw new Error('gave up waiting: ' + JSON.stringify(outcome.holder));
      }
      process.stdin.destroy();
    `;
    const started = ['a', 'b'].map((id) => {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', script, martsPath, journal, id, String(builds)],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      return child;
    });
    await Promise.all(started.map((child) => once(child.stdout!, 'data')));
    for (const child of started) child.stdin!.write('go\n');
    const codes = await Promise.all(started.map(async (child) => (await once(child, 'exit'))[0]));

    expect(codes).toEqual([0, 0]);
    const lines = (await readFile(journal, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2 * 2 * builds);
    for (let i = 0; i < lines.length; i += 2) {
      const [, id, n] = lines[i]!.split(' ');
      expect(lines[i]).toBe(`start ${id} ${n}`);
      expect(lines[i + 1]).toBe(`end ${id} ${n}`);
    }
    expect(await readdir(buildLockDir(martsPath))).toHaveLength(1); // older leases are cleaned up
  });
});
