import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedBus } from '../../pipelines/bus/embedded/bus.js';
import { BusFixture } from '../../pipelines/bus/embedded/test-support.js';
import type { BusMessage } from '../../pipelines/bus/types.js';
import { connectorDeadLetter } from '../../pipelines/normalize/connector-dead-letter.js';
import type { RetryPolicy } from '../../pipelines/retry.js';
import { FakeProducer } from '../../test/support/fake-producer.js';
import { connectorConfig } from '../index.js';
import { rawFilesConnectorConfig } from './config.js';
import { RawFilesConnector, SENT_FOLDER } from './connector.js';

const log = pino({ level: 'silent' });
const fast: RetryPolicy = { initialMs: 1, maxMs: 4, factor: 2, maxAttempts: Infinity };
const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

function connector(folder: string, over: Partial<Record<string, unknown>> = {}): RawFilesConnector {
  const config = rawFilesConnectorConfig.parse({
    id: 'replay',
    kind: 'raw-files',
    path: folder,
    feed: 'hotline',
    ...over,
  });
  return new RawFilesConnector(config, folder);
}

async function busWithTopics(maxMessageBytes?: number): Promise<EmbeddedBus> {
  const bus = await fixture.open({ dir: fixture.tempDir(), ...(maxMessageBytes ? { maxMessageBytes } : {}) });
  // One partition each, so the topic's order is the send order.
  await bus.ensureTopic('raw.hotline', { partitions: 1 });
  await bus.ensureTopic('dlq.hotline', { partitions: 1 });
  return bus;
}

async function readAll(bus: EmbeddedBus, topic: string): Promise<BusMessage[]> {
  const consumer = bus.consumer({ groupId: `read-${topic}` });
  await consumer.subscribe([topic]);
  const highWatermark = (await bus.describe(topic))[0]!.highWatermark;
  const out: BusMessage[] = [];
  while (out.length < highWatermark) {
    for (const batch of await consumer.poll({ maxMessages: 1000, maxWaitMs: 1000 })) out.push(...batch.messages);
  }
  await consumer.close();
  return out;
}

