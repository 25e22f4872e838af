/**
 * A deadline as an AbortSignal, optionally tied to a parent signal (a shutdown). Use it instead of
 * `AbortSignal.any([AbortSignal.timeout(ms), parent])`: on Node 20 that combined signal holds the timeout signal only
 * weakly, so a garbage collection during the wait can collect it, its timer never fires and the wait never ends
 * (nodejs/node#57736; it is how the Kafka test broker's Fetch long-poll hung a consumer's heartbeats). Here the timer
 * holds the controller strongly; `clear()` stops the timer and detaches from the parent, so a long-lived parent does
 * not collect one listener per call.
 */
export interface Deadline {
  signal: AbortSignal;
  /** True once the deadline (not the parent) aborted the signal. */
  timedOut(): boolean;
  /** Stops the timer and the parent listener; call it when the guarded work ends. */
  clear(): void;
}

export function abortAfter(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'));
  }, ms);
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
