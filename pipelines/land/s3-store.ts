/**
 * A lake in an S3-compatible bucket (S3, MinIO, OSS, COS). DuckDB writes each file to a local staging folder; commit()
 * uploads it under its final key and verifies it before resolving, so the bus offsets are committed only for files a
 * reader can take whole. Visibility is atomic on the store's side: a PutObject makes an object visible only once all
 * its bytes are stored, and a multipart upload's object appears only at CompleteMultipartUpload — an upload cut short
 * leaves no object under the final key (nor a second copy: file names are deterministic, a re-run overwrites).
 */

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3LakeConfig } from '../config/schema.js';
import { CityhubError } from '../errors.js';
import { s3ClientOf } from '../s3-client.js';
import { s3Sdk } from '../s3-sdk.js';
import { type LakeObject, type LakeObjectSource, mirrorObject } from './lake-mirror.js';
import type { LakeStore } from './store.js';
import { walkFiles } from './walk-files.js';

/** Parts of a multipart upload (S3 takes 5 MiB at least for every part but the last). */
const PART_BYTES = 8 * 1024 * 1024;
/** Transfers at once (uploads of a commit, downloads of recentFiles): enough to hide round trips, memory a few parts. */
const TRANSFER_CONCURRENCY = 4;
/** Folders at the lake root that hold the pipeline's own work files, never data (as in LocalLakeStore). */
const WORK_FOLDERS = ['_journal/', '_scratch/', '_catalogs/'];

/** An S3 request failed. `retriable`: the network, a 5xx or throttling — the lander backs off and keeps the batch. */
export class LakeStoreError extends CityhubError {
  readonly bucket: string;
  readonly endpoint: string;
  readonly key: string | undefined;
  readonly operation: string;
  readonly statusCode: number | undefined;
  constructor(
    message: string,
    context: { bucket: string; endpoint: string; key?: string; operation: string; statusCode?: number },
    options: { cause?: unknown; retriable: boolean },
  ) {
    super(message, options);
    this.bucket = context.bucket;
    this.endpoint = context.endpoint;
    this.key = context.key;
    this.operation = context.operation;
    this.statusCode = context.statusCode;
  }
}

/** S3 error names a later attempt can outlive. */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  // Bytes damaged on the way: sending them again may pass.
  'BadDigest',
]);

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export interface S3LakeStoreOptions {
  config: S3LakeConfig;
  /** Local folder for staging, scratch output and the read cache (`<cacheDir>/mirror`). */
  cacheDir: string;
  /** A client to share (tests); by default one is made from the config. */
  client?: S3Client;
}

export class S3LakeStore implements LakeStore, LakeObjectSource {
  readonly client: S3Client;
  /** The read cache: a mirror of the lake's Parquet objects, in the lake layout (lake-mirror.ts). */
  readonly mirrorDir: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: string;
  private readonly stagingDir: string;
  private readonly scratchRoot: string;
  private readonly multipartThreshold: number;

  constructor(options: S3LakeStoreOptions) {
    const { config, cacheDir } = options;
    this.client = options.client ?? s3ClientOf(config);
    this.bucket = config.bucket;
    this.prefix = config.prefix === '' || config.prefix.endsWith('/') ? config.prefix : `${config.prefix}/`;
    this.endpoint = config.endpoint ?? `AWS S3 (${config.region})`;
    this.multipartThreshold = config.multipart_threshold_bytes;
    this.stagingDir = join(cacheDir, 'staging');
    this.scratchRoot = join(cacheDir, 'scratch');
    this.mirrorDir = join(cacheDir, 'mirror');
  }

  async scratchDir(id: string): Promise<string> {
    const path = join(this.scratchRoot, id);
    await rm(path, { recursive: true, force: true });
    await mkdir(path, { recursive: true });
    return path;
  }

  async clearScratch(): Promise<void> {
    await rm(this.scratchRoot, { recursive: true, force: true });
  }

  async stagingPath(relPath: string): Promise<string> {
    const path = join(this.stagingDir, `${relPath}.tmp`);
    await mkdir(dirname(path), { recursive: true });
    return path;
  }

