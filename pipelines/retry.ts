/**
 * The one retry policy of cityhub (after kafkajs's retry module): exponential backoff with full jitter, a cap per
 * wait, and a give-up rule. Used by the pipeline worker, the lake writer and every connector, injected rather than
 * switched on the environment, so tests pass a fast policy.
 *
 * What is retried is decided by `isRetriable`: an error that says it is (CityhubError.retriable), or an operating
 * system error of the kinds that pass (a full disk, a busy file, a lost peer). Programming errors (TypeError,
 * RangeError, …) never are: retrying them repeats the same failure forever.
 */
import { CityhubError } from './errors.js';

export interface RetryPolicy {
  /** First wait, in ms. */
  initialMs: number;
  /** No single wait is longer than this. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Give up after this many failed attempts (Infinity: never; the caller stops it with a signal). */
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = { initialMs: 200, maxMs: 30_000, factor: 2, maxAttempts: Infinity };

/** Operating-system error codes that a later attempt can outlive (space freed, peer back, lock released). */
const transientCodes = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EAGAIN',
  'EBUSY',
  'EMFILE',
  'ENFILE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when trying again may succeed; walks `cause` so a wrapped ENOSPC counts as transient. */
export function isRetriable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof CityhubError && e.retriable) return true;
    // Whoever gave up already decided, whatever the failure underneath was.
    if (e instanceof RetryGaveUpError) return false;
    const code = errnoCode(e);
    if (code && transientCodes.has(code)) return true;
    if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError || e instanceof ReferenceError)
      return false;
  }
  return false;
}

/** The wait before attempt `attempt + 1` (attempt counts from 1): full jitter over the capped exponential. */
export function backoffDelay(attempt: number, policy: RetryPolicy = defaultRetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt - 1));
  // Half fixed, half random: never zero (a hot loop), still spread so peers do not retry in step.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Thrown by retry() when it gives up; `cause` is the last failure. */
export class RetryGaveUpError extends CityhubError {
  readonly attempts: number;
  constructor(what: string, attempts: number, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`${what} failed ${attempts} time(s); giving up: ${message}`, { cause, retriable: false });
    this.attempts = attempts;
  }
}

/** Thrown by retry() and sleep() when their signal aborts the wait. */
export class RetryAbortedError extends CityhubError {
  constructor(what: string, cause?: unknown) {
    super(`${what}: stopped while waiting to retry`, { cause });
  }
}

/** Waits `ms`, or rejects with RetryAbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, what = 'wait'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RetryAbortedError(what));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RetryAbortedError(what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  /** Names the operation in errors and logs, e.g. "bus append for connector demo". */
  what: string;
  policy?: RetryPolicy;
  /** Stops waiting (the promise rejects with RetryAbortedError). */
  signal?: AbortSignal;
  /** Which failures to retry (default isRetriable); others are rethrown at once. */
  retriable?: (error: unknown) => boolean;
  /** Told before each wait: for health and logs. */
  onRetry?: (event: { error: unknown; attempt: number; delayMs: number }) => void;
}

/** Runs `fn` until it succeeds, a failure is not retriable, the policy gives up or the signal aborts. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? defaultRetryPolicy;
  const retriable = options.retriable ?? isRetriable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!retriable(error)) throw error;
      if (attempt >= policy.maxAttempts) throw new RetryGaveUpError(options.what, attempt, error);
      const delayMs = backoffDelay(attempt, policy);
      options.onRetry?.({ error, attempt, delayMs });
      await sleep(delayMs, options.signal, options.what);
    }
  }
}
