import type { HubConfig } from '../config/schema.js';
import { NotAvailableError } from '../errors.js';
import { openEmbeddedBus } from './embedded/index.js';
import type { Bus } from './types.js';

/** Opens the configured bus implementation. */
export async function openBus(config: HubConfig['bus'], busDir: string): Promise<Bus> {
  switch (config.type) {
    case 'embedded':
      return openEmbeddedBus({
        dir: busDir,
        fsync: config.fsync,
        segmentBytes: config.segment_bytes,
        maxMessageBytes: config.max_message_bytes,
        maxLagBytes: config.max_lag_bytes,
      });
    case 'kafka':
      throw new NotAvailableError(
        'bus.type kafka is not available in this release yet (it arrives with the Kafka-protocol test broker); use bus.type embedded',
      );
  }
}

export * from './headers.js';
export type * from './types.js';
