/** One hub of a demo as a child process of the demo's own process, its output shown under its name. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { packageRoot } from '../package-root.js';
import { QuietRepeats } from './quiet-repeats.js';

export interface HubExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HubChild {
  id: string;
  process: ChildProcess;
  /** Resolves once the process ended and every line it wrote was shown. */
  exited: Promise<HubExit>;
  /** Whether it has ended. */
  readonly ended: boolean;
  /** Whether it was asked to stop (an exit after that is expected). */
  readonly stopping: boolean;
  /** Sends SIGTERM: the hub stops its sources, drains, builds its marts, prints its summary and exits. */
  stop(): void;
  /** SIGKILL: at once, with what it did not land left on its bus for its next run. */
  kill(): void;
}

export interface HubChildOptions {
  id: string;
  /** Arguments of `cityhub`, e.g. `run --config hangzhou.yaml`. */
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where its lines go, prefix included: its stdout to `out`, its stderr (warnings, errors) to `err`. */
  out: (line: string) => void;
  err: (line: string) => void;
  /** Put before each of its lines, e.g. `[hangzhou] `. */
  prefix: string;
}

/** `node <package>/bin/cityhub.js …` with the Node running this process: the same install, whatever PATH says. */
export function startHubChild(o: HubChildOptions): HubChild {
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'cityhub.js'), ...o.args], {
    cwd: o.cwd,
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches the demo's process only, which stops each hub once
    // (a hub that got the terminal's SIGINT and then the demo's SIGTERM would take the second as "stop at once").
    // Should the demo's process be killed outright, a hub's next line (a progress line comes every 5 s) meets a
    // closed pipe and ends it: no hub outlives the demo for long.
    detached: true,
  });
  let ended = false;
  let stopping = false;
  // `cityhub run` prints its first line once its SIGINT/SIGTERM handlers are installed: a SIGTERM before that would
  // end it by the signal's default action, not by a graceful stop, so a stop asked for earlier waits for that line.
  let started: () => void = () => {};
  const handlesSignals = new Promise<void>((resolve) => {
    started = resolve;
  });
  const quiet = new QuietRepeats((line) => o.out(`${o.prefix}${line}`));
  const stdout = relay(child.stdout!, {
    push: (line) => {
      started();
      quiet.push(line);
    },
    end: () => quiet.end(),
  });
  const stderr = relay(child.stderr!, { push: (line) => o.err(`${o.prefix}${line}`), end: () => {} });
  const exited = new Promise<HubExit>((resolve) => {
    // 'close', not 'exit': both pipes are drained, so its summary is shown before the demo says it ended.
    child.once('close', (code, signal) => {
      ended = true;
      void Promise.all([stdout, stderr]).then(() => resolve({ code, signal }));
    });
    // A spawn that failed (no such file, too many processes) closes too, with the error first.
    child.once('error', (error) => o.err(`${o.prefix}could not start: ${error.message}`));
  });
  return {
    id: o.id,
    process: child,
    exited,
    get ended() {
      return ended;
    },
    get stopping() {
      return stopping;
    },
    stop() {
      stopping = true;
      void handlesSignals.then(() => {
        if (!ended) child.kill('SIGTERM');
      });
    },
    kill() {
      stopping = true;
      if (!ended) child.kill('SIGKILL');
    },
  };
}

/** Feeds a stream's lines to `sink`; resolves when the stream ended (its last line, without newline, included). */
function relay(stream: Readable, sink: { push: (line: string) => void; end: () => void }): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on('line', (line) => sink.push(line));
  return new Promise((resolve) =>
    lines.once('close', () => {
      sink.end();
      resolve();
    }),
  );
}
