/** The JSON lines the bench's broker process (../kafka-test-broker.ts) prints on stdout. */
import { z } from 'zod';

export const brokerLineSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('listening'), port: z.number().int() }),
  /** process.cpuUsage() so far (µs): on SIGUSR2 (`cpu`) and on SIGTERM (`exit`). */
  z.object({ event: z.enum(['cpu', 'exit']), user: z.number(), system: z.number() }),
]);
export type BrokerLine = z.infer<typeof brokerLineSchema>;
