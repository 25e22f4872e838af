import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../../pipelines/s3-sdk.js';
import type { S3SourceConfig } from './config.js';
import type { DeliverySource, SourceFile } from './folder.js';

/**
 * A polled S3 prefix: every object below it (ListObjectsV2, followed page by page) is a file; keys ending in "/"
 * (folder markers) are not. An object is downloaded, streamed, to a spool file under the data dir, read from there,
 * and the spool file removed. Objects stay in the bucket: the manifest (key, size, LastModified, ETag) keeps an
 * object from being delivered twice, and a changed object is a new delivery.
 */
export class S3Source implements DeliverySource {
  constructor(
    private readonly config: S3SourceConfig,
    private readonly client: S3Client,
    /** Folder for the spool copies (emptied of leftovers at start by the connector). */
    private readonly spoolDir: string,
    private readonly signal: AbortSignal,
  ) {}

  async ready(): Promise<SourceFile[]> {
    const files: SourceFile[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new (s3Sdk().ListObjectsV2Command)({
          Bucket: this.config.bucket,
          Prefix: this.config.prefix,
          MaxKeys: this.config.max_keys,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        { abortSignal: this.signal },
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key;
        if (!key || key.endsWith('/')) continue;
        files.push({
          stamp: {
            name: key,
            size: object.Size ?? 0,
            mtimeMs: object.LastModified?.getTime() ?? 0,
            ...(object.ETag ? { etag: object.ETag } : {}),
          },
          relative: key.slice(this.config.prefix.length).replace(/^\/+/, ''),
          fetch: () => this.download(key),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return files.sort((a, b) => (a.stamp.name < b.stamp.name ? -1 : a.stamp.name > b.stamp.name ? 1 : 0));
  }

  async acknowledge(): Promise<void> {}

  async sync(): Promise<void> {}

  private async download(key: string): Promise<{ path: string; release(): Promise<void> }> {
    await mkdir(this.spoolDir, { recursive: true });
    // One object at a time: a fixed name, so a crash leaves at most one spool file behind.
    const path = join(this.spoolDir, 'object.download');
    const object = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.config.bucket, Key: key }), {
      abortSignal: this.signal,
    });
    await pipeline(object.Body as Readable, createWriteStream(path));
    return { path, release: () => rm(path, { force: true }) };
  }
}
