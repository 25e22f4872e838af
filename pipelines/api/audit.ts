/**
 * The audit log of the upstream API: one JSON line per request (who — the token's id, never the token —, what route
 * and query, how many rows, the status, when, from which client), appended to
 * `<data_dir>/audit/api/dt=<UTC day>/api-<pid>.ndjson`. Lines are buffered and appended once a second and on close,
 * so a request never waits on the disk; a failed append is logged and retried with the next one.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface AuditEntry {
  at: string;
  token_id: string | null;
  method: string;
  route: string;
  query: string;
  status: number;
  rows: number | null;
  ms: number;
  client: string;
}

const FLUSH_MS = 1000;

export class AuditLog {
  private pending: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly log?: Logger,
  ) {}

  record(entry: AuditEntry): void {
    this.pending.push(entry);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, FLUSH_MS).unref();
  }

  /** Appends what is buffered; resolves when it is written (or its failure logged). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => this.append(batch));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async append(batch: AuditEntry[]): Promise<void> {
    if (batch.length === 0) return;
    const byDay = new Map<string, string[]>();
    for (const entry of batch) {
      const day = entry.at.slice(0, 10);
      const lines = byDay.get(day) ?? [];
      lines.push(JSON.stringify(entry));
      byDay.set(day, lines);
    }
    for (const [day, lines] of byDay) {
      const folder = join(this.dir, `dt=${day}`);
      try {
        await mkdir(folder, { recursive: true });
        await appendFile(join(folder, `api-${process.pid}.ndjson`), `${lines.join('\n')}\n`);
      } catch (err) {
        this.log?.error(
          { err, folder, entries: lines.length },
          'api audit log: append failed; kept for the next flush',
        );
        this.pending.unshift(...batch.filter((e) => e.at.slice(0, 10) === day));
      }
    }
  }
}
