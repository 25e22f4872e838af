/**
 * Flush journals: before a flush puts its first file in place, it names every file in a journal; after a crash, the
 * files a journal names whose offsets were never committed are removed and landed again. Several pipeline processes
 * (over Kafka) land into one lake, each owning some partitions, so each process (member) keeps its own journal,
 * `_journal/<generation>/<member>.json`, and a partition that moves to another member moves with the duty of
 * judging what its old owner left.
 *
 * A file is removed only on the evidence of a journal, by its partition's owner, and only when its first offset is
 * at or past the group's committed offset (it was never committed; it lands again under a name of the same form).
 * A member that loses partitions while files of theirs are in its journal releases those entries (a `released`
 * journal file) for the new owner; the new owner waits for a journal still being written by a live member (younger
 * than the grace period, not released) before it judges the partitions it names.
 */
import type { TopicPartition } from '../bus/types.js';
import { parseDataFileName } from './layout.js';
import type { LakeStore } from './store.js';

export const JOURNAL_DIR = '_journal';

export interface FlushJournal {
  generation: string;
  /** Who wrote it (a pipeline process's member id). Absent in journals of older releases. */
  member?: string;
  /** Epoch ms when it was written: a journal older than the grace period is its writer's no longer. */
  written_at?: number;
  /** Written by a member that no longer owns these files' partitions: their new owners judge them at once. */
  released?: boolean;
  files: string[];
}

export interface DiscardScope {
  /** Partitions this member owns now: only their files are its to judge. */
  owned: readonly TopicPartition[];
  /** The group's committed offset (the next offset to read) of a partition; 0 when nothing was committed. */
  committedOf: (tp: TopicPartition) => Promise<number>;
}

