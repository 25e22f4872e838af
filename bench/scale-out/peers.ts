/**
 * The processes a scale-out run talks to, each its own process so the pipeline's process measures only itself: the
 * Kafka-protocol test broker (../kafka-test-broker.ts), and CPU burners that take cores away on purpose.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type BrokerLine, brokerLineSchema } from './broker-lines.js';

export interface BrokerPeer {
  address: string;
  pid: number;
  /** Stops the broker; resolves with the CPU seconds it spent between the first two SIGUSR2 marks. */
  close(): Promise<number>;
}

const brokerEntry = join(dirname(fileURLToPath(import.meta.url)), '..', 'kafka-test-broker.js');

export async function startBroker(): Promise<BrokerPeer> {
  const proc = spawn(process.execPath, [brokerEntry], { stdio: ['ignore', 'pipe', 'inherit'] });
  const marks: Extract<BrokerLine, { user: number }>[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const event = brokerLineSchema.parse(JSON.parse(line));
      if (event.event === 'listening') resolve(event.port);
      else if (event.event === 'cpu') marks.push(event);
    });
    void exited.then((code) => reject(new Error(`the test broker exited with ${code} before listening`)));
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await exited;
    }
  };
  let port: number;
  try {
    port = await listening;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address: `127.0.0.1:${port}`,
    pid: proc.pid!,
    async close() {
      await stop();
      const [start, end] = marks;
      if (!start || !end) throw new Error(`the test broker reported ${marks.length} CPU marks, not 2`);
      return (end.user + end.system - start.user - start.system) / 1e6;
    },
  };
}

/** Busy processes (`yes > /dev/null`), one per core to take; stop() ends exactly those. */
export function startBurners(count: number): { stop(): void } {
  const burners: ChildProcess[] = Array.from({ length: count }, () => spawn('yes', [], { stdio: 'ignore' }));
  return {
    stop() {
      for (const burner of burners) burner.kill('SIGTERM');
    },
  };
}
