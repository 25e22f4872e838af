/**
 * The messages of one flush whose normalizing waits for the flush (the bulk path, issue 12), in arrival order: a
 * message is its position (its `seq`) and four numbers in one typed array, with no object per message. A flush holds
 * hundreds of thousands of them for seconds; as objects, every young-generation collection copied them all again.
 */

import type { BufferPool } from '../buffer-pool.js';
import type { RecordRun } from '../bus/types.js';
import type { BulkPlan } from '../normalize/bulk-plan.js';

export class DeferredLog<Buffered extends { partition: number }> {
  /** The batches the messages came in (one per Lander.add), each with the partition buffer it counts into. */
  private batches: { buffered: Buffered; run: RecordRun }[] = [];
  private plans: BulkPlan[] = [];
  /** Per message: its batch, its index in the batch's run, its flush meta, its plan in `plans` (-1: none). */
  private columns = new Int32Array(4 * 16_384);
  /** Per message: the kinds of the values its plan reads (bulk-eligible.ts bulkKinds), up to 51 bits. */
  private kinds = new Float64Array(16_384);
  /** Per message: the classes of those that are strings (bulk-eligible.ts lastStringClasses), 32 bits. */
  private classes = new Uint32Array(16_384);
  private count = 0;

  get length(): number {
    return this.count;
  }

  /**
   * Empties the log and keeps its memory for the next flush (new memory costs page faults as it fills). The runs'
   * buffers go back to the bus: nothing holds a view of them any more (rows and dead letters are copies).
   */
  reset(): void {
    for (const { run } of this.batches) run.release?.();
    this.batches = [];
    this.plans = [];
    this.count = 0;
  }

  /** Starts a batch: the messages pushed next are `run`'s. */
  addBatch(buffered: Buffered, run: RecordRun): void {
    this.batches.push({ buffered, run });
  }

  /** Message `index` of the last batch, with its flush meta, bulk plan, kinds and string classes; returns its seq. */
  push(index: number, meta: number, plan: BulkPlan | undefined, kinds: number, classes: number): number {
    let p = -1;
    if (plan) {
      p = this.plans.lastIndexOf(plan);
      if (p < 0) p = this.plans.push(plan) - 1;
    }
    let at = this.count * 4;
    if (at === this.columns.length) {
      const grown = new Int32Array(this.columns.length * 2);
      grown.set(this.columns);
      this.columns = grown;
      const kindsGrown = new Float64Array(this.kinds.length * 2);
      kindsGrown.set(this.kinds);
      this.kinds = kindsGrown;
      const classesGrown = new Uint32Array(this.classes.length * 2);
      classesGrown.set(this.classes);
      this.classes = classesGrown;
    }
    this.kinds[this.count] = kinds;
    this.classes[this.count] = classes;
    const columns = this.columns;
    columns[at++] = this.batches.length - 1;
    columns[at++] = index;
    columns[at++] = meta;
    columns[at] = p;
    return this.count++;
  }

  buffered(seq: number): Buffered {
    return this.batches[this.columns[seq * 4]!]!.buffered;
  }

  run(seq: number): RecordRun {
    return this.batches[this.columns[seq * 4]!]!.run;
  }

  /** The message's index in its run. */
  index(seq: number): number {
    return this.columns[seq * 4 + 1]!;
  }

  meta(seq: number): number {
    return this.columns[seq * 4 + 2]!;
  }

  plan(seq: number): BulkPlan | undefined {
    const p = this.columns[seq * 4 + 3]!;
    return p < 0 ? undefined : this.plans[p];
  }

  /**
   * A bulk plan's scratch file of these messages (all of that plan), lines of
   * `{"a":[seq,partition,offset,meta,kinds,classes],"v":<payload>}` (classes where the plan reads string classes)
   * written into a buffer of `pool` (a view of it is returned: give it back once written out). One array, not a key
   * per number: DuckDB's reader looks each key up by name.
   */
  scratchLines(seqs: readonly number[], pool: BufferPool): Buffer {
    let size = 0;
    for (const seq of seqs) {
      const run = this.run(seq);
      const index = this.index(seq);
      // The wrapper: `{"a":[`, at most 16 digits and a comma for each of six numbers, `],"v":`, `}` and the newline.
      size += run.valueEnd(index) - run.valueStart(index) + 160;
    }
    const classed = seqs.length > 0 && this.plan(seqs[0]!)!.readsStringClasses;
    const out = pool.take(size);
    let at = 0;
    for (const seq of seqs) {
      const { buffered, run } = this.batches[this.columns[seq * 4]!]!;
      const index = this.index(seq);
      // The wrapper's bytes written one by one: a template string per line, and writing it, cost more than the copy.
      at = writeAscii(out, at, '{"a":[');
      at = writeDigits(out, at, seq);
      out[at++] = 0x2c;
      at = writeDigits(out, at, buffered.partition);
      out[at++] = 0x2c;
      at = writeDigits(out, at, run.offset(index));
      out[at++] = 0x2c;
      at = writeDigits(out, at, this.meta(seq));
      out[at++] = 0x2c;
      at = writeDigits(out, at, this.kinds[seq]!);
      if (classed) {
        out[at++] = 0x2c;
        at = writeDigits(out, at, this.classes[seq]!);
      }
      at = writeAscii(out, at, '],"v":');
      // set() of a view: Buffer#copy's argument checks cost more than copying a payload this size.
      const start = run.valueStart(index);
      const end = run.valueEnd(index);
      out.set(run.chunk(index).subarray(start, end), at);
      at += end - start;
      out[at++] = 0x7d;
      out[at++] = 0x0a;
    }
    return out.subarray(0, at);
  }
}

/** Writes ASCII `text` at `at`; returns where it ends. */
function writeAscii(out: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** 10^i: a number's digits are counted by comparisons, not divisions. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Writes a non-negative safe integer's decimal digits at `at`; returns where they end. */
export function writeDigits(out: Buffer, at: number, value: number): number {
  let digits = 1;
  while (digits < 16 && value >= POWERS_OF_TEN[digits]!) digits++;
  let i = at + digits - 1;
  let rest = value;
  // Floating-point division only above 2^31; below, integer division (seqs, offsets and most kinds).
  while (rest > 0x7fffffff) {
    const tenth = Math.floor(rest / 10);
    out[i--] = 0x30 + (rest - tenth * 10);
    rest = tenth;
  }
  let small = rest | 0;
  while (i >= at) {
    const tenth = (small / 10) | 0;
    out[i--] = 0x30 + (small - tenth * 10);
    small = tenth;
  }
  return at + digits;
}
