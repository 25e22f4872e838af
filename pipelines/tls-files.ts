/**
 * TLS settings given as PEM files, as the config writes them for any client the hub opens (an MQTT broker, a Kafka
 * cluster): whom to trust and, for peers that require it, the hub's own certificate. Read once at start.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CityhubError } from './errors.js';

export const tlsFilesConfig = z
  .object({
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        "PEM file of the CA certificate(s) to trust, relative to the config, e.g. the city's private CA; default: the publicly trusted CAs",
      ),
    cert_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM client certificate, for peers that require one (mutual TLS); with `key_file`'),
    key_file: z.string().min(1).optional().describe('PEM private key of `cert_file`; with `cert_file`'),
    reject_unauthorized: z
      .boolean()
      .default(true)
      .describe(
        'true (default): refuse a peer whose certificate is not signed by a trusted CA or does not name the host; false only for a test: anyone on the way can read and forge the messages (logged as a warning at start)',
      ),
    servername: z
      .string()
      .min(1)
      .optional()
      .describe("the name the peer's certificate must carry (TLS SNI); default: the host connected to"),
  })
  .strict()
  .refine((tls) => (tls.cert_file === undefined) === (tls.key_file === undefined), {
    message: 'expected both cert_file and key_file (a client certificate and its key), or neither',
    path: ['key_file'],
  });

export type TlsFilesConfig = z.infer<typeof tlsFilesConfig>;

/** What Node's `tls.connect` takes, read from the files. An absent CA means Node's publicly trusted ones. */
export interface TlsMaterial {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  rejectUnauthorized: boolean;
  servername?: string | undefined;
}

const fileKeys = ['ca_file', 'cert_file', 'key_file'] as const;
type TlsFileKey = (typeof fileKeys)[number];

/** A file named under a `tls` key cannot be read or holds no PEM block: a config mistake, not retried. */
export class TlsFileError extends CityhubError {
  constructor(
    /** The config path of the key that names the file, e.g. `tls.ca_file` or `bus.tls.ca_file`. */
    readonly key: string,
    /** The path as the config writes it. */
    readonly value: string,
    /** The file read: `value` resolved against the config's folder. */
    readonly file: string,
    readonly why: string,
    cause?: unknown,
  ) {
    super(`${key}: ${file} ${why}`, { cause, retriable: false });
  }
}

/**
 * Reads the PEM files `tls` names, relative paths against `baseDir` (the config file's folder): a certificate
 * renewed on disk takes effect at the next start. `at` is where `tls` sits in the config, for the error
 * (TlsFileError names the first unusable file).
 */
export function readTlsFiles(tls: TlsFilesConfig | undefined, baseDir: string, at = 'tls'): TlsMaterial | undefined {
  if (!tls) return undefined;
  const pem = (key: TlsFileKey): Buffer | undefined => {
    const path = tls[key];
    if (path === undefined) return undefined;
    const file = resolve(baseDir, path);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new TlsFileError(`${at}.${key}`, path, file, `cannot be read (${code})`, error);
    }
    // A DER file or a wrong path to some other file would otherwise surface later as an opaque handshake error.
    if (!bytes.includes('-----BEGIN '))
      throw new TlsFileError(`${at}.${key}`, path, file, 'holds no PEM block (-----BEGIN …)');
    return bytes;
  };
  return {
    ca: pem('ca_file'),
    cert: pem('cert_file'),
    key: pem('key_file'),
    rejectUnauthorized: tls.reject_unauthorized,
    servername: tls.servername,
  };
}
