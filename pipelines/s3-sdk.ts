import { createRequire } from 'node:module';

type S3Sdk = typeof import('@aws-sdk/client-s3');
let loaded: S3Sdk | undefined;

/**
 * The AWS S3 client library, loaded by the first use of an S3 lake or source: it takes 0.2 s to load, which a hub
 * without S3 (npm start) would pay at every start. Loaded synchronously, so stores and clients keep their
 * synchronous constructors.
 */
export function s3Sdk(): S3Sdk {
  loaded ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
  return loaded;
}
