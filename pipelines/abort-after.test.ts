import { EventEmitter, once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { abortAfter } from './abort-after.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Waits for an event that never comes, guarded by `signal`, forcing a garbage collection during the wait. */
async function waitNothingWithGc(signal: AbortSignal): Promise<'aborted' | 'still waiting'> {
  const aborted = once(new EventEmitter(), 'never', { signal }).then(
    () => 'aborted' as const,
    () => 'aborted' as const,
  );
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  // Far past the deadline: a signal that has not aborted by then never will.
  let giveUp: NodeJS.Timeout | undefined;
  const later = new Promise<'still waiting'>((resolve) => {
    giveUp = setTimeout(() => resolve('still waiting'), 2_000);
  });
  try {
    return await Promise.race([aborted, later]);
  } finally {
    clearTimeout(giveUp);
  }
}

describe('abortAfter', () => {
  it('aborts at its deadline even when a garbage collection runs during the wait', async () => {
    const parent = new AbortController();
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      const deadline = abortAfter(20, parent.signal);
      outcomes.push(await waitNothingWithGc(deadline.signal));
      expect(deadline.timedOut()).toBe(true);
      deadline.clear();
    }
    expect(outcomes).toEqual(['aborted', 'aborted', 'aborted']);
  });

  it('aborts with the parent, which is not a timeout, and clear() detaches from a parent that lives on', async () => {
    const parent = new AbortController();
    const deadline = abortAfter(60_000, parent.signal);
    parent.abort(new Error('shutting down'));
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toEqual(new Error('shutting down'));
    expect(deadline.timedOut()).toBe(false);
    deadline.clear();

    const longLived = new AbortController();
    const listeners = () => EventEmitter.getEventListeners(longLived.signal, 'abort').length;
    for (let i = 0; i < 5; i++) abortAfter(60_000, longLived.signal).clear();
    expect(listeners()).toBe(0);
  });

  it('is aborted at once when the parent already is', () => {
    const deadline = abortAfter(60_000, AbortSignal.abort('gone'));
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe('gone');
    deadline.clear();
  });
});