  async commit(relPaths: string[]): Promise<void> {
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < relPaths.length) {
        try {
          await this.upload(relPaths[next++]!);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    // Settled, not raced: the caller retries by staging the files again, which an upload still running must not meet.
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(TRANSFER_CONCURRENCY, relPaths.length) }, worker),
    );
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }

  /** Lake keys (relative to the prefix) and staged files not yet committed (`<name>.tmp`, local). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for await (const object of this.listKeys(this.prefix)) {
      const relPath = object.Key.slice(this.prefix.length);
      if (!WORK_FOLDERS.some((folder) => relPath.startsWith(folder))) out.push(relPath);
    }
    for await (const staged of walkFiles(this.stagingDir)) out.push(relative(this.stagingDir, staged));
    return out;
  }

  async remove(relPath: string): Promise<void> {
    if (relPath.endsWith('.tmp')) {
      await rm(join(this.stagingDir, relPath), { force: true });
      return;
    }
    // DeleteObject succeeds for a key that is already gone.
    await this.send('delete', relPath, () =>
      this.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: this.key(relPath) })),
    );
    await rm(join(this.mirrorDir, relPath), { force: true });
    // And its ETag record (lake-mirror.ts): a sync never visits records of files gone, and compaction removes many.
    await rm(join(this.mirrorDir, '.etags', relPath), { force: true });
  }

  async writeSmall(relPath: string, text: string): Promise<void> {
    const body = Buffer.from(text);
    await this.send('write', relPath, () =>
      this.client.send(
        new (s3Sdk().PutObjectCommand)({
          Bucket: this.bucket,
          Key: this.key(relPath),
          Body: body,
          ContentMD5: md5(body),
        }),
      ),
    );
  }

  async listWork(folder: string): Promise<string[]> {
    const out: string[] = [];
    const under = `${this.prefix}${folder}/`;
    for await (const object of this.listKeys(under)) out.push(object.Key.slice(this.prefix.length));
    return out.sort();
  }

  async readSmall(relPath: string): Promise<string | undefined> {
    try {
      const object = await this.client.send(
        new (s3Sdk().GetObjectCommand)({ Bucket: this.bucket, Key: this.key(relPath) }),
      );
      return await object.Body!.transformToString('utf8');
    } catch (error) {
      if ((error as SdkError).name === 'NoSuchKey') return undefined;
      throw this.failure('read', relPath, error);
    }
  }

  /** Downloads the newest `limit` Parquet objects of `folder` (by LastModified, then key) into the read cache. */
  async recentFiles(folder: string, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const newestFirst = (a: LakeObject, b: LakeObject) =>
      b.lastModified - a.lastModified || (a.relPath < b.relPath ? 1 : a.relPath > b.relPath ? -1 : 0);
    let newest: LakeObject[] = [];
    for await (const object of this.objects(folder)) {
      newest.push(object);
      // Trimmed as it grows: memory stays at twice the limit whatever the size of the dataset.
      if (newest.length >= 2 * limit) newest = newest.sort(newestFirst).slice(0, limit);
    }
    newest = newest.sort(newestFirst).slice(0, limit);
    const paths: string[] = [];
    for (let i = 0; i < newest.length; i += TRANSFER_CONCURRENCY) {
      const group = newest.slice(i, i + TRANSFER_CONCURRENCY);
      for (const path of await Promise.all(group.map((o) => mirrorObject(this, this.mirrorDir, o)))) paths.push(path);
    }
    return paths;
  }

  async *objects(folder?: string): AsyncGenerator<LakeObject> {
    const under = folder === undefined ? this.prefix : `${this.prefix}${folder}/`;
    for await (const object of this.listKeys(under)) {
      const relPath = object.Key.slice(this.prefix.length);
      if (!relPath.endsWith('.parquet') || WORK_FOLDERS.some((f) => relPath.startsWith(f))) continue;
      yield { relPath, size: object.Size, etag: object.ETag, lastModified: object.LastModified };
    }
  }

  async download(relPath: string, localPath: string): Promise<{ etag: string; size: number }> {
    const object = await this.send('download', relPath, () =>
      this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.bucket, Key: this.key(relPath) })),
    );
    try {
      await pipeline(object.Body as Readable, createWriteStream(localPath));
    } catch (error) {
      throw this.failure('download', relPath, error);
    }
    return { etag: object.ETag ?? '', size: object.ContentLength ?? 0 };
  }

  private key(relPath: string): string {
    return `${this.prefix}${relPath}`;
  }

  /** Every object under `prefix`, page by page (ListObjectsV2 returns at most 1,000 keys a call). */
  private async *listKeys(
    prefix: string,
  ): AsyncGenerator<{ Key: string; Size: number; ETag: string; LastModified: number }> {
    let token: string | undefined;
    do {
      const page = await this.send('list', prefix, () =>
        this.client.send(
          new (s3Sdk().ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || object.Key.endsWith('/')) continue;
        yield {
          Key: object.Key,
          Size: object.Size ?? 0,
          ETag: object.ETag ?? '',
          LastModified: object.LastModified?.getTime() ?? 0,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Uploads a staged file under its final key, checks the stored object, then drops the staged copy. */
  private async upload(relPath: string): Promise<void> {
    const staged = join(this.stagingDir, `${relPath}.tmp`);
    const file = await open(staged, 'r');
    let size: number;
    try {
      size = (await file.stat()).size;
      if (size < this.multipartThreshold) {
        const body = await file.readFile();
        await this.send(
          'upload',
          relPath,
          // Content-MD5: the store refuses bytes damaged on the way (BadDigest) instead of keeping them.
          () =>
            this.client.send(
              new (s3Sdk().PutObjectCommand)({
                Bucket: this.bucket,
                Key: this.key(relPath),
                Body: body,
                ContentMD5: md5(body),
              }),
            ),
        );
      } else await this.uploadInParts(relPath, file, size);
    } finally {
      await file.close();
    }
    const head = await this.send('verify', relPath, () =>
      this.client.send(new (s3Sdk().HeadObjectCommand)({ Bucket: this.bucket, Key: this.key(relPath) })),
    );
    if (head.ContentLength !== size)
      throw new LakeStoreError(
        `S3 lake: ${this.where(relPath)} holds ${head.ContentLength} bytes after upload, expected ${size}`,
        { bucket: this.bucket, endpoint: this.endpoint, key: this.key(relPath), operation: 'verify' },
        { retriable: true },
      );
    await rm(staged, { force: true });
  }

  /**
   * A multipart upload, one part in memory at a time. Until CompleteMultipartUpload the parts are invisible; on any
   * failure the upload is aborted (best effort: a bucket lifecycle rule for incomplete uploads catches the rest).
   */
  private async uploadInParts(
    relPath: string,
    file: import('node:fs/promises').FileHandle,
    size: number,
  ): Promise<void> {
    const Key = this.key(relPath);
    const created = await this.send('upload', relPath, () =>
      this.client.send(new (s3Sdk().CreateMultipartUploadCommand)({ Bucket: this.bucket, Key })),
    );
    const UploadId = created.UploadId!;
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      const buffer = Buffer.allocUnsafe(Math.min(PART_BYTES, size));
      for (let position = 0, PartNumber = 1; position < size; position += PART_BYTES, PartNumber++) {
        const { bytesRead } = await file.read(buffer, 0, Math.min(PART_BYTES, size - position), position);
        const body = buffer.subarray(0, bytesRead);
        const part = await this.send('upload', relPath, () =>
          this.client.send(
            new (s3Sdk().UploadPartCommand)({
              Bucket: this.bucket,
              Key,
              UploadId,
              PartNumber,
              Body: body,
              ContentMD5: md5(body),
            }),
          ),
        );
        parts.push({ ETag: part.ETag!, PartNumber });
      }
      await this.send('upload', relPath, () =>
        this.client.send(
          new (s3Sdk().CompleteMultipartUploadCommand)({
            Bucket: this.bucket,
            Key,
            UploadId,
            MultipartUpload: { Parts: parts },
          }),
        ),
      );
    } catch (error) {
      await this.client
        .send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => {});
      throw error;
    }
  }

  /** Runs one SDK request; its failure becomes a LakeStoreError. */
  private async send<T>(operation: string, relPath: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.failure(operation, relPath, error);
    }
  }

  private where(relPath: string): string {
    return `s3://${this.bucket}/${this.key(relPath)} at ${this.endpoint}`;
  }

  private failure(operation: string, relPath: string, error: unknown): LakeStoreError {
    return s3Failure(error, { bucket: this.bucket, endpoint: this.endpoint, key: this.key(relPath), operation });
  }
}

/** An SDK failure as a LakeStoreError that says whether to retry and names the bucket and endpoint. */
export function s3Failure(
  error: unknown,
  at: { bucket: string; endpoint: string; key: string; operation: string },
): LakeStoreError {
  const sdk = error as SdkError;
  const status = sdk.$metadata?.httpStatusCode;
  const context = { ...at, ...(status !== undefined ? { statusCode: status } : {}) };
  const what = `${at.operation} ${at.key}`;
  if (sdk.name === 'NoSuchBucket')
    return new LakeStoreError(`S3 lake: bucket "${at.bucket}" does not exist at ${at.endpoint} (${what})`, context, {
      cause: error,
      retriable: false,
    });
  if (status === 403)
    return new LakeStoreError(
      `S3 lake: access denied to bucket "${at.bucket}" at ${at.endpoint} (${what}): check lake.access_key_id / secret_access_key and the bucket policy`,
      context,
      { cause: error, retriable: false },
    );
  // No HTTP status: the request never got an answer (refused, reset, timed out) — the network, so retriable.
  const retriable =
    status === undefined
      ? !(error instanceof TypeError || error instanceof RangeError)
      : status >= 500 || status === 429 || status === 408 || TRANSIENT_NAMES.has(sdk.name ?? '');
  return new LakeStoreError(
    `S3 lake: ${what} in bucket "${at.bucket}" at ${at.endpoint} failed: ${sdk.message ?? String(error)}`,
    context,
    { cause: error, retriable },
  );
}

function md5(body: Buffer): string {
  return createHash('md5').update(body).digest('base64');
}
