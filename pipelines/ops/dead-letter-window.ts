/**
 * Dead letters of about the last hour, from the lander's cumulative counts per feed and reason: a copy of those counts
 * is kept once a minute, and the last hour is now minus the newest copy at least an hour old (or minus nothing while
 * the process is younger than an hour). Nothing is done per record or per flush; the window is 60 to 61 minutes.
 */

export type ReasonCounts = ReadonlyMap<string, ReadonlyMap<string, number>>;

export interface ReasonCount {
  feed: string;
  reason: string;
  records: number;
}

const HOUR_MS = 3_600_000;
const SAMPLE_EVERY_MS = 60_000;

export class DeadLetterWindow {
  /** Oldest first; the first is the baseline once older than an hour. */
  private readonly samples: { at: number; counts: Map<string, number> }[];

  constructor(started: number) {
    this.samples = [{ at: started, counts: new Map() }];
  }

  /** Keeps a copy of the counts when the newest copy is a minute old; forgets copies no window needs any more. */
  sample(now: number, current: ReasonCounts): void {
    if (now - this.samples[this.samples.length - 1]!.at < SAMPLE_EVERY_MS) return;
    this.samples.push({ at: now, counts: flatten(current) });
    while (this.samples.length > 1 && this.samples[1]!.at <= now - HOUR_MS) this.samples.shift();
  }

  /** Records dead-lettered per feed and reason within the window ending now; reasons with none are left out. */
  lastHour(now: number, current: ReasonCounts): ReasonCount[] {
    let baseline = this.samples[0]!;
    for (const sample of this.samples) if (sample.at <= now - HOUR_MS) baseline = sample;
    const window: ReasonCount[] = [];
    for (const { feed, reason, records } of listed(current)) {
      const since = records - (baseline.counts.get(key(feed, reason)) ?? 0);
      if (since > 0) window.push({ feed, reason, records: since });
    }
    return window;
  }
}

/** The counts as a list sorted by feed and reason. */
export function listed(current: ReasonCounts): ReasonCount[] {
  const list: ReasonCount[] = [];
  for (const [feed, reasons] of current) for (const [reason, records] of reasons) list.push({ feed, reason, records });
  return list.sort((a, b) => a.feed.localeCompare(b.feed) || a.reason.localeCompare(b.reason));
}

function key(feed: string, reason: string): string {
  return `${feed}\u0000${reason}`;
}

function flatten(current: ReasonCounts): Map<string, number> {
  const flat = new Map<string, number>();
  for (const [feed, reasons] of current) for (const [reason, n] of reasons) flat.set(key(feed, reason), n);
  return flat;
}