export interface JournalOptions {
  store: LakeStore;
  generation: string;
  member: string;
  /** How long a journal of another member is taken to be still in the writing (Kafka: its session timeout). */
  graceMs: number;
  now: () => number;
  /** Waits between looks at a live member's journal. */
  pollMs?: number;
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class FlushJournals {
  /** This member's journal: rewritten by each flush, removed once the flush's offsets are committed. */
  readonly ownPath: string;
  private readonly folder: string;

  constructor(private readonly options: JournalOptions) {
    this.folder = `${JOURNAL_DIR}/${options.generation}`;
    this.ownPath = `${this.folder}/${options.member}.json`;
  }

  async write(files: string[]): Promise<void> {
    const journal: FlushJournal = {
      generation: this.options.generation,
      member: this.options.member,
      written_at: this.options.now(),
      files,
    };
    await this.options.store.writeSmall(this.ownPath, `${JSON.stringify(journal)}\n`);
  }

  /**
   * Resolves as `work` does, rewriting this member's journal (a newer `written_at`) every third of the grace period
   * meanwhile: a flush slower than the grace period (a slow store) is still seen as live by other members.
   */
  async keptFresh<T>(work: Promise<T>): Promise<T> {
    const { graceMs } = this.options;
    if (graceMs <= 0) return work;
    let current: FlushJournal | undefined;
    let rewriting: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      rewriting = rewriting
        .then(async () => {
          current ??= await this.read(this.ownPath);
          if (!current) return;
          current = { ...current, written_at: this.options.now() };
          await this.options.store.writeSmall(this.ownPath, `${JSON.stringify(current)}\n`);
        })
        .catch(() => {}); // a missed refresh only shortens the wait of another member
    }, graceMs / 3);
    try {
      return await work;
    } finally {
      clearInterval(timer);
      await rewriting;
    }
  }

  async clear(): Promise<void> {
    await this.options.store.remove(this.ownPath);
  }

  /**
   * Removes the files journals name that this member must judge and that were not committed; returns how many.
   * Its own journal: files of partitions it owns are judged, the rest released to their new owners. Other members'
   * journals (and a journal of an older release, `_journal/<generation>.json`): judged for the partitions this member
   * owns once released or past the grace period, waiting for them until then.
   */
  async discardUncommitted(scope: DiscardScope): Promise<number> {
    const { store } = this.options;
    const owned = new Set(scope.owned.map((tp) => partitionKey(tp.topic, tp.partition)));
    const committed = new Map<string, number>();
    const committedOf = async (topic: string, partition: number) => {
      const key = partitionKey(topic, partition);
      let offset = committed.get(key);
      if (offset === undefined) {
        offset = await scope.committedOf({ topic, partition });
        committed.set(key, offset);
      }
      return offset;
    };
    let removed = 0;
    /** Removes the uncommitted files of owned partitions; returns the entries left for other owners. */
    const judge = async (files: readonly string[]): Promise<string[]> => {
      const left: string[] = [];
      for (const path of files) {
        const coordinates = parseDataFileName(path.slice(path.lastIndexOf('/') + 1));
        if (!coordinates) continue;
        if (!owned.has(partitionKey(coordinates.topic, coordinates.partition))) {
          left.push(path);
          continue;
        }
        if (coordinates.firstOffset >= (await committedOf(coordinates.topic, coordinates.partition))) {
          await store.remove(path);
          removed++;
        }
      }
      return left;
    };

    const own = await this.read(this.ownPath);
    if (own) {
      const left = await judge(own.files);
      // Released under another name: this member's next flush rewrites its own journal.
      if (left.length > 0) await this.writeReleased(left);
      await store.remove(this.ownPath);
    }
    for (const path of await this.othersJournals()) {
      const journal = await this.waitUntilJudgeable(path, owned);
      if (!journal) continue;
      const left = await judge(journal.files);
      if (left.length === journal.files.length) continue;
      if (left.length === 0) await store.remove(path);
      else await store.writeSmall(path, `${JSON.stringify({ ...journal, files: left })}\n`);
    }
    return removed;
  }

  /** Every journal file of this generation but this member's own (the old single journal included). */
  private async othersJournals(): Promise<string[]> {
    const { store, generation } = this.options;
    const paths = (await store.listWork(this.folder)).filter((p) => p !== this.ownPath && p.endsWith('.json'));
    const legacy = `${JOURNAL_DIR}/${generation}.json`;
    if ((await store.readSmall(legacy)) !== undefined) paths.push(legacy);
    return paths;
  }

  /**
   * The journal once this member may judge it: released, written by no known member (an older release), or older
   * than the grace period. While it names no partition this member owns, it is not waited for.
   */
  private async waitUntilJudgeable(path: string, owned: ReadonlySet<string>): Promise<FlushJournal | undefined> {
    const { now, graceMs } = this.options;
    for (;;) {
      const journal = await this.read(path);
      if (!journal) return undefined;
      const names = journal.files.map((file) => parseDataFileName(file.slice(file.lastIndexOf('/') + 1)));
      if (!names.some((c) => c && owned.has(partitionKey(c.topic, c.partition)))) return journal;
      const live = !journal.released && journal.written_at !== undefined && now() - journal.written_at < graceMs;
      if (!live) return journal;
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 250));
    }
  }

  private async writeReleased(files: string[]): Promise<void> {
    const { generation, member, now } = this.options;
    const journal: FlushJournal = { generation, member, written_at: now(), released: true, files };
    await this.options.store.writeSmall(
      `${this.folder}/${member}~released~${now()}.json`,
      `${JSON.stringify(journal)}\n`,
    );
  }

  private read(path: string): Promise<FlushJournal | undefined> {
    return readFlushJournal(this.options.store, path);
  }
}

/** A flush journal (`_journal/…/*.json`), or undefined when it is gone (its flush committed and cleared it). */
export async function readFlushJournal(store: LakeStore, path: string): Promise<FlushJournal | undefined> {
  const text = await store.readSmall(path);
  return text === undefined ? undefined : (JSON.parse(text) as FlushJournal);
}
