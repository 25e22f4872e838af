import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';

/** The S3 connection keys a config gives (the S3 lake and dept-files' S3 source share them). */
export interface S3ConnectionConfig {
  region: string;
  force_path_style: boolean;
  endpoint?: string | undefined;
  access_key_id?: string | undefined;
  secret_access_key?: string | undefined;
}

/** A client for an S3-compatible store (AWS, MinIO, OSS, COS…) from the config's connection keys. */
export function s3ClientOf(config: S3ConnectionConfig): S3Client {
  return new (s3Sdk().S3Client)({
    region: config.region,
    forcePathStyle: config.force_path_style,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    // Without keys in the config, the SDK's default chain (environment, profile, instance role) supplies them.
    ...(config.access_key_id && config.secret_access_key
      ? { credentials: { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key } }
      : {}),
  });
}
