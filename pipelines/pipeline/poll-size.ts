/**
 * How many messages a poll asks for: as many as the lander adds in about STRETCH_MS, from MIN_MESSAGES to
 * MAX_MESSAGES. Adding a poll's messages is one synchronous stretch of the event loop, and each step of the
 * overlapped flush (file writes, DuckDB, fsyncs, renames) waits for the stretch in progress to end: normalized one by
 * one (about 20 µs a message), 20,000 a poll kept a flush queued for seconds (measured with npm run bench) and 2,000
 * kept pace; handed to the bulk path (2–3 µs a message), 2,000 a poll spent 3–5% of the CPU on the polls themselves
 * (a turn of the loop and reads of 40 KB a partition), which 10,000 saves.
 */
export const MIN_MESSAGES = 2_000;
export const MAX_MESSAGES = 10_000;
export const STRETCH_MS = 40;
/** A poll of fewer messages says too little of the time a message takes (fixed costs weigh in). */
const MEASURED_MESSAGES = 200;

export class PollSize {
  /** Milliseconds a message took, smoothed over the polls measured. */
  private msPerMessage: number | undefined;
  messages = MIN_MESSAGES;

  /** The lander took `ms` to add a poll of `count` messages: sizes the next polls. */
  took(ms: number, count: number): void {
    if (count < MEASURED_MESSAGES) return;
    const latest = ms / count;
    this.msPerMessage = this.msPerMessage === undefined ? latest : 0.7 * this.msPerMessage + 0.3 * latest;
    const fits = Math.floor(STRETCH_MS / Math.max(this.msPerMessage, 1e-6));
    this.messages = Math.min(MAX_MESSAGES, Math.max(MIN_MESSAGES, fits));
  }
}
