import { abortAfter } from '../../pipelines/abort-after.js';
import { CityhubError } from '../../pipelines/errors.js';
import { type RetryPolicy, retry } from '../../pipelines/retry.js';
import { sign } from './signature.js';

/** A secret long enough for the config (tests and the measurement only). */
export const TEST_SECRET = 'webhook-secret-0123456789abcdef';

/** Headers of a request signed the way the default config expects. */
export function signedHeaders(
  body: string | Buffer,
  options: { secret?: string; timestampS?: number; keyId?: string } = {},
): Record<string, string> {
  const timestamp = String(options.timestampS ?? Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'x-timestamp': timestamp,
    'x-signature': sign(options.secret ?? TEST_SECRET, timestamp, body),
    ...(options.keyId ? { 'x-key-id': options.keyId } : {}),
  };
}

/** One push as a vendor's client queues it: `headers` is called per attempt (a signature is made afresh each time). */
export interface PushRequest {
  path: string;
  body: string;
  headers: () => Record<string, string>;
}

/** A push the hub did not answer with 2xx (refused, unreachable, too slow): a later attempt may get through. */
export class PushNotAcceptedError extends CityhubError {
  constructor(
    readonly path: string,
    readonly status: number | undefined,
    options: { cause?: unknown; retriable: boolean },
  ) {
    super(`push to ${path} not accepted${status === undefined ? '' : ` (${status})`}`, options);
  }
}

/** Statuses a sender waits out: the hub is stopping or its bus is full (503), it is rate-limited (429). */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/**
 * A push sender as vendor SDKs behave: pushes queue and go one at a time, each re-sent with backoff after a refused
 * connection, a timeout or a 503/429 until the hub answers 2xx; any other answer ends that push (it is reported, not
 * re-sent). For the conformance suite and loopback tests: it makes a push source at-least-once across hub restarts.
 */
export class RetryingPushSender {
  /** Every answered push, in order: its status, for the pushes that got one. */
  readonly answered: { request: PushRequest; status: number }[] = [];
  private readonly queue: { request: PushRequest; done: (status: number | undefined) => void }[] = [];
  private readonly stopping = new AbortController();
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly baseUrl: string,
    private readonly policy: RetryPolicy,
    private readonly timeoutMs = 30_000,
  ) {
    this.loop = this.run();
  }

  /** Queues a push; resolves with the final status (undefined when the sender was closed first). */
  push(request: PushRequest): Promise<number | undefined> {
    return new Promise((done) => {
      this.queue.push({ request, done });
      this.wake?.();
    });
  }

  /** Gives up what is queued or being retried and ends the loop. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
    for (const { done } of this.queue.splice(0)) done(undefined);
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const next = this.queue[0];
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      let status: number | undefined;
      try {
        status = await retry(() => this.attempt(next.request, signal), {
          what: `push to ${next.request.path}`,
          policy: this.policy,
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        status = error instanceof PushNotAcceptedError ? error.status : undefined;
      }
      this.queue.shift();
      if (status !== undefined) this.answered.push({ request: next.request, status });
      next.done(status);
    }
  }

  private async attempt(request: PushRequest, stopping: AbortSignal): Promise<number> {
    let response: Response;
    const deadline = abortAfter(this.timeoutMs, stopping);
    try {
      response = await fetch(new URL(request.path, this.baseUrl), {
        method: 'POST',
        headers: request.headers(),
        body: request.body,
        signal: deadline.signal,
      });
      await response.arrayBuffer();
    } catch (error) {
      if (stopping.aborted) throw error;
      // Refused, reset or timed out: nothing says whether the hub took it, so it is sent again.
      throw new PushNotAcceptedError(request.path, undefined, { cause: error, retriable: true });
    } finally {
      deadline.clear();
    }
    if (response.status >= 200 && response.status < 300) return response.status;
    throw new PushNotAcceptedError(request.path, response.status, { retriable: RETRIED_STATUSES.has(response.status) });
  }
}
