/**
 * bin/cityhub.js sizes libuv's threadpool before anything starts it (bin/threadpool.cjs): DuckDB's statements run on
 * that pool, and with libuv's 4 threads they left the bus reads and the lake's file work one thread. Checked from inside
 * a real `cityhub` process: a preloaded probe (`node --require`) waits until the CLI's entry has run, blocks six of the
 * pool's threads on FIFOs nobody writes yet, and reports whether a file stat still finds a thread.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../support/hub-process.js';

const BLOCKED = 6;

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

const PROBE = `
const fs = require('node:fs');
const fifos = JSON.parse(process.env.PROBE_FIFOS);
// After the entry module ran (it sets UV_THREADPOOL_SIZE), before anything else could have used the pool.
setImmediate(() => {
  for (const fifo of fifos) fs.open(fifo, fs.constants.O_RDONLY, (error, fd) => { if (!error) fs.close(fd, () => {}); });
  const full = setTimeout(() => process.stderr.write('probe: pool full\\n'), 3000);
  fs.stat(__filename, () => { clearTimeout(full); process.stderr.write('probe: pool has room\\n'); });
});
`;

/** Runs `cityhub --help` with the probe; resolves with the probe's verdict once the child exits. */
async function probeCli(env: NodeJS.ProcessEnv): Promise<string> {
  dir = await tempDir('threadpool');
  const fifos = Array.from({ length: BLOCKED }, (_, i) => join(dir!.path, `fifo-${i}`));
  for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  const probe = join(dir.path, 'probe.cjs');
  await writeFile(probe, PROBE);
  const child = spawn(process.execPath, ['--require', probe, join(projectRoot, 'bin/cityhub.js'), '--help'], {
    env: { ...env, PROBE_FIFOS: JSON.stringify(fifos) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  const verdict = await new Promise<string>((resolve, reject) => {
    child.once('exit', () => reject(new Error(`cityhub exited before the probe reported:\n${stderr}`)));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const line = /probe: (pool [a-z ]+)\n/.exec(stderr);
      if (line) resolve(line[1]!);
    });
  });
  // Let the blocked opens finish so the child can exit: a writer end for every FIFO (some opens may still be queued).
  const released = new Set<string>();
  let done = false;
  void exited.then(() => {
    done = true;
  });
  while (!done && released.size < fifos.length) {
    for (const fifo of fifos) {
      if (released.has(fifo)) continue;
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        released.add(fifo);
      } catch (error) {
        // ENXIO: its reader has not opened it yet (queued behind the others).
        if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await exited;
  return verdict;
}

describe('the CLI sizes libuv’s threadpool for DuckDB’s statements and the file work beside them', () => {
  it('has threads to spare with six of them blocked', async () => {
    const { UV_THREADPOOL_SIZE: _, ...env } = process.env;
    expect(await probeCli(env)).toBe('pool has room');
  });

  it('keeps a size the user set', async () => {
    expect(await probeCli({ ...process.env, UV_THREADPOOL_SIZE: '4' })).toBe('pool full');
  });
});
