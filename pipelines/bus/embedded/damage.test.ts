import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandBus } from '../../cli/bus.js';
import { demoConfig } from '../../config/load.js';
import type { Bus, BusMessage } from '../types.js';
import { EmbeddedLogCorruptError } from './index.js';
import { BusFixture, type FrameOnDisk, framesOf, segmentFiles } from './test-support.js';
import { verifyLog } from './verify.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

async function readAll(bus: Bus, topic: string, groupId: string): Promise<BusMessage[]> {
  const consumer = bus.consumer({ groupId });
  await consumer.subscribe([topic]);
  const messages: BusMessage[] = [];
  for (;;) {
    const batches = await consumer.poll({ maxMessages: 10_000, maxWaitMs: 0 });
    if (batches.length === 0) break;
    for (const batch of batches) messages.push(...batch.messages);
  }
  await consumer.close();
  return messages;
}

/** The frame of `file` holding `offset`. */
function frameHolding(file: string, offset: number): FrameOnDisk {
  const frame = framesOf(file).find((f) => f.offset <= offset && offset < f.offset + f.count);
  if (!frame) throw new Error(`no frame of ${file} holds offset ${offset}`);
  return frame;
}

/** 500 records in one partition, sent `perSend` at a time; group `app` committed 300. Returns the bus folder. */
async function seed(segmentBytes = 64 * 1024 * 1024, perSend = 100): Promise<string> {
  const dir = fixture.tempDir();
  const bus = await fixture.open({ dir, segmentBytes });
  await bus.ensureTopic('raw.t', { partitions: 1 });
  for (let i = 0; i < 500 / perSend; i++) {
    await bus.producer().send(
      'raw.t',
      Array.from({ length: perSend }, (_, j) => ({ key: 'k', value: `record-${i * perSend + j}` })),
    );
  }
  const consumer = bus.consumer({ groupId: 'app' });
  await consumer.subscribe(['raw.t']);
  await consumer.commit([{ topic: 'raw.t', partition: 0, offset: 300 }]);
  await bus.close();
  return dir;
}

/** Flips the last 4 bytes of `frame` of `file`: inside the value of its last record. */
function flipFrame(file: string, frame: FrameOnDisk): void {
  const data = fs.readFileSync(file);
  for (let k = frame.size - 4; k < frame.size; k++) data[frame.position + k] = data[frame.position + k]! ^ 0x5a;
  fs.writeFileSync(file, data);
}

function configFor(dir: string): string {
  const file = join(dir, '..', `${join(dir).split('/').at(-1)}-config.json`);
  fs.writeFileSync(
    file,
    // The demo config (kept valid by whoever changes the schema) with this bus folder.
    JSON.stringify({ ...demoConfig, bus: { type: 'embedded', dir } }),
  );
  fixtureFiles.push(file);
  return file;
}
const fixtureFiles: string[] = [];
afterEach(() => {
  for (const file of fixtureFiles.splice(0)) fs.rmSync(file, { force: true });
});

async function cli(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await commandBus(args, (line) => lines.push(line));
  return { code, lines };
}

