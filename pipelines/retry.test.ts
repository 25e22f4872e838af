import { describe, expect, it } from 'vitest';
import { CityhubError } from './errors.js';
import { backoffDelay, isRetriable, RetryAbortedError, RetryGaveUpError, retry } from './retry.js';

const fast = { initialMs: 1, maxMs: 4, factor: 2, maxAttempts: Infinity };
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('isRetriable: what a later attempt can outlive', () => {
  it('retries a full disk, a lost peer and an error that says it is retriable, also when wrapped', () => {
    expect(isRetriable(enospc())).toBe(true);
    expect(isRetriable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetriable(new CityhubError('bus append failed', { retriable: true }))).toBe(true);
    expect(isRetriable(new CityhubError('flush failed', { cause: enospc() }))).toBe(true);
  });

  it('never retries programming errors or what says it is final', () => {
    expect(isRetriable(new TypeError("Cannot read properties of undefined (reading 'factors')"))).toBe(false);
    expect(isRetriable(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(isRetriable(new CityhubError('message too large'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, jittered between half and all of it, never zero', () => {
    const policy = { initialMs: 200, maxMs: 30_000, factor: 2, maxAttempts: Infinity };
    expect(backoffDelay(1, policy, () => 0)).toBe(100);
    expect(backoffDelay(1, policy, () => 1)).toBe(200);
    expect(backoffDelay(4, policy, () => 1)).toBe(1600);
    expect(backoffDelay(50, policy, () => 1)).toBe(30_000);
    expect(backoffDelay(50, policy, () => 0)).toBe(15_000);
  });
});

describe('retry', () => {
  it('retries a retriable failure until it succeeds, telling each wait', async () => {
    let calls = 0;
    const waits: number[] = [];
    const result = await retry(
      async () => {
        if (++calls < 4) throw enospc();
        return 'appended';
      },
      { what: 'append', policy: fast, onRetry: ({ attempt }) => waits.push(attempt) },
    );
    expect(result).toBe('appended');
    expect(waits).toEqual([1, 2, 3]);
  });

  it('rethrows a failure that is not retriable at once', async () => {
    let calls = 0;
    const bug = new TypeError('bug');
    await expect(
      retry(
        async () => {
          calls++;
          throw bug;
        },
        { what: 'append', policy: fast },
      ),
    ).rejects.toBe(bug);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last failure as its cause', async () => {
    const error = await retry(
      async () => {
        throw enospc();
      },
      { what: 'append to raw.sensor', policy: { ...fast, maxAttempts: 3 } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryGaveUpError);
    expect(error).toMatchObject({ attempts: 3, retriable: false, cause: { code: 'ENOSPC' } });
    expect((error as Error).message).toContain('append to raw.sensor failed 3 time(s)');
  });

  it('stops waiting as soon as its signal aborts', async () => {
    const stop = new AbortController();
    const pending = retry(
      async () => {
        throw enospc();
      },
      {
        what: 'append',
        policy: { initialMs: 3_600_000, maxMs: 3_600_000, factor: 2, maxAttempts: Infinity },
        signal: stop.signal,
      },
    );
    stop.abort();
    await expect(pending).rejects.toBeInstanceOf(RetryAbortedError);
  });
});
