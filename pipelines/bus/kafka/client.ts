/** The kafkajs client config made from the bus options: the one place that knows kafkajs's option names. */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { logLevel } from 'kafkajs';
import type { TlsMaterial } from '../../tls-files.js';
import type { KafkaBusOptions } from './options.js';

/** `tls` is the material read from the files `options.tls` names (undefined: plaintext). */
export function kafkaClientConfig(options: KafkaBusOptions, tls: TlsMaterial | undefined): KafkaConfig {
  const { sasl } = options;
  return {
    clientId: options.client_id,
    brokers: options.brokers,
    connectionTimeout: options.connection_timeout_ms,
    requestTimeout: options.request_timeout_ms,
    ...(tls === undefined
      ? {}
      : {
          ssl: {
            rejectUnauthorized: tls.rejectUnauthorized,
            ...(tls.ca === undefined ? {} : { ca: [tls.ca] }),
            ...(tls.cert === undefined ? {} : { cert: tls.cert }),
            ...(tls.key === undefined ? {} : { key: tls.key }),
            ...(tls.servername === undefined ? {} : { servername: tls.servername }),
          },
        }),
    ...(sasl === undefined ? {} : { sasl: sasl as SASLOptions }),
    // The hub logs what matters through its own errors; kafkajs's console logger would interleave with pino.
    logLevel: logLevel.NOTHING,
  };
}