describe('damage in the middle of the active segment', () => {
  it('is not a torn tail: open fails naming the file and byte offset, and the file is left unchanged', async () => {
    const dir = await seed();
    const [file] = segmentFiles(dir, 'raw.t', 0);
    // Each send of 100 records landed as one batch frame; damage inside one costs the whole batch.
    expect(framesOf(file!).map((f) => [f.offset, f.count])).toEqual([
      [0, 100],
      [100, 100],
      [200, 100],
      [300, 100],
      [400, 100],
    ]);
    const victim = frameHolding(file!, 250);
    flipFrame(file!, victim);
    const before = fs.readFileSync(file!);

    const error = await fixture.open({ dir }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EmbeddedLogCorruptError);
    expect(error).toMatchObject({ file, position: victim.position });
    const next = victim.position + victim.size;
    expect((error as Error).message).toMatch(
      new RegExp(`crc mismatch.*sound frame \\(offset ${victim.offset + victim.count}\\) follows at byte ${next},`),
    );
    expect(fs.readFileSync(file!).equals(before)).toBe(true);
    expect(fixture.warnings).toEqual([]);
  });

  it('`bus verify` reports it (file, byte, reason, offsets) and exits 1; a sound log exits 0', async () => {
    const dir = await seed();
    const config = configFor(dir);
    expect((await cli(['verify', '--config', config])).code).toBe(0);
    const [file] = segmentFiles(dir, 'raw.t', 0);
    const victim = frameHolding(file!, 250);
    flipFrame(file!, victim);
    const soundAfter = framesOf(file!).filter((f) => f.position > victim.position);

    const { code, lines } = await cli(['verify', '--config', config]);
    expect(code).toBe(1);
    expect(lines[0]).toContain(`${file}: byte ${victim.position}: crc mismatch`);
    // The damaged batch's first offset to the last record of the last sound batch after it.
    expect(lines[0]).toContain(
      `offsets ${victim.offset}..499 affected (${soundAfter.length} sound frame(s) after the damage)`,
    );
    expect(soundAfter.length).toBe(2);
    expect(lines[0]).toContain('cityhub bus repair --partition raw.t/0');
    expect(lines.at(-1)).toMatch(/1 partition\(s\), 1 segment\(s\) checked, 1 problem\(s\)/);
  });

  it('after `bus repair` the bus opens, the records before the damage keep their offsets and no offset is reused', async () => {
    const dir = await seed();
    const config = configFor(dir);
    const [file] = segmentFiles(dir, 'raw.t', 0);
    const damagedSize = fs.statSync(file!).size;
    const victim = frameHolding(file!, 250);
    // Group `app` committed 300: inside what the repair moves aside.
    expect(victim.offset).toBeLessThanOrEqual(300);
    flipFrame(file!, victim);

    const { code, lines } = await cli(['repair', '--partition', 'raw.t/0', '--config', config]);
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/the next append gets offset \d+/);
    // The damaged bytes were moved aside, not deleted.
    const quarantine = join(dir, 'raw.t', `0.quarantine-${victim.offset}.log`);
    expect(fs.statSync(quarantine).size).toBe(damagedSize - victim.position);
    expect((await verifyLog(dir)).findings).toEqual([]);

    const bus = await fixture.open({ dir });
    const survivors = await readAll(bus, 'raw.t', 'fresh');
    expect(survivors.map((m) => [m.offset, m.value.toString()])).toEqual(
      Array.from({ length: victim.offset }, (_, i) => [i, `record-${i}`]),
    );
    const [result] = await bus.producer().send('raw.t', [{ key: 'k', value: 'after repair' }]);
    expect(result!.baseOffset).toBeGreaterThan(499);
    // A group whose committed offset fell into the gap moves on to the next offset that exists.
    const app = await readAll(bus, 'raw.t', 'app');
    expect(app.map((m) => [m.offset, m.value.toString()])).toEqual([[result!.baseOffset, 'after repair']]);
    await bus.close();

    // The gap survives a reopen: offsets keep counting from past it.
    const reopened = await fixture.open({ dir });
    const [next] = await reopened.producer().send('raw.t', [{ value: 'later' }]);
    expect(next!.baseOffset).toBe(result!.baseOffset + 1);
    expect((await readAll(reopened, 'raw.t', 'again')).length).toBe(victim.offset + 2);
  });

  it('after a repair at the tail, a consumer that read everything says its position is the end (a drain can finish)', async () => {
    const dir = await seed();
    const [file] = segmentFiles(dir, 'raw.t', 0);
    const victim = frameHolding(file!, 250);
    flipFrame(file!, victim);
    expect((await cli(['repair', '--partition', 'raw.t/0', '--config', configFor(dir)])).code).toBe(0);
    const bus = await fixture.open({ dir });
    const highWatermark = (await bus.describe('raw.t'))[0]!.highWatermark;
    const consumer = bus.consumer({ groupId: 'drain' });
    await consumer.subscribe(['raw.t']);
    let last = -1;
    for (;;) {
      const batches = await consumer.poll({ maxMessages: 10_000, maxWaitMs: 0 });
      if (batches.length === 0) break;
      for (const batch of batches) last = batch.messages.at(-1)?.offset ?? last;
    }
    // No message lies past the gap: only the consumer's own position shows that it has read to the end.
    expect(last).toBe(victim.offset - 1);
    expect(highWatermark).toBeGreaterThan(last + 1);
    expect(consumer.position?.({ topic: 'raw.t', partition: 0 })).toBe(highWatermark);
    await consumer.close();
    await bus.close();
  });

  it('repairs damage in a sealed segment, moving the later segments aside too', async () => {
    // Sends of 10: several batch frames per segment, so records precede the damage in its own segment.
    const dir = await seed(4096, 10);
    const config = configFor(dir);
    const files = segmentFiles(dir, 'raw.t', 0);
    expect(files.length).toBeGreaterThan(3);
    const damaged = files[1]!;
    const victim = framesOf(damaged)[3]!;
    const firstOffset = victim.offset;
    expect(firstOffset).toBeGreaterThan(Number(damaged.slice(-24, -4)));
    flipFrame(damaged, victim);
    await expect(fixture.open({ dir })).rejects.toBeInstanceOf(EmbeddedLogCorruptError);

    expect((await cli(['repair', '--partition', 'raw.t/0', '--config', config])).code).toBe(0);
    expect(segmentFiles(dir, 'raw.t', 0).slice(0, 2)).toEqual(files.slice(0, 2));
    const bus = await fixture.open({ dir, segmentBytes: 4096 });
    const survivors = await readAll(bus, 'raw.t', 'fresh');
    expect(survivors.map((m) => m.offset)).toEqual(Array.from({ length: firstOffset }, (_, i) => i));
    const [result] = await bus.producer().send('raw.t', [{ value: 'after repair' }]);
    expect(result!.baseOffset).toBeGreaterThan(499);
  });

  it('a torn tail (a partial last frame) is still truncated silently on open', async () => {
    const dir = await seed();
    const [file] = segmentFiles(dir, 'raw.t', 0);
    const last = framesOf(file!).at(-1)!;
    expect(last.offset + last.count).toBe(500);
    fs.truncateSync(file!, last.position + 12);
    expect((await verifyLog(dir)).findings).toMatchObject([{ kind: 'torn-tail', position: last.position }]);
    const bus = await fixture.open({ dir });
    expect(fixture.warnings).toMatchObject([{ kind: 'truncated-tail', position: last.position, droppedBytes: 12 }]);
    // The torn batch goes whole: a send is acknowledged only once all of it is written.
    const survivors = await readAll(bus, 'raw.t', 'fresh');
    expect(survivors.map((m) => m.offset)).toEqual(Array.from({ length: last.offset }, (_, i) => i));
  });
});
