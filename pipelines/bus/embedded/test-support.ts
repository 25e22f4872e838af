/**
 * Helpers for this folder's tests (kept free of vitest imports so the build can compile it like any module).
 * Every temp folder and bus a test makes is registered here and removed by cleanup(), which tests call from
 * afterEach: a failing test leaves nothing behind.
 */
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedBus, EmbeddedBusOptions, EmbeddedBusWarning } from './bus.js';
import { openEmbeddedBus } from './index.js';

export class BusFixture {
  readonly warnings: EmbeddedBusWarning[] = [];
  private readonly dirs: string[] = [];
  private readonly buses: EmbeddedBus[] = [];

  /** A fresh empty folder under the OS temp dir. */
  tempDir(): string {
    const dir = fs.mkdtempSync(join(tmpdir(), 'cityhub-bus-'));
    this.dirs.push(dir);
    return dir;
  }

  /** Opens a bus (warnings collected in `warnings` instead of printed); closed by cleanup if the test did not. */
  async open(options: Partial<EmbeddedBusOptions> & { dir: string }): Promise<EmbeddedBus> {
    const bus = await openEmbeddedBus({
      fsync: 'never',
      onWarning: (warning) => this.warnings.push(warning),
      ...options,
    });
    this.buses.push(bus);
    return bus;
  }

  async cleanup(): Promise<void> {
    for (const bus of this.buses.splice(0)) await bus.close().catch(() => undefined);
    for (const dir of this.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    this.warnings.length = 0;
  }
}

/**
 * Whether `promise` has settled, without sleeping: a promise that was going to settle from already-completed
 * work has done so after one macrotask turn. Callers that need "still blocked" add a real round trip to disk
 * first (see the backpressure test).
 */
export async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

/** Segment files of a partition, oldest first. */
export function segmentFiles(dir: string, topic: string, partition: number): string[] {
  const folder = join(dir, topic, String(partition));
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.log'))
    .sort()
    .map((name) => join(folder, name));
}

/** A frame of a segment file as its length field and offset word lay it out (frame.ts). */
export interface FrameOnDisk {
  position: number;
  /** Whole frame, length field included. */
  size: number;
  /** Offset of the frame's first record. */
  offset: number;
  /** A batch frame (bit 0x40 of byte 8, the B flag). */
  batch: boolean;
  /** Records it holds: a batch's count (the i32 at +24), else 1. */
  count: number;
}

/** The frames of a segment's bytes, from the length fields and offset words alone (the code under test not used). */
export function framesIn(data: Buffer): FrameOnDisk[] {
  const frames: FrameOnDisk[] = [];
  for (let at = 0; at < data.length; ) {
    const size = 4 + data.readUInt32BE(at);
    const offset = (data.readUInt32BE(at + 8) & 0x3fffffff) * 2 ** 32 + data.readUInt32BE(at + 12);
    const batch = (data[at + 8]! & 0x40) !== 0;
    frames.push({ position: at, size, offset, batch, count: batch ? data.readInt32BE(at + 24) : 1 });
    at += size;
  }
  return frames;
}

/** The frames of a segment file. */
export function framesOf(file: string): FrameOnDisk[] {
  return framesIn(fs.readFileSync(file));
}
