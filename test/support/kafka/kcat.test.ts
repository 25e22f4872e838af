/**
 * A second, independent client — librdkafka, through Debian's `kcat` — produces to and consumes from the test broker,
 * so the broker is not only right for kafkajs. `.ci/run` installs kcat when it can (apt, as root); without it the test
 * is skipped and says so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCoordinator, groupHandlers } from './group/index.js';
import { KafkaTestBroker } from './server.js';

const run = promisify(execFile);
const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;

let broker: KafkaTestBroker | undefined;
let coordinator: GroupCoordinator | undefined;
afterEach(async () => {
  await broker?.close();
  coordinator?.close();
  broker = undefined;
});

async function kcat(args: string[], input?: string): Promise<string> {
  const child = run('kcat', ['-b', broker!.address, ...args], { timeout: 30_000 });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

describe.skipIf(!hasKcat)('kcat (librdkafka) against the test broker (skipped when kcat is not installed)', () => {
  it('produces keyed messages with librdkafka and reads them back, with their offsets, with librdkafka', async () => {
    coordinator = new GroupCoordinator();
    let started: KafkaTestBroker | undefined;
    started = await KafkaTestBroker.start({
      autoCreateTopics: true,
      extraHandlers: groupHandlers(coordinator, { nodeId: 0, host: '127.0.0.1', port: () => started?.port ?? 0 }),
    });
    broker = started;
    // One partition (auto-created), so the order read back is the order sent.
    await kcat(['-t', 'probe', '-P', '-K:'], 'k1:城市\nk2:v2\nk3:v3\n');
    const listed = await kcat(['-L', '-t', 'probe']);
    expect(listed).toContain('topic "probe" with 1 partitions');
    const consumed = await kcat(['-t', 'probe', '-C', '-e', '-o', 'beginning', '-f', '%k=%s@%o\\n']);
    expect(consumed.trim().split('\n')).toEqual(['k1=城市@0', 'k2=v2@1', 'k3=v3@2']);
  });
});
