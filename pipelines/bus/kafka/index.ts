/** The Kafka bus (kafkajs behind the project's Bus interface); see README.md. */
export { KafkaBus } from './bus.js';
export { KafkaBusError, KafkaBusStateError } from './errors.js';
export { type KafkaBusOptions, type KafkaBusOptionsInput, kafkaBusOptionsSchema } from './options.js';

import { KafkaBus } from './bus.js';
import type { KafkaBusOptionsInput } from './options.js';

export function openKafkaBus(options: KafkaBusOptionsInput, context: { baseDir?: string } = {}): Promise<KafkaBus> {
  return KafkaBus.open(options, context);
}
