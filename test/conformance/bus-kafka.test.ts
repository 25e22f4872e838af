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
    knownIssues: {
      'two members split the partitions; when one leaves the other resumes its partitions from the commits':
        "both members keep claiming every partition for over 20 s after the second joined (kafkajs + the test broker coordinator). Rare: 1 in 11 runs of `vitest run test/support/kafka/ pipelines/bus/kafka/ test/conformance/bus-kafka.test.ts` beside two CPU burners, after the coordinator stopped expiring members waiting in JoinGroup/SyncGroup and the broker handles a connection's requests one at a time as Kafka does; 0 in 110 runs of this file or test alone; cause not yet found: a coordinator trace of one failure shows the first member sent no Heartbeat at all after its first join and sync (none in 30 s, while the coordinator answered everything), so it was expelled after its session timeout when the second joined and never learnt of it; the stall is in that member's kafkajs runner before its first fetch cycle ends. kafka-bus.test.ts covers the split and the takeover, and test/e2e/kafka-roles.test.ts two pipeline processes through a live rebalance and a kill",
    },
  },
);
