/**
 * The status file a hub process keeps in its data dir: written whole to a temporary name and renamed over the last
 * (a reader never sees half a file) every few seconds, and once more at shutdown (state stopped). A process of role
 * all writes `status.json`; a process of one role `status.<role>.json`, so an api process reading the marts of an
 * `all` process on the same data dir does not overwrite that process's status.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CityhubError } from '../errors.js';
import { type HubStatus, hubStatusSchema } from './hub-status.js';

/** How often a running hub rewrites its status file. */
export const STATUS_EVERY_MS = 5_000;

export function statusFileName(role: HubStatus['role']): string {
  return role === 'all' ? 'status.json' : `status.${role}.json`;
}

const statusFilePattern = /^status(\.(connectors|pipeline|models|api))?\.json$/;

/** A status file that is not one a hub wrote (edited by hand, or of an incompatible release). */
export class StatusFileError extends CityhubError {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file} is not a hub status file: ${reason}`);
  }
}

export async function writeStatusFile(dataDir: string, status: HubStatus): Promise<void> {
  const file = join(dataDir, statusFileName(status.role));
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`);
  await rename(tmp, file);
}

export interface ReadStatus {
  file: string;
  status: HubStatus;
  /** When the file was last written (its modification time, ms). */
  writtenAt: number;
}

/** Every status file of the data dir (none when it has none or does not exist), status.json first. */
export async function readStatusFiles(dataDir: string): Promise<ReadStatus[]> {
  let names: string[];
  try {
    names = (await readdir(dataDir)).filter((name) => statusFilePattern.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  names.sort((a, b) => Number(b === 'status.json') - Number(a === 'status.json'));
  const read: ReadStatus[] = [];
  for (const name of names) {
    const file = join(dataDir, name);
    let parsed: unknown;
    let writtenAt: number;
    try {
      writtenAt = (await stat(file)).mtimeMs;
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      // Removed between the listing and the read: it no longer says anything.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      if (error instanceof SyntaxError) throw new StatusFileError(file, error.message);
      throw error;
    }
    const status = hubStatusSchema.safeParse(parsed);
    if (!status.success) throw new StatusFileError(file, status.error.issues[0]?.message ?? 'unexpected content');
    read.push({ file, status: status.data, writtenAt });
  }
  return read;
}

/**
 * Rewrites the status file every STATUS_EVERY_MS while started (one write at a time; the timer does not keep the
 * process alive); stop() writes it a last time with what `take` then says.
 */
export class StatusFileWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly dataDir: string,
    private readonly take: () => Promise<HubStatus>,
    private readonly log: Logger,
    private readonly everyMs = STATUS_EVERY_MS,
  ) {}

  /** Writes now, then on schedule. */
  async start(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    this.timer ??= setInterval(() => void this.write(), this.everyMs);
    this.timer.unref();
    await this.write();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.write();
  }

  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await writeStatusFile(this.dataDir, await this.take());
        this.failed = false;
      } catch (error) {
        // Said once per run of failures (a full disk would otherwise log every few seconds); the hub runs on.
        if (!this.failed) this.log.warn({ err: error, dir: this.dataDir }, 'could not write the status file');
        this.failed = true;
      }
    });
    return this.writing;
  }
}
