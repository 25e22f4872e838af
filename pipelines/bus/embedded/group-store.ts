/**
 * Committed offsets of consumer groups, one file per group: `<dir>/__groups/<groupId>.json`, replaced atomically on
 * every commit. Commits that arrive while a write is running are merged into the next write, so a burst of commits
 * costs one or two file replacements, not one each. Readers see only what is on disk (`durable`): retention and
 * backpressure must never act on an offset that a crash could take back.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import type { TopicOffset } from '../types.js';
import { EmbeddedBusArgumentError, EmbeddedLogCorruptError } from './errors.js';
import { fsyncDir, writeFileAtomic } from './fs-util.js';
import type { FsyncPolicy } from './partition.js';

export const GROUPS_DIR = '__groups';
const GROUP_ID = /^[A-Za-z0-9._-]{1,200}$/;

type Offsets = Map<string, Map<number, number>>;

interface GroupState {
  durable: Offsets;
  latest: Offsets;
  dirty: boolean;
  writing: Promise<void> | null;
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export function validateGroupId(groupId: unknown): asserts groupId is string {
  if (typeof groupId !== 'string' || !GROUP_ID.test(groupId) || groupId === '.' || groupId === '..') {
    throw new EmbeddedBusArgumentError('groupId', groupId, "1-200 of [A-Za-z0-9._-], not '.' or '..'");
  }
}

export class GroupStore {
  private readonly groups = new Map<string, GroupState>();

  private constructor(
    readonly dir: string,
    private readonly fsync: FsyncPolicy,
    /** Told after a commit is durable (backpressure re-checks waiting senders). */
    private readonly onDurable: (groupId: string, topics: string[]) => void,
  ) {}

  static async open(
    root: string,
    fsync: FsyncPolicy,
    onDurable: (groupId: string, topics: string[]) => void,
  ): Promise<GroupStore> {
    const dir = join(root, GROUPS_DIR);
    await fs.promises.mkdir(dir, { recursive: true });
    const store = new GroupStore(dir, fsync, onDurable);
    for (const name of await fs.promises.readdir(dir)) {
      if (name.endsWith('.tmp')) {
        // A write that crashed before its rename: the previous file is still the truth.
        await fs.promises.rm(join(dir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const groupId = name.slice(0, -'.json'.length);
      const offsets = await readOffsets(join(dir, name));
      store.groups.set(groupId, newState(offsets));
    }
    return store;
  }

  /** Durably committed offset, 0 when the group never committed that partition. */
  committed(groupId: string, topic: string, partition: number): number {
    return this.groups.get(groupId)?.durable.get(topic)?.get(partition) ?? 0;
  }

  /** Groups with a durable commit on any partition of `topic`. */
  groupsOf(topic: string): string[] {
    const ids: string[] = [];
    for (const [groupId, state] of this.groups) if (state.durable.has(topic)) ids.push(groupId);
    return ids;
  }

  /** Records the offsets; resolves once a file write that includes them has completed. */
  commit(groupId: string, offsets: readonly TopicOffset[]): Promise<void> {
    let state = this.groups.get(groupId);
    if (!state) {
      state = newState(new Map());
      this.groups.set(groupId, state);
    }
    for (const { topic, partition, offset } of offsets) {
      let partitions = state.latest.get(topic);
      if (!partitions) {
        partitions = new Map();
        state.latest.set(topic, partitions);
      }
      partitions.set(partition, offset);
    }
    state.dirty = true;
    const group = state;
    const done = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    group.writing ??= this.writeLoop(groupId, group);
    return done;
  }

  /** Waits for running writes, then makes the group files durable even under fsync 'never' (used by close). */
  async flush(): Promise<void> {
    for (const state of this.groups.values()) while (state.writing) await state.writing;
    if (this.fsync === 'never') {
      for (const groupId of this.groups.keys()) {
        const handle = await fs.promises.open(join(this.dir, `${groupId}.json`), 'r').catch(() => null);
        if (!handle) continue;
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await fsyncDir(this.dir);
    }
  }

  private async writeLoop(groupId: string, state: GroupState): Promise<void> {
    while (state.dirty) {
      state.dirty = false;
      const waiters = state.waiters.splice(0);
      const snapshot = copy(state.latest);
      try {
        await writeFileAtomic(join(this.dir, `${groupId}.json`), serialize(groupId, snapshot), this.fsync === 'always');
      } catch (err) {
        for (const waiter of waiters) waiter.reject(err);
        continue;
      }
      state.durable = snapshot;
      for (const waiter of waiters) waiter.resolve();
      this.onDurable(groupId, [...snapshot.keys()]);
    }
    state.writing = null;
  }
}

function newState(offsets: Offsets): GroupState {
  return { durable: offsets, latest: copy(offsets), dirty: false, writing: null, waiters: [] };
}

function copy(offsets: Offsets): Offsets {
  return new Map(Array.from(offsets, ([topic, partitions]) => [topic, new Map(partitions)]));
}

function serialize(groupId: string, offsets: Offsets): string {
  const json: Record<string, Record<string, number>> = {};
  for (const [topic, partitions] of offsets) json[topic] = Object.fromEntries(partitions);
  return `${JSON.stringify({ version: 1, groupId, offsets: json }, null, 2)}\n`;
}

async function readOffsets(file: string): Promise<Offsets> {
  const offsets: Offsets = new Map();
  try {
    const parsed = JSON.parse(await fs.promises.readFile(file, 'utf8')) as {
      offsets?: Record<string, Record<string, unknown>>;
    };
    for (const [topic, partitions] of Object.entries(parsed.offsets ?? {})) {
      const map = new Map<number, number>();
      for (const [partition, offset] of Object.entries(partitions)) {
        if (!Number.isInteger(Number(partition)) || !Number.isSafeInteger(offset) || (offset as number) < 0) {
          throw new Error(`bad offset ${JSON.stringify(offset)} for ${topic}/${partition}`);
        }
        map.set(Number(partition), offset as number);
      }
      offsets.set(topic, map);
    }
  } catch (err) {
    throw new EmbeddedLogCorruptError(file, 0, `unreadable committed offsets: ${String(err)}`);
  }
  return offsets;
}
