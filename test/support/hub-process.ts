import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { stringify } from 'yaml';
import { freeLoopbackPorts } from '../../pipelines/demo/free-ports.js';

export const projectRoot = resolve(import.meta.dirname, '../..');
const cli = join(projectRoot, 'bin/cityhub.js');

/**
 * Every child this module started and that has not exited. A test that fails (or times out) still has its children
 * killed: those started inside a test after that test, those started in a beforeAll after the file. Registered as
 * hooks of the importing test file, so no test has to remember it.
 */
const running = new Map<ChildProcess, { startedInTest: boolean; exited: Promise<unknown> }>();

async function killRunning(which: (startedInTest: boolean) => boolean): Promise<void> {
  const ending: Promise<unknown>[] = [];
  for (const [child, { startedInTest, exited }] of running) {
    if (!which(startedInTest)) continue;
    child.kill('SIGKILL');
    ending.push(exited);
  }
  await Promise.all(ending);
}

afterEach(() => killRunning((startedInTest) => startedInTest));
afterAll(() => killRunning(() => true));
// Last resort when the test worker itself ends (a crash, a cancelled run): no hub outlives it.
process.once('exit', () => {
  for (const child of running.keys()) child.kill('SIGKILL');
});

/** `count` distinct loopback ports free right now, for a hub child's listeners (the provincial demo's own choice). */
export const freePorts = freeLoopbackPorts;

/** A temp folder removed after the test, even when it fails. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `cityhub-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true, maxRetries: 3 }) };
}

export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const file = join(dir, 'cityhub.yaml');
  await writeFile(file, stringify(config));
  return file;
}

export interface HubProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves with the first complete stdout or stderr line that matches. Rejects if the process exits first. */
  waitFor: (pattern: RegExp) => Promise<string>;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Splits a stream's chunks into whole lines: a line written in two chunks (a long JSON log line, a pipe boundary)
 * is seen once, complete. `end()` hands over a last line without a newline.
 */
class LineSplitter {
  private partial = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.onLine(line);
  }

  end(): void {
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }
}

/** Starts the built CLI (`node bin/cityhub.js …`) as a child process, as a user would. */
export function startCli(args: string[], options: CliOptions = {}): HubProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let closed = false;
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.pattern.test(line)) {
        waiters[i]!.resolve(line);
        waiters.splice(i, 1);
      }
    }
  };
  const outLines = new LineSplitter(onLine);
  const errLines = new LineSplitter(onLine);
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    outLines.push(chunk);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    errLines.push(chunk);
  });
  // 'close' (not 'exit'): the pipes are drained, so every line the process wrote has been seen.
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('close', (code, signal) => {
      closed = true;
      outLines.end();
      errLines.end();
      running.delete(child);
      for (const w of waiters.splice(0))
        w.reject(new Error(`process exited (${code ?? signal}) before ${w.pattern}\n${out}\n${err}`));
      resolveExit(code ?? signal ?? -1);
    });
  });
  running.set(child, { startedInTest: expect.getState().currentTestName !== undefined, exited });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise((resolveLine, reject) => {
        const already = lines.find((line) => pattern.test(line));
        if (already !== undefined) resolveLine(already);
        else if (closed) reject(new Error(`process exited before ${pattern}\n${out}\n${err}`));
        else waiters.push({ pattern, resolve: resolveLine, reject });
      }),
  };
}

/**
 * Runs the CLI to completion and returns its exit code and output. With `timeoutMs`, a run that has not ended by
 * then is killed and reported with code "timeout" (its output kept), so a hung hub fails the test with its log.
 */
export async function runCli(args: string[], options: CliOptions & { timeoutMs?: number } = {}) {
  const hub = startCli(args, options);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolveTimeout) => {
    if (options.timeoutMs !== undefined)
      timer = setTimeout(() => {
        hub.child.kill('SIGKILL');
        resolveTimeout('timeout');
      }, options.timeoutMs);
  });
  const code = await Promise.race([hub.exited, timedOut]);
  clearTimeout(timer);
  await hub.exited;
  return { code, stdout: hub.stdout(), stderr: hub.stderr() };
}

/** The per-feed line of a run summary as numbers: sent, received, landed, dead-lettered. */
export function summaryCounts(stdout: string, feed: string) {
  const line = stdout.split('\n').find((l) => l.trimStart().startsWith(`${feed} `));
  if (line === undefined) return undefined;
  const [sent, received, landed, dead_lettered] = line.match(/[\d,]+/g)!.map((n) => Number(n.replaceAll(',', '')));
  return { sent, received, landed, dead_lettered };
}
