import { connect, createServer, type Server, type Socket } from 'node:net';

export interface OutageRelay {
  /** The relay's address, to give a client instead of the target's. */
  endpoint: string;
  /** Refuses new connections and cuts open ones: the peer is unreachable. */
  down(): Promise<void>;
  /** Listens again on the same port (a no-op while up). */
  up(): Promise<void>;
}

/** A TCP relay in front of a local HTTP peer (s3rver) that can be taken down and brought back on the same port: a real outage. */
export async function outageRelay(target: string): Promise<OutageRelay> {
  const { port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let relay: Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      // Listening twice on one port would fail: bringing back a relay that is up changes nothing.
      if (relay?.listening) return resolve();
      relay = createServer((client) => {
        const peer = connect(Number(targetPort), '127.0.0.1');
        for (const s of [client, peer]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(peer).pipe(client);
      });
      relay.once('error', reject);
      relay.listen(port, '127.0.0.1', () => {
        port = (relay!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      if (!relay?.listening) return resolve();
      for (const socket of sockets) socket.destroy();
      relay.close(() => resolve());
    });
  await up();
  return { endpoint: `http://127.0.0.1:${port}`, down, up };
}
