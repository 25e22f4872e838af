import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedBus } from '../pipelines/bus/embedded/index.js';
import type { Bus, BusProducer, ProduceMessage } from '../pipelines/bus/types.js';
import { PersonalDataMasker } from '../pipelines/privacy/masker.js';
import { maskingProducer } from '../pipelines/privacy/masking-producer.js';
import { diskFullError } from '../test/support/fake-producer.js';
import { SourceCheckpoint } from './source-checkpoint.js';

const topics = ['raw.sensor', 'dlq.sensor', 'raw.hotline', 'dlq.hotline'];

/** Every message of a topic, as `key=value` text, in partition then offset order. */
async function everything(bus: Bus, topic: string): Promise<string[]> {
  const out: string[] = [];
  for (const { partition, highWatermark } of await bus.describe(topic)) {
    let offset = 0;
    while (offset < highWatermark) {
      const { messages, nextOffset } = await bus.read({ topic, partition }, offset, 100);
      for (const m of messages) out.push(`${m.key}=${m.value.toString('utf8')}`);
      offset = nextOffset;
    }
  }
  return out.sort();
}

function readings(from: number, to: number): ProduceMessage[] {
  const out: ProduceMessage[] = [];
  for (let i = from; i < to; i++) out.push({ key: `dev-${i % 7}`, value: JSON.stringify({ dev: `dev-${i % 7}`, i }) });
  return out;
}

const text = (messages: ProduceMessage[]) => messages.map((m) => `${m.key}=${m.value}`).sort();

