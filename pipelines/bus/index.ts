import type { HubConfig } from '../config/schema.js';
import { openEmbeddedBus } from './embedded/index.js';
import type { Bus } from './types.js';

/** Opens the configured bus implementation; `baseDir` (the config's folder) resolves the files the config names. */
export async function openBus(config: HubConfig['bus'], paths: { busDir: string; baseDir: string }): Promise<Bus> {
  switch (config.type) {
    case 'embedded':
      return openEmbeddedBus({
        dir: paths.busDir,
        fsync: config.fsync,
        segmentBytes: config.segment_bytes,
        maxMessageBytes: config.max_message_bytes,
        maxLagBytes: config.max_lag_bytes,
      });
    case 'kafka': {
      const { type: _, ...options } = config;
      // kafkajs is loaded only by a hub whose bus is Kafka: the embedded bus (npm start) starts without it.
      const { openKafkaBus } = await import('./kafka/index.js');
      return openKafkaBus(options, { baseDir: paths.baseDir });
    }
  }
}

export * from './headers.js';
export type * from './types.js';
