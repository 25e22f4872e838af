import { connectAsync, type MqttClient } from 'mqtt';
import { AedesPeer } from '../../connectors/sensor-mqtt/aedes-peer.js';
import { sensorMqttConnectorConfig } from '../../connectors/sensor-mqtt/config.js';
import { SensorMqttConnector } from '../../connectors/sensor-mqtt/connector.js';
import { describeConnectorConformance } from '../support/connector-conformance.js';

describeConnectorConformance('sensor-mqtt', async () => {
  const peer = await AedesPeer.start();
  // The hub's persistent session exists before anything is published (as after a first run): the broker queues what
  // arrives while the connector is down.
  const session = await connectAsync(peer.url, { clientId: 'conformance', clean: false });
  await session.subscribeAsync('city/#', { qos: 1 });
  await session.endAsync();
  const acked = new Set<string>();
  // The broker's view: a PUBACK from the hub's client for that payload.
  peer.broker.on('ack', (packet, client) => {
    if (client?.id === 'conformance' && packet && 'payload' in packet)
      acked.add((JSON.parse(Buffer.from(packet.payload as Buffer).toString('utf8')) as { id: string }).id);
  });
  let publisher: MqttClient | undefined;
  let next = 0;
  return {
    topics: ['raw.sensor', 'dlq.sensor'],
    async offer(count) {
      publisher ??= await connectAsync(peer.url, { clientId: 'device-1' });
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `reading-${next++}`;
        await publisher.publishAsync(`city/330106/pressure/${id}`, JSON.stringify({ id }), { qos: 1 });
        ids.push(id);
      }
      return ids;
    },
    identify: (message) => (JSON.parse(message.value.toString('utf8')) as { id?: string }).id,
    connector() {
      const connector = new SensorMqttConnector(
        sensorMqttConnectorConfig.parse({
          id: 'conformance',
          kind: 'sensor-mqtt',
          url: peer.url,
          client_id: 'conformance',
          topics: ['city/#'],
          batch_max_wait_ms: 5,
        }),
      );
      return connector;
    },
    acknowledged: async (id) => acked.has(id),
    async close() {
      await publisher?.endAsync();
      await peer.close();
    },
  };
});
