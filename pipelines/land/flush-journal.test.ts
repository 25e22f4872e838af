/**
 * Flush journals when several pipeline processes land into one lake (over Kafka): a partition that moves to another
 * member moves with the duty to remove what its old owner left uncommitted, and never before that owner is done.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TopicPartition } from '../bus/types.js';
import { FlushJournals } from './flush-journal.js';
import { datasetFilePath } from './layout.js';
import { LocalLakeStore } from './local-store.js';

let dir: string;
let store: LocalLakeStore;
let clock: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cityhub-journal-'));
  store = new LocalLakeStore(join(dir, 'lake'));
  clock = 1_000_000;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const GEN = 'abcd1234abcd';
const member = (id: string) =>
  new FlushJournals({ store, generation: GEN, member: id, graceMs: 30_000, now: () => clock, pollMs: 1 });
const file = (partition: number, first: number, last: number) =>
  datasetFilePath('sensor_reading', '2026-08-01', {
    topic: 'raw.sensor',
    partition,
    firstOffset: first,
    lastOffset: last,
    generation: GEN,
  });
async function land(...paths: string[]): Promise<void> {
  for (const path of paths) {
    await writeFile(await store.stagingPath(path), 'PAR1');
    await store.commit([path]);
  }
}
const p = (partition: number): TopicPartition => ({ topic: 'raw.sensor', partition });
/** The group's commits: partition → next offset. */
const commits = (offsets: Record<number, number>) => async (tp: TopicPartition) => offsets[tp.partition] ?? 0;

describe('flush journals of several pipeline processes', () => {
  it("a member that gained a partition removes what the dead owner's journal names past the commit, and only that", async () => {
    const b = member('b');
    await land(file(0, 0, 9), file(0, 10, 19), file(1, 0, 9));
    // b committed partition 0 up to 10, then flushed 10..19 and 1:0..9 and was killed before its commit.
    await b.write([file(0, 10, 19), file(1, 0, 9)]);
    clock += 30_000; // its session expired: the journal is as old as the grace period
    const a = member('a');
    expect(await a.discardUncommitted({ owned: [p(0)], committedOf: commits({ 0: 10 }) })).toBe(1);
    expect(await store.list()).toEqual([file(0, 0, 9), file(1, 0, 9)].sort());
    // Partition 1 is not a's: its entry stays in the journal for its owner.
    const c = member('c');
    expect(await c.discardUncommitted({ owned: [p(1)], committedOf: commits({}) })).toBe(1);
    expect(await store.list()).toEqual([file(0, 0, 9)]);
    expect(await store.listWork('_journal')).toEqual([]);
  });

  it("waits for a live member's fresh journal before judging the partitions it names", async () => {
    const b = member('b');
    await land(file(0, 10, 19));
    await b.write([file(0, 10, 19)]);
    let looks = 0;
    const reading = store.readSmall.bind(store);
    store.readSmall = async (path) => {
      if (path === b.ownPath) looks++;
      return reading(path);
    };
    const a = member('a');
    const judged = a.discardUncommitted({ owned: [p(0)], committedOf: commits({ 0: 10 }) });
    await expect.poll(() => looks, { timeout: 10_000 }).toBeGreaterThan(3);
    expect(await store.list()).toEqual([file(0, 10, 19)]);
    // b's flush commits (its journal goes): the file was committed after all, and stays.
    await b.clear();
    expect(await judged).toBe(0);
    expect(await store.list()).toEqual([file(0, 10, 19)]);
  });

  it('a member that lost partitions releases their entries, and the new owner judges them without waiting', async () => {
    const b = member('b');
    await land(file(0, 10, 19), file(1, 10, 19));
    await b.write([file(0, 10, 19), file(1, 10, 19)]);
    // b's commit failed (a rebalance): it keeps partition 0, partition 1 went to a.
    expect(await b.discardUncommitted({ owned: [p(0)], committedOf: commits({ 0: 10, 1: 10 }) })).toBe(1);
    expect(await store.list()).toEqual([file(1, 10, 19)]);
    expect(await store.listWork('_journal')).toHaveLength(1);
    const a = member('a');
    expect(await a.discardUncommitted({ owned: [p(1)], committedOf: commits({ 1: 10 }) })).toBe(1);
    expect(await store.list()).toEqual([]);
    expect(await store.listWork('_journal')).toEqual([]);
  });

  it('a restarted member judges its own journal at once, whatever its age', async () => {
    await land(file(0, 10, 19));
    await member('a').write([file(0, 10, 19)]);
    expect(await member('a').discardUncommitted({ owned: [p(0)], committedOf: commits({ 0: 10 }) })).toBe(1);
    expect(await store.listWork('_journal')).toEqual([]);
  });

  it('the journal of a release before members (`_journal/<generation>.json`) is still judged', async () => {
    await land(file(0, 10, 19), file(0, 0, 9));
    await store.writeSmall(
      `_journal/${GEN}.json`,
      JSON.stringify({ generation: GEN, files: [file(0, 0, 9), file(0, 10, 19)] }),
    );
    expect(await member('main').discardUncommitted({ owned: [p(0)], committedOf: commits({ 0: 10 }) })).toBe(1);
    expect(await store.list()).toEqual([file(0, 0, 9)]);
  });

  it('a flush slower than the grace period keeps its journal fresh, so others keep waiting for it', async () => {
    const slow = new FlushJournals({ store, generation: GEN, member: 'b', graceMs: 30, now: () => clock });
    await slow.write([file(0, 10, 19)]);
    const writtenAt = async () => JSON.parse((await store.readSmall(slow.ownPath))!).written_at as number;
    expect(await writtenAt()).toBe(clock);
    let finish: () => void = () => {};
    const upload = slow.keptFresh(new Promise<void>((resolve) => (finish = resolve)));
    clock += 1_000;
    await expect.poll(writtenAt, { timeout: 10_000 }).toBe(clock);
    finish();
    await upload;
  });
});