describe('the raw-files connector', () => {
  it('sends each file byte for byte in file-name order, moves it to .sent/, and with once ends when the folder is empty', async () => {
    const bus = await busWithTopics();
    const folder = fixture.tempDir();
    const bodies: [string, Buffer][] = [
      ['003.json', Buffer.from('{"orderNo":"c"}')],
      ['001.json', Buffer.from([0xff, 0xfe, 0x00, 0x7b])], // invalid UTF-8 and a NUL: still sent as they are
      ['002.json', Buffer.alloc(0)],
      ['010.txt', Buffer.from('not json, 中文')],
    ];
    for (const [name, body] of bodies) await writeFile(join(folder, name), body);
    await writeFile(join(folder, '.in-progress.tmp'), 'a file still being written');
    await mkdir(join(folder, 'subfolder'));
    const c = connector(folder, { once: true });
    await c.start({ producer: bus.producer(), log });
    await c.done;
    const messages = await readAll(bus, 'raw.hotline');
    const sorted = [...bodies].sort(([a], [b]) => a.localeCompare(b));
    expect(messages.map((m) => m.key)).toEqual(sorted.map(([name]) => name));
    expect(messages.map((m) => m.value.toString('hex'))).toEqual(sorted.map(([, body]) => body.toString('hex')));
    expect((await readdir(folder)).sort()).toEqual(['.in-progress.tmp', SENT_FOLDER, 'subfolder']);
    expect((await readdir(join(folder, SENT_FOLDER))).sort()).toEqual(sorted.map(([name]) => name));
    expect(c.health()).toMatchObject({ state: 'stopped', sent: { hotline: 4 }, retries: 0 });
  });

  it('a file larger than the bus accepts becomes an oversized dead letter on dlq.<feed> and moves to .sent/ too', async () => {
    const bus = await busWithTopics(100 * 1024);
    const folder = fixture.tempDir();
    await writeFile(join(folder, 'a.json'), '{"orderNo":"a"}');
    await writeFile(join(folder, 'b.json'), `{"content":"${'x'.repeat(200 * 1024)}"}`);
    await writeFile(join(folder, 'c.json'), '{"orderNo":"c"}');
    const c = connector(folder, { once: true });
    await c.start({ producer: bus.producer(), log });
    await c.done;
    expect((await readAll(bus, 'raw.hotline')).map((m) => m.value.toString())).toEqual([
      '{"orderNo":"a"}',
      '{"orderNo":"c"}',
    ]);
    const letters = (await readAll(bus, 'dlq.hotline')).map((m) =>
      connectorDeadLetter.parse(JSON.parse(m.value.toString())),
    );
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      reason_code: 'oversized',
      source_ref: 'b.json',
      connector: 'replay',
      raw_truncated: true,
    });
    expect((await readdir(join(folder, SENT_FOLDER))).sort()).toEqual(['a.json', 'b.json', 'c.json']);
    expect(c.health()).toMatchObject({ sent: { hotline: 3 }, dead_lettered: { hotline: 1 } });
  });

  it('keeps watching the folder: a file that appears later is sent; stop() ends the poll wait at once', async () => {
    const bus = await busWithTopics();
    const folder = fixture.tempDir();
    // An hour between polls: the test only ends in time if stop() cuts the wait short.
    const c = connector(folder, { poll_interval_ms: 3_600_000 });
    await writeFile(join(folder, 'first.json'), '1');
    await c.start({ producer: bus.producer(), log });
    while ((await readdir(join(folder, SENT_FOLDER)).catch(() => [])).length === 0)
      await new Promise((r) => setImmediate(r));
    await c.stop();
    await c.done;
    expect(c.health()).toMatchObject({ state: 'stopped', sent: { hotline: 1 } });
  });

  it('a full bus disk makes it back off and resume; no file is moved before the bus acknowledged it', async () => {
    const folder = fixture.tempDir();
    for (let i = 0; i < 5; i++) await writeFile(join(folder, `${i}.json`), String(i));
    const producer = new FakeProducer();
    producer.failNext(3);
    const missingAtSend: string[] = [];
    producer.beforeSend = (_topic, messages) => {
      // Every file of a send being attempted is still in the folder: only an acknowledgement moves it.
      for (const m of messages) if (!existsSync(join(folder, String(m.key)))) missingAtSend.push(String(m.key));
    };
    const c = connector(folder, { once: true });
    await c.start({ producer, log, retryPolicy: fast });
    await producer.failed(3);
    expect(await readdir(folder)).toEqual(expect.arrayContaining(['0.json', '4.json']));
    await c.done;
    expect(producer.acknowledged.map((m) => m.value)).toEqual(['0', '1', '2', '3', '4']);
    expect((await readdir(join(folder, SENT_FOLDER))).sort()).toHaveLength(5);
    expect(missingAtSend).toEqual([]);
    expect(c.health()).toMatchObject({ state: 'stopped', retries: 3, sent: { hotline: 5 } });
    expect(c.health().error).toBeUndefined();
  });

  it('a missing folder fails the connector with the path in health', async () => {
    const c = connector(join(fixture.tempDir(), 'nope'), { once: true });
    await c.start({ producer: new FakeProducer(), log });
    await expect(c.done).rejects.toThrow(/nope/);
    expect(c.health()).toMatchObject({ state: 'failed', error: expect.stringMatching(/nope/) });
  });

  it('its config is strict and registered as a connector kind', () => {
    expect(connectorConfig.parse({ id: 'r', kind: 'raw-files', path: 'inbox', feed: 'dept' })).toEqual({
      id: 'r',
      kind: 'raw-files',
      path: 'inbox',
      feed: 'dept',
      poll_interval_ms: 1000,
      once: false,
    });
    expect(() => connectorConfig.parse({ id: 'r', kind: 'raw-files', path: 'inbox', feed: 'weather' })).toThrow();
    expect(() =>
      connectorConfig.parse({ id: 'r', kind: 'raw-files', path: 'inbox', feed: 'dept', glob: '*' }),
    ).toThrow();
  });
});
