/** The kafkajs client config made from the bus options: the one place that knows kafkajs's option names. */
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { logLevel } from 'kafkajs';
import type { KafkaBusOptions } from './options.js';

export function kafkaClientConfig(options: KafkaBusOptions): KafkaConfig {
  const { ssl, sasl } = options;
  return {
    clientId: options.client_id,
    brokers: options.brokers,
    connectionTimeout: options.connection_timeout_ms,
    requestTimeout: options.request_timeout_ms,
    ...(ssl === undefined
      ? {}
      : {
          ssl:
            typeof ssl === 'boolean'
              ? ssl
              : {
                  rejectUnauthorized: ssl.reject_unauthorized,
                  ...(ssl.ca === undefined ? {} : { ca: [ssl.ca] }),
                  ...(ssl.cert === undefined ? {} : { cert: ssl.cert }),
                  ...(ssl.key === undefined ? {} : { key: ssl.key }),
                },
        }),
    ...(sasl === undefined ? {} : { sasl: sasl as SASLOptions }),
    // The hub logs what matters through its own errors; kafkajs's console logger would interleave with pino.
    logLevel: logLevel.NOTHING,
  };
}
