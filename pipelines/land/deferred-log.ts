/**
 * The messages of one flush whose normalizing waits for the flush (the bulk path, issue 12), in arrival order: a
 * message is its position (its `seq`) and four numbers, with no object per message. A flush holds hundreds of
 * thousands of them for seconds; as objects, every young-generation collection copied them all again.
 */
import type { RecordRun } from '../bus/types.js';
import type { BulkPlan } from '../normalize/bulk-plan.js';

export class DeferredLog<Buffered extends { partition: number }> {
  /** The batches the messages came in (one per Lander.add), each with the partition buffer it counts into. */
  private readonly batches: { buffered: Buffered; run: RecordRun }[] = [];
  private readonly plans: BulkPlan[] = [];
  private readonly batchOf: number[] = [];
  private readonly indexOf: number[] = [];
  private readonly metaOf: number[] = [];
  /** Index in `plans`, or -1 for a message the record path takes. */
  private readonly planOf: number[] = [];

  get length(): number {
    return this.batchOf.length;
  }

  /** Starts a batch: the messages pushed next are `run`'s. */
  addBatch(buffered: Buffered, run: RecordRun): void {
    this.batches.push({ buffered, run });
  }

  /** Message `index` of the last batch, with its flush meta and bulk plan; returns its seq. */
  push(index: number, meta: number, plan: BulkPlan | undefined): number {
    let p = -1;
    if (plan) {
      p = this.plans.lastIndexOf(plan);
      if (p < 0) p = this.plans.push(plan) - 1;
    }
    this.batchOf.push(this.batches.length - 1);
    this.indexOf.push(index);
    this.metaOf.push(meta);
    this.planOf.push(p);
    return this.batchOf.length - 1;
  }

  buffered(seq: number): Buffered {
    return this.batches[this.batchOf[seq]!]!.buffered;
  }

  run(seq: number): RecordRun {
    return this.batches[this.batchOf[seq]!]!.run;
  }

  /** The message's index in its run. */
  index(seq: number): number {
    return this.indexOf[seq]!;
  }

  meta(seq: number): number {
    return this.metaOf[seq]!;
  }

  plan(seq: number): BulkPlan | undefined {
    const p = this.planOf[seq]!;
    return p < 0 ? undefined : this.plans[p];
  }

  /** A bulk plan's scratch file of these messages: `{"s":seq,"p":partition,"o":offset,"m":meta,"v":<payload>}` lines. */
  scratchLines(seqs: readonly number[]): Buffer {
    let size = 0;
    for (const seq of seqs) {
      const run = this.run(seq);
      const index = this.indexOf[seq]!;
      size += run.valueEnd(index) - run.valueStart(index) + 96;
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    for (const seq of seqs) {
      const { buffered, run } = this.batches[this.batchOf[seq]!]!;
      const index = this.indexOf[seq]!;
      const head = `{"s":${seq},"p":${buffered.partition},"o":${run.offset(index)},"m":${this.metaOf[seq]},"v":`;
      at += out.write(head, at, 'latin1');
      at += run.chunk(index).copy(out, at, run.valueStart(index), run.valueEnd(index));
      out[at++] = 0x7d;
      out[at++] = 0x0a;
    }
    return out.subarray(0, at);
  }
}
