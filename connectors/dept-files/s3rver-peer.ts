/**
 * An s3rver (a real S3 HTTP server on a temp dir) in a child process, for tests. A child, because s3rver signs its
 * ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 only offers under --openssl-legacy-provider,
 * a process-wide flag the test process must not take on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3LakeConfig } from '../../pipelines/config/schema.js';

const child = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ port: 0, address: '127.0.0.1', directory: process.argv[2], silent: true,
  configureBuckets: process.argv.slice(3).map((name) => ({ name })) });
server.run().then((a) => process.stdout.write(a.port + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export interface S3rverPeer {
  endpoint: string;
  close(): Promise<void>;
}

/** An S3 lake config for a bucket of an s3rver peer (its fixed credentials, path-style addressing). */
export function s3rverLake(endpoint: string, bucket: string, prefix: string): S3LakeConfig {
  return {
    type: 's3',
    endpoint,
    bucket,
    prefix,
    region: 'us-east-1',
    force_path_style: true,
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
    multipart_threshold_bytes: 64 * 1024 * 1024,
  };
}

export async function startS3rver(buckets: string[]): Promise<S3rverPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-s3rver-'));
  const module = createRequire(import.meta.url).resolve('s3rver');
  const proc: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', child, module, dir, ...buckets],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const close = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<string>((resolve, reject) => {
      let text = '';
      proc.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('\n')) resolve(text.trim());
      });
      proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before listening`)));
    });
    return { endpoint: `http://127.0.0.1:${port}`, close };
  } catch (error) {
    await close();
    throw error;
  }
}
