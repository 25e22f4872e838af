import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CityhubError } from '../../pipelines/errors.js';
import type { SensorMqttConnectorConfig } from './config.js';
import type { SessionTls } from './session.js';

type TlsConfig = NonNullable<SensorMqttConnectorConfig['tls']>;
const fileKeys = ['ca_file', 'cert_file', 'key_file'] as const;
type TlsFileKey = (typeof fileKeys)[number];

/** A file named under `tls` cannot be read or holds no PEM block: a config mistake, not retried. */
export class MqttTlsFileError extends CityhubError {
  constructor(
    /** The key under `tls` that names the file. */
    readonly key: TlsFileKey,
    /** The path as the config writes it. */
    readonly value: string,
    /** The file read: `value` resolved against the config's folder. */
    readonly file: string,
    readonly why: string,
    cause?: unknown,
  ) {
    super(`tls.${key}: ${file} ${why}`, { cause, retriable: false });
  }
}

/**
 * Reads the PEM files `tls` names, relative paths against `baseDir` (the config file's folder), once at start: a
 * certificate renewed on disk takes effect at the next start. Throws MqttTlsFileError for the first unusable file.
 */
export function readSessionTls(tls: TlsConfig | undefined, baseDir: string): SessionTls | undefined {
  if (!tls) return undefined;
  const pem = (key: TlsFileKey): Buffer | undefined => {
    const path = tls[key];
    if (path === undefined) return undefined;
    const file = resolve(baseDir, path);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new MqttTlsFileError(
        key,
        path,
        file,
        `cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`,
        error,
      );
    }
    // A DER file or a wrong path to some other file would otherwise surface later as an opaque handshake error.
    if (!bytes.includes('-----BEGIN '))
      throw new MqttTlsFileError(key, path, file, 'holds no PEM block (-----BEGIN …)');
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
