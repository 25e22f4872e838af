import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const projectRoot = resolve(import.meta.dirname, '../..');
const cli = join(projectRoot, 'bin/cityhub.js');

/** A temp folder removed after the test, even when it fails. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `cityhub-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
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
  /** Resolves when a stdout or stderr line matches. Rejects if the process exits first. */
  waitFor: (pattern: RegExp) => Promise<string>;
}

/** Starts the built CLI (`node bin/cityhub.js …`) as a child process, as a user would. */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): HubProcess {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  const check = (chunk: string) => {
    for (const line of chunk.split('\n')) {
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pattern.test(line)) {
          waiters[i]!.resolve(line);
          waiters.splice(i, 1);
        }
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    check(chunk);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    check(chunk);
  });
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('exit', (code, signal) => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`process exited (${code ?? signal}) before ${w.pattern}\n${out}\n${err}`));
      resolveExit(code ?? signal ?? -1);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern) =>
      new Promise((resolveLine, reject) => {
        const already = `${out}\n${err}`.split('\n').find((line) => pattern.test(line));
        if (already !== undefined) resolveLine(already);
        else waiters.push({ pattern, resolve: resolveLine, reject });
      }),
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const hub = startCli(args, options);
  const code = await hub.exited;
  return { code, stdout: hub.stdout(), stderr: hub.stderr() };
}
