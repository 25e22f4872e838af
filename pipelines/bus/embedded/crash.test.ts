import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../types.js';
import { partitionForKey } from './index.js';
import { BusFixture } from './test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const fixture = new BusFixture();
const children: ChildProcess[] = [];
let buildDir = '';
let entry = '';
beforeAll(() => {
  buildDir = fs.mkdtempSync(join(tmpdir(), 'cityhub-bus-build-'));
  entry = transpileForChild(buildDir);
});
afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fixture.cleanup();
});

/**
 * The child runs plain node, which cannot load TypeScript. Rather than depend on a `npm run build` that may be
 * stale, transpile this folder (and the modules outside it that it imports at run time) into a temp dir.
 */
function transpileForChild(outDir: string): string {
  const sources = [
    ...fs
      .readdirSync(here)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'test-support.ts')
      .map((name) => join(here, name)),
    join(repoRoot, 'pipelines', 'errors.ts'),
    join(repoRoot, 'pipelines', 'retry.ts'),
    join(repoRoot, 'pipelines', 'buffer-pool.ts'),
    join(repoRoot, 'pipelines', 'bus', 'errors.ts'),
    join(repoRoot, 'pipelines', 'bus', 'headers.ts'),
  ];
  for (const source of sources) {
    const { outputText } = ts.transpileModule(fs.readFileSync(source, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    const target = join(outDir, relative(repoRoot, source)).replace(/\.ts$/, '.js');
    fs.mkdirSync(dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  fs.writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  return join(outDir, relative(repoRoot, here), 'index.js');
}

interface Ack {
  firstSeq: number;
  count: number;
  parts: { partition: number; baseOffset: number; count: number }[];
}

/** Starts the child, resolves with its acks once `minAcks` arrived, after SIGKILL and its exit. */
function runAndKill(entry: string, dir: string, fsync: string, minAcks: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [join(here, 'crash-child.mjs'), entry, dir, fsync], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const acks: Ack[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // a line cut by the kill is not an acknowledgement
      for (const line of lines) {
        if (!line.startsWith('ack ')) continue;
        const [, firstSeq, count, parts] = line.split(' ');
        acks.push({
          firstSeq: Number(firstSeq),
          count: Number(count),
          parts: parts!.split(',').map((part) => {
            const [partition, baseOffset, n] = part.split(':').map(Number);
            return { partition: partition!, baseOffset: baseOffset!, count: n! };
          }),
        });
      }
      if (acks.length >= minAcks && child.signalCode === null) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acks);
      else reject(new Error(`child exited by itself (code ${code}): ${stderr}`));
    });
  });
}

const payloadOf = (seq: number) => `seq=${seq};${'x'.repeat(seq % 200)}`;
/** Every third message carries headers (crash-child.mjs), so torn tails fall inside header blocks too. */
const headersOf = (seq: number): Record<string, string> =>
  seq % 3 === 0 ? { 'cityhub-source': 'crash-child', seq: String(seq) } : {};

describe('crash (kill -9 of a writing process)', () => {
  for (const [fsync, minAcks] of [
    ['always', 150],
    ['never', 400],
  ] as const) {
    it(`keeps every acknowledged message exactly once with intact content (fsync ${fsync})`, async () => {
      const dir = fixture.tempDir();
      const acks = await runAndKill(entry, dir, fsync, minAcks);
      expect(acks.length).toBeGreaterThanOrEqual(minAcks);

      // The dead child's lock is stale: reopening takes it over and recovers the log.
      const bus = await fixture.open({ dir, fsync });
      const consumer = bus.consumer({ groupId: 'verify' });
      await consumer.subscribe(['crash']);
      const log: BusMessage[] = [];
      for (;;) {
        const batches = await consumer.poll({ maxMessages: 50_000, maxWaitMs: 0 });
        if (batches.length === 0) break;
        for (const batch of batches) log.push(...batch.messages);
      }
      const described = await bus.describe('crash');
      // Checked by hand and reported together: an expect() per record would dominate the test's run time.
      const problems: string[] = [];
      const bySeq = new Map<number, BusMessage>();
      const byPosition = new Set<string>();
      for (const message of log) {
        const seq = Number(/^seq=(\d+);/.exec(message.value.toString())?.[1]);
        const where = `${message.partition}@${message.offset} (seq ${seq})`;
        // Every record read back is intact: value, key, headers, timestamp and partition all follow from its seq.
        const key = seq % 11 === 0 ? null : `k${seq % 13}`;
        if (message.value.toString() !== payloadOf(seq)) problems.push(`${where}: value damaged`);
        if (message.timestamp !== seq) problems.push(`${where}: timestamp ${message.timestamp}`);
        if (message.key !== key) problems.push(`${where}: key ${message.key}`);
        if (JSON.stringify({ ...message.headers }) !== JSON.stringify(headersOf(seq)))
          problems.push(`${where}: headers ${JSON.stringify(message.headers)}`);
        if (key !== null && message.partition !== partitionForKey(Buffer.from(key), 0, Buffer.byteLength(key), 3)) {
          problems.push(`${where}: wrong partition for key ${key}`);
        }
        if (bySeq.has(seq)) problems.push(`${where}: seq appears twice`);
        bySeq.set(seq, message);
        byPosition.add(`${message.partition}@${message.offset}`);
      }
      for (const partition of described) {
        const offsets = log.filter((m) => m.partition === partition.partition).map((m) => m.offset);
        if (offsets.some((offset, i) => offset !== i) || offsets.length !== partition.highWatermark) {
          problems.push(`partition ${partition.partition}: offsets not dense up to ${partition.highWatermark}`);
        }
      }
      let acknowledged = 0;
      for (const ack of acks) {
        for (let seq = ack.firstSeq; seq < ack.firstSeq + ack.count; seq++) {
          if (!bySeq.has(seq)) problems.push(`acknowledged seq ${seq} is missing`);
          acknowledged++;
        }
        for (const part of ack.parts) {
          for (let offset = part.baseOffset; offset < part.baseOffset + part.count; offset++) {
            if (!byPosition.has(`${part.partition}@${offset}`))
              problems.push(`acknowledged ${part.partition}@${offset} missing`);
          }
        }
      }
      expect(problems.slice(0, 20)).toEqual([]);
      expect(acknowledged).toBeGreaterThan(0);
      expect(log.length).toBeGreaterThanOrEqual(acknowledged);

      // The recovered log takes appends at its end.
      const results = await bus.producer().send('crash', [{ key: 'after', value: 'after-crash' }]);
      expect(results[0]!.baseOffset).toBe(described[results[0]!.partition]!.highWatermark);
    });
  }
});
