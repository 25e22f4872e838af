/**
 * The marts builds of this process as they end: duration and outcome, for /metrics and the status. A build that
 * skipped its turn (another process held the build lock) is no build and is not recorded.
 */
import type { MetricFamily } from './exposition.js';
import type { MartsBuildRecord } from './hub-status.js';
import { Histogram } from './instruments.js';

/** Seconds: a small city's build takes seconds, a megacity's several minutes. */
const BUILD_BOUNDS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export class MartsBuildTracker {
  private readonly durations = new Histogram(
    'cityhub_marts_build_duration_seconds',
    'Duration of the marts builds of this process (lake sync, models, data tests, publish), failed ones included.',
    BUILD_BOUNDS,
  );
  private builds = { ok: 0, failed: 0 };
  private last: MartsBuildRecord | undefined;
  private lastSuccessAt: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Runs a build and records how it ended; `null` from the build means it skipped its turn. */
  async track<T>(build: () => Promise<T | null>): Promise<T | null> {
    const started = this.now();
    try {
      const built = await build();
      if (built !== null) this.record(started, null);
      return built;
    } catch (error) {
      this.record(started, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  get lastBuild(): MartsBuildRecord | undefined {
    return this.last;
  }

  get ok(): number {
    return this.builds.ok;
  }

  get failed(): number {
    return this.builds.failed;
  }

  families(): MetricFamily[] {
    const families: MetricFamily[] = [
      this.durations.family(),
      {
        name: 'cityhub_marts_builds_total',
        help: 'Marts builds of this process by outcome: ok (published) or failed (the previous snapshot stays).',
        type: 'counter',
        samples: [
          { labels: { status: 'ok' }, value: this.builds.ok },
          { labels: { status: 'failed' }, value: this.builds.failed },
        ],
      },
    ];
    const last = this.last;
    if (last === undefined) return families;
    families.push(
      {
        name: 'cityhub_marts_last_build_success',
        help: "1 when this process's last marts build published, 0 when it failed.",
        type: 'gauge',
        samples: [{ value: last.status === 'ok' ? 1 : 0 }],
      },
      {
        name: 'cityhub_marts_last_build_timestamp_seconds',
        help: "When this process's last marts build ended (Unix time).",
        type: 'gauge',
        samples: [{ value: Date.parse(last.at) / 1000 }],
      },
    );
    if (this.lastSuccessAt !== undefined)
      families.push({
        name: 'cityhub_marts_last_success_timestamp_seconds',
        help: 'When a marts build of this process last published (Unix time): alert on its age.',
        type: 'gauge',
        samples: [{ value: this.lastSuccessAt / 1000 }],
      });
    return families;
  }

  private record(started: number, error: string | null): void {
    const ended = this.now();
    const durationMs = Math.max(0, ended - started);
    this.durations.observe(durationMs / 1000);
    if (error === null) {
      this.builds.ok++;
      this.lastSuccessAt = ended;
    } else this.builds.failed++;
    this.last = {
      at: new Date(ended).toISOString(),
      duration_ms: durationMs,
      status: error === null ? 'ok' : 'failed',
      error: error === null ? null : error.split('\n')[0]!,
    };
  }
}
