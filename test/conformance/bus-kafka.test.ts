import { KafkaBus } from '../../pipelines/bus/kafka/index.js';
import { describeBusConformance, reopeningHarness } from '../support/bus-conformance.js';
import { GroupCoordinator, groupHandlers } from '../support/kafka/group/index.js';
import { KafkaTestBroker } from '../support/kafka/server.js';

describeBusConformance(
  'kafka (kafkajs over the Kafka-protocol test broker)',
  async () => {
    // The coordinator is kept across reopen(): committed offsets live in it, as in a cluster's __consumer_offsets.
    const coordinator = new GroupCoordinator({ minSessionTimeoutMs: 1000 });
    let started: KafkaTestBroker | undefined;
    const node = { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 };
    started = await KafkaTestBroker.start({ extraHandlers: groupHandlers(coordinator, node), log: () => {} });
    const broker = started;
    // Short heartbeats and fetch waits: a member learns of a rebalance within a poll or two.
    const open = () =>
      KafkaBus.open({
        brokers: [broker.address],
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 200,
        fetch_max_wait_ms: 100,
      });
    return reopeningHarness(open, async () => {
      coordinator.close();
      await broker.close();
    });
  },
  {
    rebalanceMs: 20_000,
  },
);
