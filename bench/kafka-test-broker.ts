/**
 * The Kafka-protocol test broker (test/support/kafka/) with its group coordinator, as a process of its own, so a
 * bench's pipeline process measures only itself and the broker's CPU time can be told apart. Speaks JSON lines on
 * stdout: `{"event":"listening","port":N}` once it listens (port 0 = a free one); `{"event":"cpu",…}` (its
 * process.cpuUsage() so far, µs) on SIGUSR2, so a client can mark the start and end of a timed window; the same with
 * `"event":"exit"` on SIGTERM, after which it closes and exits 0.
 * Usage: node dist/bench/kafka-test-broker.js [--port N]
 */
import { parseArgs } from 'node:util';
import { GroupCoordinator, groupHandlers } from '../test/support/kafka/group/index.js';
import { KafkaTestBroker } from '../test/support/kafka/server.js';
import type { BrokerLine } from './scale-out/broker-lines.js';

const print = (line: BrokerLine) => process.stdout.write(`${JSON.stringify(line)}\n`);

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const coordinator = new GroupCoordinator();
let started: KafkaTestBroker | undefined;
const node = { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 };
started = await KafkaTestBroker.start({
  port: Number(values.port),
  extraHandlers: groupHandlers(coordinator, node),
  log: (message) => process.stderr.write(`[kafka-test-broker] ${message}\n`),
});
const broker = started;

process.on('SIGUSR2', () => print({ event: 'cpu', ...process.cpuUsage() }));
process.once('SIGTERM', () => {
  print({ event: 'exit', ...process.cpuUsage() });
  coordinator.close();
  void broker.close().then(() => process.exit(0));
});
print({ event: 'listening', port: broker.port });
