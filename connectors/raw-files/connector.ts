import { mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ProduceMessage } from '../../pipelines/bus/types.js';
import { CityhubError } from '../../pipelines/errors.js';
import { RetryAbortedError, sleep } from '../../pipelines/retry.js';
import { readHead, syncFolder } from '../files.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import type { BusSender } from '../send.js';
import type { SourceCheckpoint } from '../source-checkpoint.js';
import type { Connector, ConnectorContext, ConnectorHealth } from '../types.js';
import type { RawFilesConnectorConfig } from './config.js';

/** Where sent files go, inside the watched folder. A dot name, so the folder scan never takes it for a message. */
export const SENT_FOLDER = '.sent';

/** Files per bus send, and bytes per send: many small files share one durable append, a big one goes alone. */
const BATCH_FILES = 64;
const BATCH_BYTES = 16 * 1024 * 1024;
/** Larger than any bus accepts (the embedded log's own ceiling): dead-lettered from its head, never read whole. */
const UNREADABLE_SIZE = 256 * 1024 * 1024;

/** The configured folder is missing or not a folder: a configuration problem, not one to wait out. */
export class RawFilesFolderError extends CityhubError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super(`raw-files folder ${path} cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.path = path;
  }
}

/**
 * Sends every file of a folder as one raw message of its feed, in file-name order, and moves each file to `.sent/`
 * once the bus acknowledged it (as itself, or as a connector dead letter when the bus refuses its size). A crash
 * re-sends at most the files of the send in flight: at-least-once, like every connector.
 */
export class RawFilesConnector implements Connector {
  readonly id: string;
  readonly kind = 'raw-files';
  private readonly lifecycle: ConnectorLifecycle;
  private checkpoint: SourceCheckpoint | undefined;

  constructor(
    private readonly config: RawFilesConnectorConfig,
    /** The folder, resolved against the config file's folder. */
    private readonly folder: string,
  ) {
    this.id = config.id;
    this.lifecycle = new ConnectorLifecycle(config.id, 'raw-files');
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  async start(context: ConnectorContext): Promise<void> {
    this.checkpoint = context.checkpoint;
    const sender = this.lifecycle.openSender(context);
    // Stopped in a poll wait (no send was failing): an ordinary end, not a failure.
    this.lifecycle.run(
      context.log,
      () => this.run(sender, context.log),
      (error) => error instanceof RetryAbortedError && !sender.health.error,
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  health(): ConnectorHealth {
    return this.lifecycle.health();
  }

  private async run(sender: BusSender, log: Logger): Promise<void> {
    const sentDir = join(this.folder, SENT_FOLDER);
    await this.pendingFiles(); // a missing folder fails here, at start, not at the first poll
    await mkdir(sentDir, { recursive: true });
    // A bounded replay (`once`) is one unit, like the demo's history: stop() lets it empty the folder (a backoff wait
    // is still cut short). A watching connector stops between sends.
    const goOn = () => this.config.once || !this.lifecycle.stopping;
    while (goOn()) {
      const names = await this.pendingFiles();
      if (names.length === 0) {
        if (this.config.once) {
          log.info({ connector: this.id, sent: sender.sent }, 'raw-files folder is empty');
          return;
        }
        await sleep(this.config.poll_interval_ms, this.lifecycle.stopWaiting.signal, `raw-files ${this.id} poll`);
        continue;
      }
      for (let i = 0; i < names.length && goOn(); ) {
        const batch: string[] = [];
        const messages: ProduceMessage[] = [];
        let bytes = 0;
        while (i < names.length && batch.length < BATCH_FILES && (batch.length === 0 || bytes < BATCH_BYTES)) {
          const name = names[i++]!;
          const body = await this.readBody(sender, name);
          if (body === undefined) continue;
          batch.push(name);
          // The name reaches the mapping as the `file` header (a region or device id in it: `segment`).
          messages.push({ key: name, value: body, headers: { file: name } });
          bytes += body.length;
        }
        await sender.send(this.config.feed, messages, batch);
        for (const name of batch) await rename(join(this.folder, name), join(sentDir, name));
        await syncFolder(sentDir);
        await syncFolder(this.folder);
        // The folder is the position: the commit only says no send is in flight any more.
        await this.checkpoint?.commit(null);
      }
    }
  }

  /** Regular files to send, in file-name order; names starting with "." are in progress or ours. */
  private async pendingFiles(): Promise<string[]> {
    try {
      const entries = await readdir(this.folder, { withFileTypes: true });
      return entries
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      throw new RawFilesFolderError(this.folder, error);
    }
  }

  /**
   * The file's bytes; undefined when it vanished or was dead-lettered here (too large to read, unreadable), in
   * which case it is already moved to `.sent/`.
   */
  private async readBody(sender: BusSender, name: string): Promise<Buffer | undefined> {
    const path = join(this.folder, name);
    try {
      const size = (await stat(path)).size;
      if (size > UNREADABLE_SIZE) {
        const head = await readHead(path, 64 * 1024);
        await this.deadLetterFile(sender, name, head, 'oversized', `file is ${size} bytes; no bus accepts that`);
        return undefined;
      }
      return await readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined; // taken away by someone else between the scan and the read
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EISDIR') throw error;
      await this.deadLetterFile(sender, name, Buffer.alloc(0), 'unreadable', (error as Error).message);
      return undefined;
    }
  }

  private async deadLetterFile(
    sender: BusSender,
    name: string,
    body: Buffer,
    reason: string,
    why: string,
  ): Promise<void> {
    await sender.deadLetter(this.config.feed, { key: name, value: body, headers: { file: name } }, reason, why, name);
    await rename(join(this.folder, name), join(this.folder, SENT_FOLDER, name));
    await this.checkpoint?.commit(null);
  }
}
