/**
 * Buffers handed back after use and handed out again. Fresh memory is paid for in page faults when first written,
 * which on the VMs measured here cost more than the copy into it: the bulk path's scratch lines (a few MB per chunk,
 * tens of chunks a minute) spent most of their time faulting pages in until their buffers were reused.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /** Keeps at most `keep` idle buffers (the rest are left to the garbage collector). */
  constructor(private readonly keep: number) {}

  /** A buffer of at least `size` bytes (contents undefined): an idle one if one is large enough. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.length;
      if (length >= size && (best < 0 || length < this.free[best]!.length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    // A quarter more than asked: the next chunk's lines are rarely exactly as long.
    return Buffer.allocUnsafeSlow(Math.ceil(size * 1.25));
  }

  /** Hands back a buffer from take() (or a view of one: its whole memory is reused). */
  give(buffer: Buffer): void {
    const whole = Buffer.from(buffer.buffer, 0, buffer.buffer.byteLength);
    if (this.free.length < this.keep) this.free.push(whole);
    else {
      // Replace the smallest idle buffer: the pool converges on buffers large enough for every chunk.
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      if (this.free[smallest]!.length < whole.length) this.free[smallest] = whole;
    }
  }
}
