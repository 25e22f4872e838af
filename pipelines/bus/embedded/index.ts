/**
 * The embedded durable log: a Kafka-like `Bus` in a local folder, for single-node deployments and tests.
 * See frame.ts for the on-disk format and bus.ts for the options.
 */
import { EmbeddedBus, type EmbeddedBusOptions } from './bus.js';

export { EmbeddedBus, type EmbeddedBusOptions, type EmbeddedBusWarning } from './bus.js';
export {
  type ClosedResource,
  EmbeddedBusArgumentError,
  EmbeddedBusClosedError,
  EmbeddedBusError,
  EmbeddedBusLockedError,
  EmbeddedBusStateError,
  EmbeddedLogCorruptError,
  EmbeddedPartitionFailedError,
  EmbeddedTopicNotFoundError,
  EmbeddedWriteFailedError,
} from './errors.js';
export { murmur2, partitionForKey } from './partitioner.js';
export { fsSegmentIo, type SegmentIo } from './segment.js';

/** Opens (creating if needed) the log in `options.dir`; see EmbeddedBusOptions for the defaults. */
export function openEmbeddedBus(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
  return EmbeddedBus.open(options);
}