describe('a source checkpoint across a crash between acknowledgement and commit', () => {
  let dir: string;
  let bus: Bus;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cityhub-source-checkpoint-'));
    bus = await openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'never' });
    for (const topic of topics) await bus.ensureTopic(topic, { partitions: 3 });
    path = join(dir, 'checkpoints', 'src.json');
  });
  afterEach(async () => {
    await bus.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the re-sent batch is not appended again, and what never reached the bus is sent', async () => {
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const producer = first.guard(bus.producer());
    await producer.send('raw.sensor', readings(0, 20));
    await first.commit({ acked: 20 });
    // The batch in flight: the first send was acknowledged, then the process died before the second and the commit.
    const batch = readings(20, 50);
    await producer.send('raw.sensor', batch.slice(0, 18));

    const second = await SourceCheckpoint.open(path, { bus, topics });
    expect(second.position).toEqual({ acked: 20 });
    expect(second.resendsToSkip).toBe(18);
    const again = second.guard(bus.producer());
    await again.send('raw.sensor', batch.slice(0, 25));
    await again.send('raw.sensor', batch.slice(25));
    await second.commit({ acked: 50 });

    expect(await everything(bus, 'raw.sensor')).toEqual(text(readings(0, 50)));
    expect(second.resendsToSkip).toBe(0);
  });

  it('a clean restart skips nothing, and after the first commit an identical message is sent as any other', async () => {
    const first = await SourceCheckpoint.open(path, { bus, topics });
    await first.guard(bus.producer()).send('raw.sensor', readings(0, 5));
    await first.commit({ acked: 5 });
    const second = await SourceCheckpoint.open(path, { bus, topics });
    expect(second.resendsToSkip).toBe(0);
    // A source may really deliver the same bytes twice: the pipeline, not the checkpoint, judges that.
    await second.guard(bus.producer()).send('raw.sensor', readings(0, 5));
    expect(await everything(bus, 'raw.sensor')).toEqual(text([...readings(0, 5), ...readings(0, 5)]));
  });

  it('repeats inside the batch count: a message sent twice and appended once is re-sent once', async () => {
    const first = await SourceCheckpoint.open(path, { bus, topics });
    const producer = first.guard(bus.producer());
    const twice = { key: 'dev-1', value: '{"same":true}' };
    await producer.send('raw.sensor', [twice]);
    // Died before the second copy was sent.
    const second = await SourceCheckpoint.open(path, { bus, topics });
    await second.guard(bus.producer()).send('raw.sensor', [twice, twice]);
    await second.commit({});
    expect(await everything(bus, 'raw.sensor')).toEqual(['dev-1={"same":true}', 'dev-1={"same":true}']);
  });

  it("other sources' messages past the recorded end are neither skipped nor mistaken for ours", async () => {
    const ours = await SourceCheckpoint.open(path, { bus, topics });
    await ours.guard(bus.producer()).send('raw.sensor', readings(0, 3));
    // Another connector appends while ours is down.
    const other = await SourceCheckpoint.open(join(dir, 'checkpoints', 'other.json'), { bus, topics });
    await other.guard(bus.producer()).send('raw.sensor', readings(100, 110));

    const restarted = await SourceCheckpoint.open(path, { bus, topics });
    expect(restarted.resendsToSkip).toBe(3);
    await restarted.guard(bus.producer()).send('raw.sensor', readings(0, 6));
    await restarted.commit({});
    expect(await everything(bus, 'raw.sensor')).toEqual(text([...readings(0, 6), ...readings(100, 110)]));
  });

  it('a send that fails and is retried drops the same re-sends again', async () => {
    const first = await SourceCheckpoint.open(path, { bus, topics });
    await first.guard(bus.producer()).send('raw.sensor', readings(0, 4));
    const second = await SourceCheckpoint.open(path, { bus, topics });
    const real = bus.producer();
    let failures = 1;
    const flaky: BusProducer = {
      send: async (topic, messages) => {
        if (failures-- > 0) throw diskFullError();
        return real.send(topic, messages);
      },
      close: () => real.close(),
    };
    const guarded = second.guard(flaky);
    await expect(guarded.send('raw.sensor', readings(0, 8))).rejects.toThrow(/ENOSPC/);
    await guarded.send('raw.sensor', readings(0, 8));
    expect(await everything(bus, 'raw.sensor')).toEqual(text(readings(0, 8)));
  });

  it('under the masking producer, a re-sent personal message is recognised by the bytes the bus holds', async () => {
    const masker = new PersonalDataMasker({ id: 'k1', key: 'a-test-key-of-enough-length' });
    const order = (n: number): ProduceMessage => ({
      key: `case-${n}`,
      value: JSON.stringify({
        case_no: `case-${n}`,
        caller: { phone: '13812345678', name: '张三' },
        content: `第${n}件`,
      }),
    });
    const first = await SourceCheckpoint.open(path, { bus, topics });
    await maskingProducer(first.guard(bus.producer()), masker, new Set(['hotline'])).send('raw.hotline', [
      order(1),
      order(2),
    ]);
    const second = await SourceCheckpoint.open(path, { bus, topics });
    expect(second.resendsToSkip).toBe(2);
    const guarded = maskingProducer(second.guard(bus.producer()), masker, new Set(['hotline']));
    await guarded.send('raw.hotline', [order(1), order(2), order(3)]);
    const held = await everything(bus, 'raw.hotline');
    expect(held).toHaveLength(3);
    expect(held.join('\n')).not.toContain('13812345678');
  });

  it('headers are part of a message: a re-send is recognised with them, and the same value from another file is not', async () => {
    const fromFile = (file: string): ProduceMessage => ({
      key: 'dev-1',
      value: '{"dev":"dev-1","v":1}',
      headers: { 'cityhub-source': 'files-a', file },
    });
    const first = await SourceCheckpoint.open(path, { bus, topics });
    await first.guard(bus.producer()).send('raw.sensor', [fromFile('a.csv')]);
    // Died before the commit. The re-sent batch holds the same bytes from b.csv first, then a.csv's message again.
    const second = await SourceCheckpoint.open(path, { bus, topics });
    expect(second.resendsToSkip).toBe(1);
    await second.guard(bus.producer()).send('raw.sensor', [fromFile('b.csv'), fromFile('a.csv')]);
    await second.commit({});
    const held: string[] = [];
    for (const { partition } of await bus.describe('raw.sensor')) {
      for (const m of (await bus.read({ topic: 'raw.sensor', partition }, 0, 100)).messages) held.push(m.headers.file!);
    }
    expect(held.sort()).toEqual(['a.csv', 'b.csv']);
  });

  it('under the masking producer, headers reach the bus, with a phone number in a value replaced', async () => {
    const masker = new PersonalDataMasker({ id: 'k1', key: 'a-test-key-of-enough-length' });
    const checkpoint = await SourceCheckpoint.open(path, { bus, topics });
    const headers = { 'cityhub-source': 'hotline-a', file: '回访-13812345678.json' };
    await maskingProducer(checkpoint.guard(bus.producer()), masker, new Set(['hotline'])).send('raw.hotline', [
      { key: 'case-1', value: '{"case_no":"case-1"}', headers },
    ]);
    const held = [];
    for (const { partition } of await bus.describe('raw.hotline'))
      held.push(...(await bus.read({ topic: 'raw.hotline', partition }, 0, 10)).messages);
    expect(held.map((m) => ({ ...m.headers }))).toEqual([{ 'cityhub-source': 'hotline-a', file: '回访-[phone].json' }]);
    // The caller's headers are left alone.
    expect(headers.file).toBe('回访-13812345678.json');
    // A restart recognises the masked message it holds by its masked headers.
    expect((await SourceCheckpoint.open(path, { bus, topics })).resendsToSkip).toBe(1);
  });

  it('under the masking producer, a header named __proto__ holding a phone stays a header, masked', async () => {
    const masker = new PersonalDataMasker({ id: 'k1', key: 'a-test-key-of-enough-length' });
    const headers = Object.defineProperty(Object.create(null) as Record<string, string>, '__proto__', {
      value: '13812345678',
      enumerable: true,
    });
    await maskingProducer(bus.producer(), masker, new Set(['hotline'])).send('raw.hotline', [
      { key: 'case-2', value: '{"case_no":"case-2"}', headers },
    ]);
    const held = [];
    for (const { partition } of await bus.describe('raw.hotline'))
      held.push(...(await bus.read({ topic: 'raw.hotline', partition }, 0, 10)).messages);
    expect(held).toHaveLength(1);
    expect(Object.keys(held[0]!.headers)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(held[0]!.headers, '__proto__')?.value).toBe('[phone]');
  });

  it('keeps the position of a checkpoint written before this format', async () => {
    await rm(join(dir, 'checkpoints'), { recursive: true, force: true });
    const legacy = { history: 'seed=1', acked: 4000 };
    await mkdir(join(dir, 'checkpoints'), { recursive: true });
    await writeFile(path, JSON.stringify(legacy));
    const checkpoint = await SourceCheckpoint.open(path, { bus, topics });
    expect(checkpoint.position).toEqual(legacy);
    await checkpoint.commit({ history: 'seed=1', acked: 4100 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ position: { history: 'seed=1', acked: 4100 } });
  });
});
