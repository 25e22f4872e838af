/**
 * Waits for the next wake-up call: resolves when whoever holds `waiters` calls them, rejects with the signal's reason
 * when it aborts. Its abort listener goes with it, so a long run of waits leaves no listeners behind.
 */
export function nextWake(waiters: (() => void)[], signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    waiters.push(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
