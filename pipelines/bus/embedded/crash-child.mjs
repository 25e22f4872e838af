// Child process of crash.test.ts: appends forever from several concurrent loops and prints one line per
// acknowledged send, `ack <firstSeq> <count> <partition>:<baseOffset>:<count>,...`, until the parent SIGKILLs it.
// Usage: node crash-child.mjs <compiled index.js> <log dir> <always|never>
import { pathToFileURL } from 'node:url';

const [modulePath, dir, fsync] = process.argv.slice(2);
const { openEmbeddedBus } = await import(pathToFileURL(modulePath).href);
const bus = await openEmbeddedBus({ dir, fsync, segmentBytes: 256 * 1024 });
await bus.ensureTopic('crash', { partitions: 3 });
const producer = bus.producer();

let nextSeq = 0;
/** Value and key are derived from seq, so the parent can check every byte it reads back. */
const payloadOf = (seq) => `seq=${seq};${'x'.repeat(seq % 200)}`;

async function loop(size) {
  for (;;) {
    const firstSeq = nextSeq;
    nextSeq += size;
    const messages = [];
    for (let seq = firstSeq; seq < firstSeq + size; seq++) {
      const message = { key: seq % 11 === 0 ? null : `k${seq % 13}`, value: payloadOf(seq), timestamp: seq };
      if (seq % 3 === 0) message.headers = { 'cityhub-source': 'crash-child', seq: String(seq) };
      messages.push(message);
    }
    const results = await producer.send('crash', messages);
    const parts = results.map((r) => `${r.partition}:${r.baseOffset}:${r.count}`).join(',');
    process.stdout.write(`ack ${firstSeq} ${size} ${parts}\n`);
  }
}

process.stdout.write('ready\n');
await Promise.all([loop(1), loop(37), loop(250), loop(1000)]);
