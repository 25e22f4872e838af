/**
 * How the demo's senders POST to the hub, as a vendor's SDK does: retry what the hub could not take yet (no listener,
 * 429, 503, a dropped connection) with backoff and its Retry-After, re-sign every attempt, and stop at an answer that
 * settles the request — 202 (durably on the bus) or 400 (the hub dead-lettered the body it could not parse).
 */
import { CityhubError } from '../../../pipelines/errors.js';
import { backoffDelay, type RetryPolicy, sleep } from '../../../pipelines/retry.js';

/** An answer that retrying cannot change (a wrong secret, a body over the limit): the demo's config is wrong. */
export class WireRefusedError extends CityhubError {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(`${url} refused the demo's request with ${status}: ${reason}`);
  }
}

/** The statuses after which the hub holds the request's content: on the bus, or in its dead-letter queue. */
const settled = new Set([200, 201, 202, 204, 400]);

const policy: RetryPolicy = { initialMs: 50, maxMs: 2_000, factor: 2, maxAttempts: Infinity };

/** A request the hub has not answered by then is abandoned and sent again (the hub answers only once it is durable). */
const REQUEST_TIMEOUT_MS = 30_000;

export interface PostOptions {
  url: string;
  body: Buffer;
  /** Headers of one attempt: called again for each, so a signature carries the attempt's own time. */
  headers: () => Record<string, string>;
  signal: AbortSignal;
}

/** POSTs until the hub settles the request; returns the settling answer's status and body text. */
export async function postUntilSettled(options: PostOptions): Promise<{ status: number; body: string }> {
  for (let attempt = 1; ; attempt++) {
    if (options.signal.aborted) throw options.signal.reason;
    let waitMs = backoffDelay(attempt, policy);
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        body: options.body,
        headers: options.headers(),
        // A signal of its own, not the sender's: fetch leaves a listener on the signal it is given until the request
        // is garbage collected, and thousands of requests would pile them up on one long-lived signal.
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await response.text();
      if (settled.has(response.status)) return { status: response.status, body };
      if (response.status === 401 && body.includes('replayed request')) {
        // The same body signed in the same second (a re-sent alert): sign again once the second has turned.
        waitMs = 1000 - (Date.now() % 1000) + 1;
      } else if (response.status === 429 || response.status === 503 || response.status >= 500) {
        const retryAfterS = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfterS) && retryAfterS > 0) waitMs = Math.min(retryAfterS * 1000, 30_000);
      } else {
        throw new WireRefusedError(options.url, response.status, body.slice(0, 300));
      }
    } catch (error) {
      if (error instanceof WireRefusedError || options.signal.aborted) throw error;
      // A refused or dropped connection: the listener is not up yet, or restarting. Wait and send again.
    }
    await sleep(waitMs, options.signal, `POST ${options.url}`);
  }
}
