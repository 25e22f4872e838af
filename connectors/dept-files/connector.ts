import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compileFields } from '../../pipelines/normalize/resource-fields.js';
import { RetryAbortedError, sleep } from '../../pipelines/retry.js';
import { s3ClientOf } from '../../pipelines/s3-client.js';
import type { DataResource } from '../../schemas/index.js';
import { ConnectorLifecycle } from '../lifecycle.js';
import type { BusSender } from '../send.js';
import type { Connector, ConnectorContext, ConnectorHealth } from '../types.js';
import type { DeptFilesConnectorConfig } from './config.js';
import {
  type DeliveryContext,
  type DeliveryStats,
  deliverFile,
  emptyStats,
  type FilePosition,
  isFilePosition,
  type KnownResource,
} from './deliver.js';
import { FinalBatch } from './final-batch.js';
import { type DeliverySource, FolderSource } from './folder.js';
import { DeliveryManifest } from './manifest.js';
import { DeliveryNaming } from './naming.js';
import { S3Source } from './s3.js';

/** Files delivered between two commits of the source checkpoint (and fsyncs of the folders files were moved in). */
const COMMIT_EVERY_FILES = 64;

/**
 * Departmental deliveries from a drop folder or an S3 prefix (docs/connectors.md "dept-files"): each settled file
 * becomes one delivery on `raw.dept` — record chunks, row dead letters with file and line, then the delivery
 * message — and is acknowledged at its source (moved to done/) only after all of it is durably on the bus.
 */
export class DeptFilesConnector implements Connector {
  readonly id: string;
  readonly kind = 'dept-files';
  private readonly lifecycle: ConnectorLifecycle;
  readonly stats: DeliveryStats = emptyStats();

  constructor(
    private readonly config: DeptFilesConnectorConfig,
    /** The drop folder resolved against the config file's folder (folder sources). */
    private readonly folder: string | undefined,
    /** This connector's own folder under the data dir: the manifest and the S3 spool. */
    private readonly stateDir: string,
  ) {
    this.id = config.id;
    this.lifecycle = new ConnectorLifecycle(config.id, 'dept-files');
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  async start(context: ConnectorContext): Promise<void> {
    const sender = this.lifecycle.openSender(context);
    this.lifecycle.run(
      context.log,
      () => this.run(sender, context),
      // Stopped in a poll wait or an S3 request (no send was failing): an ordinary end.
      (error) =>
        this.lifecycle.stopping &&
        !sender.health.error &&
        (error instanceof RetryAbortedError || (error as Error | undefined)?.name === 'AbortError'),
    );
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
  }

  health(): ConnectorHealth {
    return { ...this.lifecycle.health(), progress: { ...this.stats } };
  }

  private async run(sender: BusSender, context: ConnectorContext): Promise<void> {
    const log = context.log;
    const source = await this.openSource();
    const manifest = await DeliveryManifest.open(join(this.stateDir, 'manifest.json'));
    const batch = new FinalBatch(sender, manifest, this.config.chunk_bytes);
    const delivery: DeliveryContext = {
      config: this.config,
      sender,
      checkpoint: context.checkpoint,
      manifest,
      batch,
      naming: new DeliveryNaming(this.config),
      resources: knownResources(context.dataResources ?? []),
      stats: this.stats,
      log,
    };
    // The file that was being sent when the last run ended, and how far its sends were acknowledged.
    const position = context.checkpoint?.position;
    let resume: FilePosition | undefined = isFilePosition(position) ? position : undefined;
    // Files taken since the last commit: their sends are all in the source checkpoint's pending record, so a crash
    // re-sends them without appending them twice. Committing only every few files keeps that record small and the
    // fsyncs few; the first file after a start is committed at once, ending the recovery of an interrupted send.
    let sinceCommit = 0;
    let committedOnce = false;
    const settle = async () => {
      await batch.flush();
      if (sinceCommit === 0) return;
      await source.sync();
      await context.checkpoint?.commit(null);
      sinceCommit = 0;
      committedOnce = true;
    };
    // A bounded import (`once`) is one unit: stop() lets it finish what is there. With `drain_on_stop`, stop() lets
    // the connector deliver the files present and settled, then it ends. Otherwise it stops between files.
    const draining = () => this.lifecycle.stopping && this.config.drain_on_stop;
    const goOn = () => this.config.once || !this.lifecycle.stopping || this.config.drain_on_stop;
    try {
      while (goOn()) {
        const files = (await source.ready()).filter((f) => delivery.naming.includes(f.relative));
        let taken = 0;
        for (const file of files) {
          if (!goOn()) break;
          if (manifest.isTaken(file.stamp)) {
            // Delivered before (a crash before the move, or files left in place): only the move is left to do.
            await source.acknowledge(file);
            continue;
          }
          taken++;
          const local = await file.fetch();
          try {
            // The file is acknowledged at its source (moved) once its batch is sent and in the manifest.
            await deliverFile(delivery, file.stamp, file.relative, local.path, resume, () => source.acknowledge(file));
          } finally {
            await local.release();
          }
          resume = undefined;
          sinceCommit++;
          if (!committedOnce || sinceCommit >= COMMIT_EVERY_FILES) await settle();
        }
        // Before the folder is listed again: a batched file not yet moved must not be taken twice.
        await batch.flush();
        if (taken > 0) continue;
        await settle();
        if (this.config.once && (await this.nothingLeft(source, manifest, delivery))) {
          log.info({ connector: this.id, ...this.stats }, 'dept-files source is empty');
          return;
        }
        if (draining()) {
          log.info({ connector: this.id, ...this.stats }, 'dept-files drained the files present at stop');
          return;
        }
        try {
          await sleep(
            this.config.source.poll_interval_ms,
            this.lifecycle.stopWaiting.signal,
            `dept-files ${this.id} poll`,
          );
        } catch (error) {
          // Stopped in a poll wait: a draining connector looks once more, for what is there now.
          if (!(error instanceof RetryAbortedError && draining())) throw error;
        }
      }
      await settle();
    } finally {
      await manifest.close();
    }
  }

  /** A bounded import ends once no file is left to take, settling or not. */
  private async nothingLeft(
    source: DeliverySource,
    manifest: DeliveryManifest,
    delivery: DeliveryContext,
  ): Promise<boolean> {
    if (this.config.source.type === 'folder') {
      const folder = new FolderSource({ ...this.config.source, settle_ms: 0 }, this.folder!);
      const files = (await folder.ready()).filter((f) => delivery.naming.includes(f.relative));
      return files.every((f) => manifest.isTaken(f.stamp));
    }
    const files = (await source.ready()).filter((f) => delivery.naming.includes(f.relative));
    return files.every((f) => manifest.isTaken(f.stamp));
  }

  private async openSource(): Promise<DeliverySource> {
    const config = this.config.source;
    if (config.type === 'folder') {
      const source = new FolderSource(config, this.folder!);
      await source.ready(); // a missing folder fails here, at start, not at the first poll
      return source;
    }
    const spool = join(this.stateDir, 'spool');
    await rm(spool, { recursive: true, force: true });
    return new S3Source(config, s3ClientOf(config), spool, this.lifecycle.stopWaiting.signal);
  }
}

function knownResources(resources: readonly DataResource[]): Map<string, KnownResource> {
  return new Map(
    resources.map((resource) => [
      resource.resource_code,
      { resource, fields: resource.fields ? compileFields(resource.fields) : undefined },
    ]),
  );
}

/** Where a connector's manifest and spool live: `<data_dir>/checkpoints/<id>/`. */
export function deptFilesStateDir(checkpointDir: string, id: string): string {
  return join(checkpointDir, id);
}
