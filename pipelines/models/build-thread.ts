import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CityhubError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { BuildOptions, BuildOutcome } from './build.js';
import * as modelErrors from './errors.js';
import type { BuildIntoFileRequest } from './run.js';

export type ProgressEvent = Parameters<NonNullable<BuildOptions['onProgress']>>[0];

/** An error as it crosses from the build thread: its class by name, message, stack and own fields. */
export interface TransferredError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
  cause?: { name: string; message: string };
}

/** Messages from the build thread. */
export type BuildThreadMessage =
  | { type: 'progress'; id: number; event: ProgressEvent }
  | { type: 'done'; id: number; outcome: BuildOutcome }
  | { type: 'failed'; id: number; error: TransferredError };

interface PendingBuild {
  resolve: (outcome: BuildOutcome) => void;
  reject: (error: Error) => void;
  onProgress?: BuildOptions['onProgress'];
  settled: Promise<BuildOutcome>;
}

/** The worker script: compiled JS beside this module, or under dist/ when this module runs from source (vitest). */
function workerScript(): URL | string {
  return import.meta.url.endsWith('.ts')
    ? join(packageRoot(), 'dist', 'pipelines', 'models', 'build-worker.js')
    : new URL('./build-worker.js', import.meta.url);
}

/**
 * A thread of its own for marts builds (models/build-worker.ts). The hub's event loop is busy with ingest; a build
 * awaits hundreds of steps (each statement, each lake file listed), and on that loop each waited behind the
 * connectors and the lander: the first build of the demo took 11–14 s beside the ingest against 3 s alone. The
 * thread is started on first use (or by `start()`, to load its modules before the first build is due) and kept
 * for the next builds; one build at a time (runModels already serializes builds of a marts file).
 */
export class BuildThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, PendingBuild>();

  /** Starts the thread now, so that its modules are loaded before the first build is asked for. */
  start(): void {
    this.thread();
  }

  build(request: BuildIntoFileRequest, onProgress?: BuildOptions['onProgress']): Promise<BuildOutcome> {
    const worker = this.thread();
    const id = this.nextId++;
    let call: Omit<PendingBuild, 'settled'> | undefined;
    const settled = new Promise<BuildOutcome>((resolve, reject) => {
      call = { resolve, reject, ...(onProgress === undefined ? {} : { onProgress }) };
    });
    this.pending.set(id, { ...call!, settled });
    worker.ref(); // a build in progress keeps the process alive, as an in-thread build would
    worker.postMessage({ type: 'build', id, request });
    return settled;
  }

  /**
   * Stops the thread once the builds asked of it have ended (they are not cut short: stopping a thread while DuckDB
   * works for it aborts the process). The next build starts a new thread.
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.pending.values()].map((call) => call.settled));
    const worker = this.worker;
    this.worker = undefined;
    live.delete(this);
    if (worker) await worker.terminate();
  }

  /** Cuts the builds in progress short (each fails: the caller removes its building file), then stops the thread. */
  async stop(): Promise<void> {
    this.worker?.postMessage({ type: 'stop' });
    await this.close();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(workerScript());
    worker.unref(); // an idle build thread never holds the process open
    worker.on('message', (message: BuildThreadMessage) => this.receive(message));
    live.add(this);
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, call] of this.pending) {
        this.pending.delete(id);
        call.reject(error);
      }
    };
    worker.on('error', (error) =>
      fail(new CityhubError(`the marts build thread failed: ${error.message}`, { cause: error })),
    );
    worker.on('exit', (code) => fail(new CityhubError(`the marts build thread exited (code ${code}) during a build`)));
    this.worker = worker;
    return worker;
  }

  private receive(message: BuildThreadMessage): void {
    const call = this.pending.get(message.id);
    if (call === undefined) return;
    if (message.type === 'progress') {
      call.onProgress?.(message.event);
      return;
    }
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (message.type === 'done') call.resolve(message.outcome);
    else call.reject(reviveError(message.error));
  }
}

/** The threads running, for stopBuildThreads. */
const live = new Set<BuildThread>();

/**
 * Cuts short the builds of every build thread and stops them, within `timeoutMs`. Call it before a forced exit
 * (a second Ctrl-C): exiting while DuckDB works for a thread aborts the process instead of exiting.
 */
export async function stopBuildThreads(timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.allSettled([...live].map((thread) => thread.stop())), timeout]);
  clearTimeout(timer);
}

type ErrorClass = new (...args: never[]) => Error;

const isErrorClass = (value: unknown): value is ErrorClass =>
  typeof value === 'function' && value.prototype instanceof Error;

/**
 * The errors a build throws, by class name, so that the caller can tell them apart as if thrown in its thread: every
 * error class of models/errors.ts (a class added there crosses without being listed again here).
 */
const errorClasses = new Map<string, ErrorClass>(
  [CityhubError, ...Object.values<unknown>(modelErrors).filter(isErrorClass)].map((cls) => [cls.name, cls]),
);

/** An error as plain, cloneable data: own fields that cannot be cloned are left out; the cause keeps its message. */
export function transferError(error: unknown): TransferredError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'cause' || key === 'name') continue;
    try {
      fields[key] = structuredClone(value);
    } catch {
      // a handle or a function: not context a caller can use across threads
    }
  }
  const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    fields,
    ...(cause === undefined ? {} : { cause }),
  };
}

/** The transferred error as an instance of its class (its constructor is not re-run: the message is as thrown). */
export function reviveError(transferred: TransferredError): Error {
  const cls = errorClasses.get(transferred.name) ?? Error;
  const error = Object.create(cls.prototype) as Error;
  Object.defineProperty(error, 'message', { value: transferred.message, writable: true, configurable: true });
  if (transferred.stack !== undefined)
    Object.defineProperty(error, 'stack', { value: transferred.stack, writable: true, configurable: true });
  if (transferred.cause !== undefined) {
    const cause = new Error(transferred.cause.message);
    cause.name = transferred.cause.name;
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  }
  Object.assign(error, transferred.fields);
  if (error.name !== transferred.name) error.name = transferred.name;
  return error;
}
